"""Settings read from the environment (prefix JIANFU_); one place, documented in the README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIANFU_", env_file=None, extra="ignore")

    # Where the embedded defaults keep their files (SQLite database, local MLflow store).
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means the embedded SQLite file under data_dir.
    database_url: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jianfu.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
