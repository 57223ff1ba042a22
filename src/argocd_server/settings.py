"""Server settings: pydantic-settings with the ``ARGOCD_SERVER_`` env prefix, plus an optional YAML config file.

Settings are built in the entry points (``argocd-server serve``, ``create_app``) and passed down; nothing reads
them at import time. Argo CD's own ConfigMap manifests (argocd-cm, argocd-rbac-cm, argocd-cmd-params-cm) can be
handed over as files; ``config.py`` turns their keys into the effective configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server; durations in seconds, binary paths configurable."""

    model_config = SettingsConfigDict(env_prefix="ARGOCD_SERVER_", extra="ignore")

    host: str = "0.0.0.0"  # noqa: S104 - a server listens on every interface unless told otherwise
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/argocd.db``. PostgreSQL: ``postgresql+psycopg://...``."""
    namespace: str = "argocd"
    """The control-plane namespace (upstream's ``NS``)."""

    config_file: Path | None = None
    """Optional YAML file whose keys are these settings' names (env variables still win)."""
    configmaps: list[Path] = Field(default_factory=list)
    """Argo CD ConfigMap manifests (argocd-cm, argocd-rbac-cm, argocd-cmd-params-cm); several per file allowed."""

    admin_password: SecretStr | None = None
    """Sets the admin password explicitly (CI pipelines); otherwise a random one is generated on first start."""
    secret_key: SecretStr | None = None
    """The key that encrypts secrets at rest (base64 of 32 bytes); default: ``<data_dir>/server.key``."""
    secret_key_file: Path | None = None

    insecure: bool = True
    """Serving plain HTTP (the default here): the session cookie is sent without ``Secure``."""
    basehref: str = "/"
    api_content_types: list[str] = Field(default_factory=lambda: ["application/json"])
    max_request_bytes: int = 16 * 1024 * 1024
    gzip: bool = True

    login_max_fail_count: int = 5
    login_failure_window_seconds: int = 300
    login_max_concurrent: int = 50
    login_delay_min_ms: int = 500
    login_delay_max_ms: int = 1000
    """Each password check is padded by a random delay in this range, as upstream does against enumeration."""
    redis_url: str | None = None
    """When set (``redis://host:6379/0``), login failure counts are shared by every replica through Redis."""
    auth_cache_seconds: float = 1.0
    """How long another replica's revocations and password changes may take to be seen by this one."""

    git_path: str = "git"
    helm_path: str | None = None
    kubectl_path: str | None = None
    kustomize_path: str | None = None
    repository_connection_checks: bool = True
    """Check each repository's connection state on get/list (cached); off on hosts that cannot reach them."""
    exec_timeout_seconds: float = 90.0
    git_request_timeout_seconds: float = 15.0
    manifest_cache_disk_bytes: int = 1024 * 1024 * 1024
    """Budget of the rendered-manifest cache kept on disk, sealed with the secret key, in
    ``<data_dir>/sources/manifests.db``: shared by ``serve`` and ``controller`` on one data dir and kept across restarts
    (0: memory only)."""

    reconciliation_seconds: float = 180.0
    reconciliation_jitter_seconds: float = 60.0
    threadpool_size: int = 16
    controller_workers: int = 2
    controller_enabled: bool = True
    credentials_cache_seconds: float = 5.0
    """How long a resolved repository credential is reused; changes made through this process apply at once,
    changes made by another process (a separate controller, another replica) within this time."""
    """Run the application controller inside ``serve`` (``serve --no-controller`` turns it off)."""
    kubeconfig: Path | None = None
    """Kubeconfig for the in-cluster destination when the server does not run in a pod."""
    kube_context: str | None = None
    embedded_kubesim: bool = True
    """Outside a pod and without a kubeconfig, the in-cluster destination is an embedded Kubernetes simulator
    (in memory, snapshot in the data dir), reported as simulated."""
    sync_wave_delay_seconds: float = 2.0
    """Pause between sync waves (upstream ``ARGOCD_SYNC_WAVE_DELAY``)."""
    controller_poll_seconds: float = 1.0
    """How often a running operation re-checks health and hooks."""
    controller_server_side_diff: bool = False
    """Compare every app with a server-side diff (a dry-run server-side apply predicts the live object) unless it
    opts out with the compare option ``ServerSideDiff=false``; upstream's ``controller.diff.server.side``."""
    log_level: str = "info"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'argocd.db').resolve()}"

    @classmethod
    def load(cls, *, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Build settings from (lowest first) the YAML config file, the environment, then explicit overrides."""
        probe = cls(**overrides)
        path = config_file or probe.config_file
        if path is None:
            return probe
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"config file {path} must hold a mapping")
        from_file = {k.replace("-", "_"): v for k, v in raw.items()}
        env_only = cls(**overrides).model_dump(exclude_unset=True)
        merged = {**from_file, **env_only, **overrides, "config_file": path}
        return cls(**merged)
