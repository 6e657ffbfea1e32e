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

    # "development" (the embedded default) or "production". Outside development every secret must
    # be given: there is no usable default.
    environment: str = "development"
    # Key that signs access tokens (HS256, at least 32 characters). In development, empty means a
    # random key kept in data_dir/jwt-secret; in production the service refuses to start without it.
    jwt_secret: str = ""
    # Key of the deletion records (a guardian's deletion leaves only HMAC-SHA256(key, student id) in
    # `erasures`), at least 32 characters. A secret of its own, not the token key: rotating that key
    # must not forget who was deleted. Kept like the token key: in development, empty means a random
    # key kept in data_dir/erasure-secret; in production the service refuses to start without it.
    erasure_secret: str = ""
    # Key of the worksheets' QR codes (HMAC-SHA256 over sheet, page and items, service.scanning.sheets):
    # a forged page or one made for another student is refused when scanned. At least 32 characters,
    # kept like the token key (development: a random key in data_dir/sheet-secret).
    sheet_secret: str = ""
    token_minutes: int = 60
    # Signing in (service.auth): after `sign_in_free_failures` failed sign-ins to one account, or
    # `sign_in_address_free_failures` from one client address (a school's pupils may share one), each
    # next try waits `sign_in_backoff_seconds`, doubled per failure up to `sign_in_backoff_max_seconds`
    # (429 with Retry-After); a success resets the account's count; a count whose last failure is
    # `sign_in_forget_seconds` old starts again. The counts are in the database: every replica sees them.
    sign_in_free_failures: int = 5
    sign_in_address_free_failures: int = 30
    sign_in_backoff_seconds: float = 1.0
    sign_in_backoff_max_seconds: float = 900.0
    sign_in_forget_seconds: float = 3600.0
    # Password hashing (scrypt) runs in a pool of its own, never in the server's general threads: this
    # many at once, this many more waiting; past that a sign-in answers 429 at once.
    sign_in_threads: int = 2
    sign_in_queue: int = 16
    # Proxies whose X-Forwarded-For header names the client (`jianfu serve` hands it to uvicorn:
    # comma-separated addresses, or "*"). Empty: no header is trusted; the peer's address is the client's.
    forwarded_allow_ips: str = ""
    # Model serving: the registry alias to serve, how often to look for a new champion, the
    # threads each prediction may use, and where compiled forests are cached.
    model_alias: str = "champion"
    model_poll_seconds: float = 60.0
    model_threads: int = 2
    model_timeout_seconds: float = 10.0
    model_attempts: int = 3
    # Planning and model work (a class's plan, a check or edit of a set, mastery levels) runs in a
    # pool of its own (service.pool): this many at once (0: the cores this process may use, shared
    # among the web server's workers), at most planning_per_account of one account's in flight, at
    # most planning_queue more waiting for a worker; past either limit a request is refused at once
    # (429, Retry-After). With planning_processes the work runs in worker processes of its own, at
    # a lower CPU priority, so that it never slows the cheap routes (a student's tonight, sign-in);
    # each holds the model and its students' states (about 200 MB). Off: threads of the serving
    # process (also when a model is handed to the app, as the tests do).
    planning_workers: int = 0
    planning_processes: bool = True
    planning_per_account: int = 2
    planning_queue: int = 8
    # The school policy files (region and school TOML) that schools' `policy` column names.
    policy_dir: Path = Path("data_samples/policies")
    # Fonts for the worksheets' PDF download (TrueType): Latin letters and digits, and the Chinese
    # characters (Debian's fonts-dejavu-core and fonts-droid-fallback, which `make install` adds).
    pdf_font: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf_cjk_font: Path = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
    # District (教育局) figures: a class with fewer students than this is never shown on its own — it
    # is merged into its school's "other classes", and those too are withheld if still fewer.
    district_min_class_size: int = 10
    # Logs: one JSON object per line on stderr (request id, route, status, milliseconds, account).
    log_json: bool = True
    log_level: str = "INFO"
    # Request bodies, refused with 413 while they are read (before parsing or signing in): JSON and
    # form bodies at most max_body_bytes; uploads (POST /v1/imports, POST /v1/scans and the /scans
    # page's form) at most max_upload_bytes.
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 512 << 20
    # /metrics: open in development; elsewhere it needs `Authorization: Bearer <metrics_token>`, and
    # without a token set it answers 404.
    metrics_token: str = ""
    # The web server (`jianfu serve`).
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    def forest_cache(self) -> Path:
        return self.data_dir / "forests"

    def signing_key(self) -> str:
        """The token-signing key; refuses a missing or short key outside development."""
        return self._secret(self.jwt_secret, "JIANFU_JWT_SECRET", "jwt-secret")

    def erasure_key(self) -> str:
        """The deletion records' HMAC key; refuses a missing or short key outside development."""
        return self._secret(self.erasure_secret, "JIANFU_ERASURE_SECRET", "erasure-secret")

    def sheet_key(self) -> str:
        """The worksheets' QR HMAC key; refuses a missing or short key outside development."""
        return self._secret(self.sheet_secret, "JIANFU_SHEET_SECRET", "sheet-secret")

    def _secret(self, given: str, variable: str, file_name: str) -> str:
        """`given` (at least 32 characters), or in development a random key kept in data_dir."""
        if given:
            if len(given) < 32:
                raise ValueError(f"{variable} must be at least 32 characters")
            return given
        if self.environment != "development":
            raise ValueError(
                f"{variable} is required when JIANFU_ENVIRONMENT={self.environment!r} "
                "(there is no default key outside development)"
            )
        import os
        import secrets

        path = self.data_dir / file_name
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{file_name}-{os.getpid()}")
            tmp.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # atomic, and never over a key another process wrote first
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text(encoding="utf-8").strip()

    def resolved_tracking_uri(self) -> str:
        import os

        uri = self.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
        if uri:
            return uri
        from service.store.db import private_sqlite_file

        uri = f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"
        private_sqlite_file(uri)  # owner-only, like the school's database (made before MLflow opens it)
        return uri

    def local_artifacts(self) -> str:
        return (self.data_dir / "mlartifacts").resolve().as_uri()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jianfu.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
