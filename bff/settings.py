"""Settings, read from environment variables only.

Every default runs the demo on one machine with no configuration: the sandbox SSO provider on :8100, the
sandbox provincial system on :8200, a SQLite file and an in-process store under ``var/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    public_base_url: str
    data_dir: Path
    web_dist: Path
    log_level: str
    workers: int  # uvicorn worker processes of `python -m bff serve`; each runs the relay and poller too

    @classmethod
    def from_env(cls) -> ServerSettings:
        host = _env("BFF_HOST", "127.0.0.1")
        port = _env_int("BFF_PORT", 8000)
        return cls(
            host=host,
            port=port,
            public_base_url=_env("PUBLIC_BASE_URL", f"http://{host}:{port}").rstrip("/"),
            data_dir=Path(_env("DATA_DIR", "var")),
            web_dist=Path(_env("WEB_DIST", "web/dist")),
            log_level=_env("LOG_LEVEL", "INFO"),
            workers=_env_int("BFF_WORKERS", 1),
        )


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    echo: bool

    @classmethod
    def from_env(cls, data_dir: Path) -> DatabaseSettings:
        return cls(
            url=_env("DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'portal.db'}"),
            echo=_env_bool("DATABASE_ECHO", False),
        )


@dataclass(frozen=True)
class StoreSettings:
    """Sessions, pub/sub and caches: Redis when REDIS_URL is set, else in-process (one instance only)."""

    redis_url: str

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(redis_url=_env("REDIS_URL", ""))


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    http_timeout: float

    @classmethod
    def from_env(cls) -> OidcSettings:
        return cls(
            issuer=_env("OIDC_ISSUER", "http://127.0.0.1:8100").rstrip("/"),
            client_id=_env("OIDC_CLIENT_ID", "portal"),
            client_secret=_env("OIDC_CLIENT_SECRET", "portal-dev-secret"),
            scopes=_env("OIDC_SCOPES", "openid profile"),
            http_timeout=_env_float("OIDC_HTTP_TIMEOUT", 5.0),
        )


@dataclass(frozen=True)
class SessionSettings:
    cookie_name: str
    idle_seconds: int
    absolute_seconds: int

    @classmethod
    def from_env(cls) -> SessionSettings:
        return cls(
            cookie_name="__Host-portal_session",
            idle_seconds=_env_int("SESSION_IDLE_SECONDS", 30 * 60),
            absolute_seconds=_env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60),
        )


@dataclass(frozen=True)
class ProvincialSettings:
    api_url: str
    audience: str
    timeout: float
    relay_enabled: bool
    relay_interval: float
    relay_concurrency: int
    relay_batch: int
    retry_base_seconds: float
    retry_cap_seconds: float
    retry_window_seconds: float
    poll_interval: float

    @classmethod
    def from_env(cls) -> ProvincialSettings:
        return cls(
            api_url=_env("PROVINCIAL_API_URL", "http://127.0.0.1:8200/api").rstrip("/"),
            audience=_env("PROVINCIAL_AUDIENCE", "provincial-api"),
            timeout=_env_float("PROVINCIAL_TIMEOUT", 10.0),
            relay_enabled=_env_bool("RELAY_ENABLED", True),
            relay_interval=_env_float("RELAY_INTERVAL", 1.0),
            relay_concurrency=_env_int("RELAY_CONCURRENCY", 8),
            relay_batch=_env_int("RELAY_BATCH", 50),
            retry_base_seconds=_env_float("RELAY_RETRY_BASE_SECONDS", 2.0),
            retry_cap_seconds=_env_float("RELAY_RETRY_CAP_SECONDS", 300.0),
            retry_window_seconds=_env_float("RELAY_RETRY_WINDOW_SECONDS", 72 * 3600.0),
            poll_interval=_env_float("POLL_INTERVAL", 2.0),
        )


@dataclass(frozen=True)
class SigningSettings:
    """Keys for e-certificates: the PAdES signing key and certificate, and the QR token keys.

    The key is a PEM file (``SIGNING_KEY_PATH``) unless ``SIGNING_PKCS11_MODULE`` names a PKCS#11 module
    (e.g. an HSM's ``.so``): then it is the private key labelled ``SIGNING_PKCS11_KEY_LABEL`` on the token
    labelled ``SIGNING_PKCS11_TOKEN_LABEL``, logged in with ``SIGNING_PKCS11_PIN`` or the first line of
    ``SIGNING_PKCS11_PIN_FILE``; the certificate is the one with the same label on the token, else
    ``SIGNING_CERT_PATH``. ``SIGNING_TSA_URL`` (an RFC 3161 time-stamping service) makes signatures
    PAdES B-T; empty means B-B. An uploaded PDF is trusted when it chains to ``SIGNING_CHAIN_PATHS`` and its
    signer is not in ``SIGNING_CRL_PATHS`` (default ``PKI_DIR/ca.crl``; read at each check).
    """

    key_path: Path
    cert_path: Path
    chain_paths: tuple[Path, ...]
    token_keys_dir: Path
    tsa_url: str | None = None
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    pkcs11_pin_file: Path | None = None
    crl_paths: tuple[Path, ...] = ()  # the CAs' revocation lists, for checking uploaded PDFs

    @classmethod
    def from_env(cls, data_dir: Path) -> SigningSettings:
        pki = Path(_env("PKI_DIR", str(data_dir / "pki")))
        chain = _env("SIGNING_CHAIN_PATHS", str(pki / "ca.pem"))
        pin_file = _env("SIGNING_PKCS11_PIN_FILE", "")
        return cls(
            key_path=Path(_env("SIGNING_KEY_PATH", str(pki / "signing-key.pem"))),
            cert_path=Path(_env("SIGNING_CERT_PATH", str(pki / "signing.pem"))),
            chain_paths=tuple(Path(p) for p in chain.split(os.pathsep) if p),
            token_keys_dir=Path(_env("TOKEN_KEYS_DIR", str(data_dir / "token-keys"))),
            tsa_url=_env("SIGNING_TSA_URL", "") or None,
            pkcs11_module=_env("SIGNING_PKCS11_MODULE", "") or None,
            pkcs11_token_label=_env("SIGNING_PKCS11_TOKEN_LABEL", "") or None,
            pkcs11_key_label=_env("SIGNING_PKCS11_KEY_LABEL", "") or None,
            pkcs11_pin=os.environ.get("SIGNING_PKCS11_PIN") or None,
            pkcs11_pin_file=Path(pin_file) if pin_file else None,
            crl_paths=tuple(Path(p) for p in _env("SIGNING_CRL_PATHS", str(pki / "ca.crl")).split(os.pathsep) if p),
        )


@dataclass(frozen=True)
class FileSettings:
    """Where uploads and signed certificates are kept.

    ``FILES_BACKEND=local`` (the default): a directory, ``DATA_DIR/files``. ``FILES_BACKEND=s3``: a bucket on an
    S3-compatible store (MinIO, Ceph RGW, ...), which needs ``S3_ENDPOINT_URL``, ``S3_BUCKET``,
    ``S3_ACCESS_KEY_ID`` and ``S3_SECRET_ACCESS_KEY``; ``S3_REGION`` defaults to ``us-east-1`` and ``S3_PREFIX``
    (a key prefix, for a bucket shared with something else) to none. The bucket must not be public.
    """

    backend: str = "local"
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    s3_region: str = "us-east-1"
    s3_prefix: str = ""

    @classmethod
    def from_env(cls) -> FileSettings:
        return cls(
            backend=_env("FILES_BACKEND", "local").lower(),
            s3_endpoint_url=_env("S3_ENDPOINT_URL", ""),
            s3_bucket=_env("S3_BUCKET", ""),
            s3_access_key_id=_env("S3_ACCESS_KEY_ID", ""),
            s3_secret_access_key=_env("S3_SECRET_ACCESS_KEY", ""),
            s3_region=_env("S3_REGION", "us-east-1"),
            s3_prefix=_env("S3_PREFIX", ""),
        )


@dataclass(frozen=True)
class NotifySettings:
    """Telling people when their application changes: Web Push (VAPID) and SMS.

    ``VAPID_PRIVATE_KEY_FILE`` (a PEM P-256 key) must be the same on every instance; without it a dev key is made
    once under ``DATA_DIR/vapid/`` (0600). ``PUSH_EXTRA_ORIGINS`` (comma separated origins) adds push services to
    the built-in allow-list (FCM, Mozilla, WNS, Apple); the demo default is the sandbox stand-in. The SMS gateway
    defaults to the sandbox stand-in too (``SMS_GATEWAY_URL``, ``SMS_API_KEY``).
    """

    enabled: bool
    sms_gateway_url: str
    sms_api_key: str = field(repr=False)
    vapid_key_file: Path
    vapid_key_generate: bool
    vapid_subject: str
    push_extra_origins: tuple[str, ...]
    push_ttl_seconds: int
    http_timeout: float
    interval: float
    concurrency: int
    batch: int
    retry_base_seconds: float
    retry_cap_seconds: float
    max_attempts: int

    @classmethod
    def from_env(cls, data_dir: Path) -> NotifySettings:
        key_file = _env("VAPID_PRIVATE_KEY_FILE", "")
        extra = _env("PUSH_EXTRA_ORIGINS", "http://127.0.0.1:8200")
        return cls(
            enabled=_env_bool("NOTIFY_ENABLED", True),
            sms_gateway_url=_env("SMS_GATEWAY_URL", "http://127.0.0.1:8200/sms").rstrip("/"),
            sms_api_key=_env("SMS_API_KEY", "sandbox-sms-key"),
            vapid_key_file=Path(key_file) if key_file else data_dir / "vapid" / "private.pem",
            vapid_key_generate=not key_file,
            vapid_subject=_env("VAPID_SUBJECT", "mailto:ops@example.invalid"),
            push_extra_origins=tuple(o.strip().rstrip("/") for o in extra.split(",") if o.strip()),
            push_ttl_seconds=_env_int("PUSH_TTL_SECONDS", 24 * 3600),
            http_timeout=_env_float("NOTIFY_HTTP_TIMEOUT", 10.0),
            interval=_env_float("NOTIFY_INTERVAL", 2.0),
            concurrency=_env_int("NOTIFY_CONCURRENCY", 8),
            batch=_env_int("NOTIFY_BATCH", 50),
            retry_base_seconds=_env_float("NOTIFY_RETRY_BASE_SECONDS", 30.0),
            retry_cap_seconds=_env_float("NOTIFY_RETRY_CAP_SECONDS", 1800.0),
            max_attempts=_env_int("NOTIFY_MAX_ATTEMPTS", 8),
        )


@dataclass(frozen=True)
class CryptoSettings:
    """Encryption of personal data at rest (``bff.lib.crypto``, docs/privacy.md).

    ``DATA_ENCRYPTION_KEYS``: comma-separated ``kid:base64url(32 bytes)``; the first encrypts, all decrypt (so a
    new key goes first and the old one stays until ``python -m bff reencrypt`` has moved every row). Every instance
    must have the same list. Without it a development key is made once in ``DATA_DIR/keys/data-encryption.key``
    (0600) and a warning is logged.
    """

    keys: str = field(repr=False)
    dev_key_file: Path

    @classmethod
    def from_env(cls, data_dir: Path) -> CryptoSettings:
        return cls(keys=os.environ.get("DATA_ENCRYPTION_KEYS", "").strip(),
                   dev_key_file=data_dir / "keys" / "data-encryption.key")


@dataclass(frozen=True)
class RetentionSettings:
    """How long the portal keeps what it no longer needs (``bff.domain.retention``; reasons in docs/privacy.md).

    ``RETENTION_DRAFT_HOURS`` (24): uploads never attached to a submitted application.
    ``RETENTION_ORIGINALS_DAYS`` (30): after an application was forwarded (every file received by the provincial
    system), the files as uploaded and the forwarded copy; the cleaned copy the person sees stays.
    ``RETENTION_FINISHED_DAYS`` (365): after an application ended, its personal fields and its material.
    ``RETENTION_NOTIFICATIONS_DAYS`` (30): notification rows no longer pending.
    The purge runs every ``RETENTION_INTERVAL_SECONDS`` (3600) on each instance (``RETENTION_ENABLED=0`` stops it;
    ``python -m bff purge`` runs it by hand), ``RETENTION_BATCH`` (500) rows per transaction.
    """

    enabled: bool
    interval_seconds: float
    draft_hours: float
    originals_days: float
    finished_days: float
    notifications_days: float
    batch: int

    @classmethod
    def from_env(cls) -> RetentionSettings:
        return cls(
            enabled=_env_bool("RETENTION_ENABLED", True),
            interval_seconds=_env_float("RETENTION_INTERVAL_SECONDS", 3600.0),
            draft_hours=_env_float("RETENTION_DRAFT_HOURS", 24.0),
            originals_days=_env_float("RETENTION_ORIGINALS_DAYS", 30.0),
            finished_days=_env_float("RETENTION_FINISHED_DAYS", 365.0),
            notifications_days=_env_float("RETENTION_NOTIFICATIONS_DAYS", 30.0),
            batch=_env_int("RETENTION_BATCH", 500),
        )


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    database: DatabaseSettings
    store: StoreSettings
    oidc: OidcSettings
    session: SessionSettings
    provincial: ProvincialSettings
    notify: NotifySettings
    calendar: CalendarSettings
    signing: SigningSettings
    files: FileSettings
    crypto: CryptoSettings
    retention: RetentionSettings
    security: SecuritySettings
    metrics: MetricsSettings

    @classmethod
    def from_env(cls) -> Settings:
        server = ServerSettings.from_env()
        return cls(
            server=server,
            database=DatabaseSettings.from_env(server.data_dir),
            store=StoreSettings.from_env(),
            oidc=OidcSettings.from_env(),
            session=SessionSettings.from_env(),
            provincial=ProvincialSettings.from_env(),
            notify=NotifySettings.from_env(server.data_dir),
            calendar=CalendarSettings.from_env(),
            signing=SigningSettings.from_env(server.data_dir),
            files=FileSettings.from_env(),
            crypto=CryptoSettings.from_env(server.data_dir),
            retention=RetentionSettings.from_env(),
            security=SecuritySettings.from_env(),
            metrics=MetricsSettings.from_env(),
        )


@dataclass(frozen=True)
class CalendarSettings:
    """The holiday file for years ``chinese_calendar`` does not know yet (see ``bff.lib.workdays``).

    ``HOLIDAYS_FILE`` defaults to the file shipped in the package, ``bff/data/holidays.json``; point it at a copy
    to add a newly announced year without a release.
    """

    holidays_file: Path

    @classmethod
    def from_env(cls) -> CalendarSettings:
        shipped = Path(__file__).resolve().parent / "data" / "holidays.json"
        return cls(holidays_file=Path(_env("HOLIDAYS_FILE", str(shipped))))


def _rate_limit_overrides() -> dict[str, tuple[int, int]]:
    """``RATE_LIMIT_<NAME>=<count>/<seconds>`` for each limit an operator changes (names: ``bff.lib.ratelimit``)."""
    found: dict[str, tuple[int, int]] = {}
    for name, value in os.environ.items():
        if not name.startswith("RATE_LIMIT_") or not value.strip():
            continue
        count, _, seconds = value.strip().partition("/")
        try:
            found[name.removeprefix("RATE_LIMIT_").lower()] = (int(count), int(seconds))
        except ValueError:
            raise ValueError(f"{name} must be <count>/<seconds>, e.g. 30/600; got {value!r}") from None
    return found


@dataclass(frozen=True)
class SecuritySettings:
    """Whom to believe about the client's address, which host names are served, and rate-limit overrides.

    ``TRUSTED_PROXIES`` (comma-separated IPs or CIDRs; default ``127.0.0.1,::1``, a reverse proxy on the same
    machine): only these peers' ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed (``bff.lib.clientaddr``);
    set it to the load balancer's addresses, or to nothing at all when clients connect directly.
    ``ALLOWED_HOSTS`` (comma-separated, ``host`` or ``host:port``, ``*.example.cn`` for subdomains): Host headers
    served besides the host of ``PUBLIC_BASE_URL`` and the instance's own ``BFF_HOST:BFF_PORT``; others get 400.
    ``RATE_LIMIT_<NAME>=<count>/<seconds>`` replaces one row of the table in ``bff.lib.ratelimit``;
    ``RATE_LIMITS_ENABLED=0`` turns every limit off (load tests and drills only; default on).
    """

    trusted_proxies: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    rate_limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    rate_limits_enabled: bool = True

    @classmethod
    def from_env(cls) -> SecuritySettings:
        proxies = os.environ.get("TRUSTED_PROXIES")  # set but empty means: trust no proxy
        return cls(
            trusted_proxies=tuple(p.strip() for p in ("127.0.0.1,::1" if proxies is None else proxies).split(",")
                                  if p.strip()),
            allowed_hosts=tuple(h.strip().lower() for h in _env("ALLOWED_HOSTS", "").split(",") if h.strip()),
            rate_limits=_rate_limit_overrides(),
            rate_limits_enabled=_env_bool("RATE_LIMITS_ENABLED", True),
        )


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics at ``GET /metrics`` (``bff.lib.metrics``, docs/operations.md).

    ``METRICS_ENABLED`` (default on): off removes the route and the per-request timing. ``METRICS_ALLOWED``
    (comma-separated IPs or CIDRs; default ``127.0.0.1/32,::1/128``): the client addresses that may read it, as
    ``bff.lib.clientaddr`` sees them (so a request forwarded by a trusted proxy counts as the client's, not the
    proxy's); every other client gets 404. Scrape each instance on its own address, never through nginx.
    """

    enabled: bool
    allowed: tuple[str, ...]

    @classmethod
    def from_env(cls) -> MetricsSettings:
        allowed = _env("METRICS_ALLOWED", "127.0.0.1/32,::1/128")
        return cls(enabled=_env_bool("METRICS_ENABLED", True),
                   allowed=tuple(a.strip() for a in allowed.split(",") if a.strip()))
