"""Settings read from the environment (12-factor), built inside ``create_app``, never at import."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./gnrp.db"


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``sqlite:///``) and pick the async drivers."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL is not a URL: {url!r}")
    driver = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(scheme, scheme)
    return f"{driver}://{rest}"


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    base_url: str = "http://localhost:8000"
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")
    allowed_origins: tuple[str, ...] = ()
    smtp_url: str | None = None
    mail_from: str = "GNRP Live <no-reply@localhost>"
    outbox_dir: Path = Path("./outbox")
    # Limits
    max_body_bytes: int = 1024 * 1024
    replay_limit: int = 1000
    login_attempts_per_account: int = 5
    login_attempts_per_address: int = 30
    login_window_seconds: int = 900
    session_days: int = 30
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_parallelism: int = 4
    log_level: str = "INFO"
    messages_per_minute: int = 30
    threads_per_hour: int = 10
    flags_per_hour: int = 20
    flags_to_hide: int = 3
    # Live layer
    redis_prefix: str = "gnrp:"
    ws_max_frame_bytes: int = 64 * 1024
    ws_frames_per_second: int = 20
    ws_frame_burst: int = 40
    ws_sockets_per_user: int = 20
    ws_queue_bytes: int = 1024 * 1024
    presence_ttl_seconds: int = 30
    live_sweep_seconds: float = 5.0
    # Digests and the worker
    digest_hour: int = 7  # UTC hour from which a day's (or a Monday's, weekly) digest is due
    digest_every_seconds: int = 300  # how often the cron looks for due digests
    worker_job_timeout: int = 300  # seconds; also how long a digest claim is held
    worker_max_tries: int = 5
    mail_retry_seconds: int = 60  # first wait after a temporary SMTP refusal; doubles each try

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.lower().startswith("https://")

    @property
    def mail_domain(self) -> str:
        """The domain of Message-IDs: the site's own host name."""
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def site_origin(self) -> str:
        return origin_of(self.base_url)

    @property
    def trusted_origins(self) -> frozenset[str]:
        return frozenset({self.site_origin, *(origin_of(o) for o in self.allowed_origins)})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base_url = env.get("BASE_URL") or cls.base_url
        base_host = urlsplit(base_url).hostname or "localhost"
        hosts = _split_list(env.get("ALLOWED_HOSTS")) or (
            base_host,
            "localhost",
            "127.0.0.1",
            "[::1]",
        )
        secret = env.get("SECRET_KEY") or secrets.token_urlsafe(32)
        return cls(
            database_url=normalise_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=secret,
            base_url=base_url.rstrip("/"),
            allowed_hosts=tuple(dict.fromkeys(h.lower() for h in hosts)),
            allowed_origins=_split_list(env.get("ALLOWED_ORIGINS")),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or cls.mail_from,
            outbox_dir=Path(env.get("OUTBOX_DIR") or "./outbox"),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", cls.max_body_bytes),
            replay_limit=_int(env, "REPLAY_LIMIT", cls.replay_limit),
            login_attempts_per_account=_int(
                env, "LOGIN_ATTEMPTS_PER_ACCOUNT", cls.login_attempts_per_account
            ),
            login_attempts_per_address=_int(
                env, "LOGIN_ATTEMPTS_PER_ADDRESS", cls.login_attempts_per_address
            ),
            login_window_seconds=_int(env, "LOGIN_WINDOW_SECONDS", cls.login_window_seconds),
            session_days=_int(env, "SESSION_DAYS", cls.session_days),
            password_time_cost=_int(env, "PASSWORD_TIME_COST", cls.password_time_cost),
            password_memory_kib=_int(env, "PASSWORD_MEMORY_KIB", cls.password_memory_kib),
            password_parallelism=_int(env, "PASSWORD_PARALLELISM", cls.password_parallelism),
            log_level=(env.get("LOG_LEVEL") or cls.log_level).upper(),
            messages_per_minute=_int(env, "MESSAGES_PER_MINUTE", cls.messages_per_minute),
            threads_per_hour=_int(env, "THREADS_PER_HOUR", cls.threads_per_hour),
            flags_per_hour=_int(env, "FLAGS_PER_HOUR", cls.flags_per_hour),
            flags_to_hide=_int(env, "FLAGS_TO_HIDE", cls.flags_to_hide),
            redis_prefix=env.get("REDIS_PREFIX") or cls.redis_prefix,
            ws_frames_per_second=_int(env, "WS_FRAMES_PER_SECOND", cls.ws_frames_per_second),
            ws_frame_burst=_int(env, "WS_FRAME_BURST", cls.ws_frame_burst),
            ws_sockets_per_user=_int(env, "WS_SOCKETS_PER_USER", cls.ws_sockets_per_user),
            ws_queue_bytes=_int(env, "WS_QUEUE_BYTES", cls.ws_queue_bytes),
            presence_ttl_seconds=_int(env, "PRESENCE_TTL_SECONDS", cls.presence_ttl_seconds),
            live_sweep_seconds=float(env.get("LIVE_SWEEP_SECONDS") or cls.live_sweep_seconds),
            digest_hour=_int(env, "DIGEST_HOUR", cls.digest_hour),
            digest_every_seconds=_int(env, "DIGEST_EVERY_SECONDS", cls.digest_every_seconds),
            worker_job_timeout=_int(env, "WORKER_JOB_TIMEOUT", cls.worker_job_timeout),
            worker_max_tries=_int(env, "WORKER_MAX_TRIES", cls.worker_max_tries),
            mail_retry_seconds=_int(env, "MAIL_RETRY_SECONDS", cls.mail_retry_seconds),
        )
