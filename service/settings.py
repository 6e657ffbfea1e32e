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

    # MLflow tracking and registry; empty means MLFLOW_TRACKING_URI, else a SQLite store under data_dir.
    mlflow_tracking_uri: str = ""

    def resolved_tracking_uri(self) -> str:
        import os

        uri = self.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
        return uri or f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def local_artifacts(self) -> str:
        return (self.data_dir / "mlartifacts").resolve().as_uri()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jianfu.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
