"""The ``argocd-server`` command: serve, migrate, admin helpers and tool versions."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from argocd_server import __version__
from argocd_server.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in {
            "data_dir": getattr(args, "data_dir", None),
            "database_url": getattr(args, "database_url", None),
            "port": getattr(args, "port", None),
            "host": getattr(args, "host", None),
            "controller_enabled": False if getattr(args, "no_controller", False) else None,
        }.items()
        if value is not None
    }
    configmaps = getattr(args, "configmap", None)
    if configmaps:
        overrides["configmaps"] = [Path(p) for p in configmaps]
    return Settings.load(config_file=getattr(args, "config", None), **overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from argocd_server.main import create_app

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings)
    # Open watch streams would otherwise hold shutdown forever: give them a few seconds, then close them.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def _controller(args: argparse.Namespace) -> int:
    """Run only the application controller over the configured database (no API)."""
    from argocd_server.main import build_state

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    state = build_state(settings)
    assert state.controller is not None
    try:
        state.controller.run_forever()
    finally:
        if state.clusters is not None:
            state.clusters.close()
        if state.embedded_cluster is not None:
            state.embedded_cluster.stop()
        state.engine.dispose()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from argocd_server.db.engine import make_engine, upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url, pool_size=2)
    upgrade(engine, args.revision)
    engine.dispose()
    print(f"database at revision {args.revision}")
    return 0


def _initial_password(args: argparse.Namespace) -> int:
    from argocd_server.services.auth import INITIAL_PASSWORD_FILE

    settings = _settings(args)
    path = settings.data_dir / INITIAL_PASSWORD_FILE
    if not path.exists():
        print(f"no initial admin password: {path} does not exist", file=sys.stderr)
        return 1
    print(path.read_text().strip())
    print(
        "\n This password must be only used for first time login. We strongly recommend you update the "
        "password using `argocd account update-password`."
    )
    return 0


def _version(args: argparse.Namespace) -> int:
    from argocd_server.tools import probe_tools
    from argocd_server.version import server_version

    settings = _settings(args)
    tools = probe_tools(settings)
    print(f"argocd-server: {server_version()} ({__version__})")
    for name, version in (
        ("git", tools.git),
        ("helm", tools.helm),
        ("kubectl", tools.kubectl),
        ("kustomize", tools.kustomize),
        ("jsonnet", tools.jsonnet),
    ):
        path = tools.paths.get(name) or ("(kubectl kustomize)" if name == "kustomize" and tools.kustomize else "")
        print(f"  {name:<10} {version or 'not found':<24} {path or ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="argocd-server", description="Argo CD API server in Python")
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    parser.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
    parser.add_argument("--configmap", action="append", help="an Argo CD ConfigMap manifest file (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--port", type=int)
    serve.add_argument("--host")
    serve.add_argument("--no-controller", action="store_true", help="do not run the application controller")
    serve.set_defaults(func=_serve)

    controller = sub.add_parser("controller", help="run only the application controller")
    controller.set_defaults(func=_controller)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_db_upgrade)

    admin = sub.add_parser("admin", help="administration helpers")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    ip = admin_sub.add_parser("initial-password", help="print the generated initial admin password")
    ip.set_defaults(func=_initial_password)

    for name in ("version", "tools"):
        v = sub.add_parser(name, help="show the server version and the tools it found")
        v.set_defaults(func=_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
