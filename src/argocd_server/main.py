"""``create_app(settings)`` and its lifespan; nothing happens at import time.

The lifespan migrates the database, opens the secret box, loads (or creates) the JWT signing key, builds the RBAC
enforcer and the authenticator, makes sure admin has a password, and stores all of it as ``app.state.argo``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import anyio.to_thread
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from argocd_server.api.errors import install_error_handlers
from argocd_server.api.middleware import ExtraHeaders, TransportGate
from argocd_server.api.routers import (
    account,
    application_extra,
    application_ops,
    application_resources,
    application_sources,
    applications,
    applicationset_extra,
    applicationsets,
    certificates,
    clusters,
    gpgkeys,
    info,
    notifications,
    projects,
    repocreds,
    repositories,
    session,
    stream,
)
from argocd_server.api.state import AppState
from argocd_server.auth.rbac import Enforcer, RbacConfig
from argocd_server.auth.secretbox import SecretBox, load_or_create_key
from argocd_server.config import apply_cmd_params, build_config, read_configmaps
from argocd_server.db.engine import make_engine, make_sessionmaker, upgrade
from argocd_server.db.stores.accounts import ServerSecretStore
from argocd_server.services.app_operations import build_controller
from argocd_server.services.auth import (
    Authenticator,
    LoginLimiter,
    RedisLoginLimiter,
    ensure_admin_password,
)
from argocd_server.services.cluster_info import ClusterInfoRefresher
from argocd_server.services.project_index import ProjectIndex
from argocd_server.services.projects import ensure_default_project
from argocd_server.services.streams import StreamHub
from argocd_server.settings import Settings

log = logging.getLogger(__name__)

JWT_KEY_NAME = "server.secretkey"
ROUTERS = (
    info,
    session,
    account,
    projects,
    repositories,
    repocreds,
    clusters,
    application_extra,
    application_ops,
    application_resources,
    application_sources,
    applications,
    applicationset_extra,
    applicationsets,
    certificates,
    gpgkeys,
    notifications,
    stream,
)


def build_login_limiter(settings: Settings) -> LoginLimiter:
    """Per-process failure counts, or counts shared through Redis when ``redis_url`` is set."""
    if settings.redis_url:
        import redis

        return RedisLoginLimiter(
            client=redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=0.5),
            max_failures=settings.login_max_fail_count,
            window_seconds=settings.login_failure_window_seconds,
            max_concurrent=settings.login_max_concurrent,
        )
    return LoginLimiter(
        max_failures=settings.login_max_fail_count,
        window_seconds=settings.login_failure_window_seconds,
        max_concurrent=settings.login_max_concurrent,
    )


def build_state(settings: Settings, configmaps: dict[str, dict[str, str]] | None = None) -> AppState:
    """Every process-wide collaborator, migrated and ready."""
    if configmaps is None:
        configmaps = read_configmaps(settings.configmaps)
    config = build_config(settings, configmaps)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url, pool_size=max(settings.threadpool_size, 5))
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    box = SecretBox(
        load_or_create_key(
            data_dir=settings.data_dir,
            key_text=settings.secret_key.get_secret_value() if settings.secret_key else None,
            key_file=settings.secret_key_file,
        )
    )
    with sessions() as db:
        sealed = ServerSecretStore(db).get_or_create(
            JWT_KEY_NAME,
            factory=lambda: box.seal(secrets.token_bytes(32), purpose=JWT_KEY_NAME),
            now=datetime.now(tz=UTC),
        )
        db.commit()
    jwt_key = box.open(sealed, purpose=JWT_KEY_NAME)
    ensure_default_project(sessions=sessions, namespace=settings.namespace)
    project_index = ProjectIndex(
        sessions=sessions, namespace=settings.namespace, ttl_seconds=settings.auth_cache_seconds
    )
    enforcer = Enforcer(config=RbacConfig.from_configmap_data(config.rbac_data), project_lookup=project_index.rbac)
    authenticator = Authenticator(
        sessions=sessions,
        jwt_key=jwt_key,
        config=config,
        limiter=build_login_limiter(settings),
        cache_seconds=settings.auth_cache_seconds,
        login_delay_ms=(settings.login_delay_min_ms, settings.login_delay_max_ms),
        project_tokens=project_index.tokens,
    )
    ensure_admin_password(
        sessions=sessions,
        config=config,
        data_dir=settings.data_dir,
        explicit=settings.admin_password.get_secret_value() if settings.admin_password else None,
    )
    state = AppState(
        settings=settings,
        config=config,
        engine=engine,
        sessions=sessions,
        secret_box=box,
        authenticator=authenticator,
        enforcer=enforcer,
        project_index=project_index,
    )
    state.controller, state.clusters, state.embedded_cluster = build_controller(
        settings=settings, config=config, sessions=sessions, secret_box=box
    )
    return state


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()
    configmaps = read_configmaps(settings.configmaps)
    settings = apply_cmd_params(settings, configmaps.get("argocd-cmd-params-cm", {}))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
        state = await anyio.to_thread.run_sync(build_state, settings, configmaps)
        # Probe the binaries' versions now, off the event loop, rather than on the first version request.
        await anyio.to_thread.run_sync(lambda: state.tools)
        app.state.argo = state
        log.info("argocd-server ready (database: %s)", state.engine.url.get_backend_name())
        if settings.controller_enabled and state.controller is not None:
            state.controller.start()
        streams = StreamHub(sessions=state.sessions, controller=state.controller, namespace=settings.namespace)
        await anyio.to_thread.run_sync(streams.start)
        state.streams = streams
        if state.clusters is not None:
            state.cluster_info = ClusterInfoRefresher(clusters=state.clusters).start()
        try:
            yield
        finally:
            if state.cluster_info is not None:
                # Before the connections it probes through are closed.
                await anyio.to_thread.run_sync(state.cluster_info.stop)
            await anyio.to_thread.run_sync(streams.stop)
            if state.controller is not None:
                await anyio.to_thread.run_sync(state.controller.stop)
            if state.clusters is not None:
                await anyio.to_thread.run_sync(state.clusters.close)
            if state.embedded_cluster is not None:
                await anyio.to_thread.run_sync(state.embedded_cluster.stop)
            state.engine.dispose()

    app = FastAPI(
        title="argocd-server",
        description="A Python re-implementation of the Argo CD API server (/api/v1).",
        lifespan=lifespan,
        docs_url="/swagger-ui",
        openapi_url="/swagger.json",
        redoc_url=None,
    )
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_middleware(ExtraHeaders)
    app.add_middleware(TransportGate, content_types=settings.api_content_types, max_body=settings.max_request_bytes)
    if settings.gzip:
        app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    return app
