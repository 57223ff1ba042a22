"""Cobra-like grammar on argparse: global flags accepted on every command, ``--flag=value`` and ``--flag value``,
repeatable flags, ``--bool=false``, and a per-invocation ``Context`` that resolves the server and the token the way
upstream does (config file's current context, then ``ARGOCD_SERVER``/``ARGOCD_AUTH_TOKEN``, then flags).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from argocd_server.cli.client import ApiClient, Connection, base_url_for
from argocd_server.cli.config import LocalConfig, default_config_path
from argocd_server.cli.errors import CliError, UsageError

Handler = Callable[["Context"], int | None]

BOOL_FLAGS: set[str] = set()
"""Long names of boolean flags, so ``--name=false`` can be rewritten before argparse sees it."""

_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


class ArgParser(argparse.ArgumentParser):
    """argparse with Cobra's error reporting (exit 1) and no prefix abbreviations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\nRun '{self.prog} --help' for usage.")


def add_bool(
    parser: argparse.ArgumentParser,
    *names: str,
    help: str,
    default: bool = False,
    dest: str = "",
) -> None:
    """A Go-style bool flag: ``--x`` sets it, ``--x=false`` clears it (via a hidden ``--no-x``)."""
    longs = [n for n in names if n.startswith("--")]
    dest = dest or longs[0][2:].replace("-", "_")
    parser.add_argument(*names, dest=dest, action="store_true", default=default, help=help)
    for long in longs:
        BOOL_FLAGS.add(long)
        parser.add_argument(f"--no-{long[2:]}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def rewrite_bools(argv: Sequence[str]) -> list[str]:
    """``--flag=true`` → ``--flag``, ``--flag=false`` → ``--no-flag`` for the known boolean flags."""
    out: list[str] = []
    for token in argv:
        if token == "--":  # noqa: S105 - the end-of-flags marker, not a secret
            out.extend(argv[len(out) :])
            break
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
            if name in BOOL_FLAGS and value.lower() in _TRUE | _FALSE:
                out.append(name if value.lower() in _TRUE else f"--no-{name[2:]}")
                continue
        out.append(token)
    return out


def add_globals(parser: argparse.ArgumentParser) -> None:
    """The persistent flags; SUPPRESS defaults let a value given before the sub-command survive parsing."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("global flags")
    g.add_argument("--server", default=s, help="API server address (host:port)")
    g.add_argument("--auth-token", default=s, help="bearer token to authenticate with")
    g.add_argument("--config", default=s, help="path to the local config file")
    g.add_argument("--argocd-context", default=s, help="config context to use instead of the current one")
    g.add_argument("-H", "--header", action="append", default=s, help="extra request header 'Name: value'")
    g.add_argument("--client-crt", default=s, help="client certificate file")
    g.add_argument("--client-crt-key", default=s, help="client certificate key file")
    g.add_argument("--server-crt", default=s, help="CA certificate file to trust for the server")
    g.add_argument("--grpc-web-root-path", default=s, help="path prefix the API is served under")
    g.add_argument("--http-retry-max", type=int, default=s, help=argparse.SUPPRESS)
    g.add_argument("--logformat", default=s, help="log format: text or json")
    g.add_argument("--loglevel", default=s, help="log level")
    g.add_argument("--port-forward-namespace", default=s, help=argparse.SUPPRESS)
    g.add_argument("--kube-context", default=s, help=argparse.SUPPRESS)
    g.add_argument("--redis-haproxy-name", default=s, help=argparse.SUPPRESS)
    g.add_argument("--redis-name", default=s, help=argparse.SUPPRESS)
    g.add_argument("--repo-server-name", default=s, help=argparse.SUPPRESS)
    g.add_argument("--server-name", default=s, help=argparse.SUPPRESS)
    g.add_argument("--controller-name", default=s, help=argparse.SUPPRESS)
    for name, text in (
        ("--insecure", "skip TLS certificate verification"),
        ("--plaintext", "talk plain HTTP instead of HTTPS"),
        ("--grpc-web", "accepted for compatibility (this client speaks REST)"),
        ("--core", "not supported: this client needs an API server"),
        ("--port-forward", "not supported: give --server instead"),
        ("--prompts-enabled", "accepted for compatibility"),
    ):
        g.add_argument(name, action="store_true", default=s, help=text)
        g.add_argument(f"--no-{name[2:]}", dest=name[2:].replace("-", "_"), action="store_false", default=s, help=s)
        BOOL_FLAGS.add(name)


def env_defaults() -> argparse.Namespace:
    """Global flags found in ``$ARGOCD_OPTS``; they count as defaults below explicit flags, as upstream."""
    text = os.environ.get("ARGOCD_OPTS", "")
    if not text.strip():
        return argparse.Namespace()
    parser = ArgParser(prog="ARGOCD_OPTS", add_help=False)
    add_globals(parser)
    try:
        known, _unknown = parser.parse_known_args(rewrite_bools(shlex.split(text)))
    except ValueError as exc:
        raise CliError(f"invalid ARGOCD_OPTS: {exc}") from exc
    return known


class Context:
    """One invocation: the parsed arguments plus lazily built config and API client."""

    def __init__(self, args: argparse.Namespace, env_args: argparse.Namespace) -> None:
        self.args = args
        self.env_args = env_args
        self._client: ApiClient | None = None
        self._config: LocalConfig | None = None
        self._config_loaded = False

    def flag(self, name: str, default: Any = None) -> Any:
        """A global flag: the command line first, then ``$ARGOCD_OPTS``, then the default."""
        if hasattr(self.args, name):
            return getattr(self.args, name)
        if hasattr(self.env_args, name):
            return getattr(self.env_args, name)
        return default

    def __getattr__(self, name: str) -> Any:
        # Command-local arguments read as attributes; a missing one is a programming error, not None.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.args, name)

    @property
    def log_format(self) -> str:
        return str(self.flag("logformat", "text") or "text")

    @property
    def config_path(self) -> Path:
        explicit = self.flag("config")
        return Path(os.path.expanduser(explicit)) if explicit else default_config_path()

    def local_config(self) -> LocalConfig | None:
        if not self._config_loaded:
            self._config = LocalConfig.read(self.config_path)
            self._config_loaded = True
        return self._config

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for raw in self.flag("header") or []:
            if ":" not in raw:
                raise UsageError(f"additional headers must be colon(:)-separated: {raw}")
            key, value = raw.split(":", 1)
            headers[key.strip()] = value.strip()
        return headers

    def refuse_unsupported(self, *, core: bool = False) -> None:
        if self.flag("core") or core:
            raise CliError(
                "--core is not supported by this client: it talks to an Argo CD API server only; give --server",
                exit_code=1,
            )
        if self.flag("port_forward") or self.flag("port_forward_namespace"):
            raise CliError("--port-forward is not supported by this client; give --server instead", exit_code=1)

    def connection(self, *, need_server: bool = True) -> Connection:
        """Server, token and transport options, layered as upstream: config context < env < flags."""
        server = ""
        token = ""
        insecure = plaintext = grpc_web = core = False
        root_path = ""
        context_name = ""
        client_cert = client_key = ca_file = ""
        cfg = self.local_config()
        if cfg is not None:
            resolved = cfg.resolve(str(self.flag("argocd_context") or ""))
            if resolved is not None:
                context_name = resolved.name
                server = str(resolved.server.get("server") or "")
                insecure = bool(resolved.server.get("insecure"))
                plaintext = bool(resolved.server.get("plain-text"))
                grpc_web = bool(resolved.server.get("grpc-web"))
                root_path = str(resolved.server.get("grpc-web-root-path") or "")
                core = bool(resolved.server.get("core"))
                client_cert = str(resolved.server.get("client-cert-file") or "")
                client_key = str(resolved.server.get("client-cert-key-file") or "")
                token = str(resolved.user.get("auth-token") or "")
        if os.environ.get("ARGOCD_SERVER"):
            server = os.environ["ARGOCD_SERVER"]
        if self.flag("server"):
            server = str(self.flag("server"))
        self.refuse_unsupported(core=core and not self.flag("server"))
        if not server and need_server:
            raise CliError("Argo CD server address unspecified")
        if os.environ.get("ARGOCD_AUTH_TOKEN"):
            token = os.environ["ARGOCD_AUTH_TOKEN"]
        if self.flag("auth_token"):
            token = str(self.flag("auth_token")).strip()
        insecure = insecure or bool(self.flag("insecure"))
        plaintext = plaintext or bool(self.flag("plaintext"))
        grpc_web = grpc_web or bool(self.flag("grpc_web"))
        root_path = str(self.flag("grpc_web_root_path") or root_path)
        client_cert = str(self.flag("client_crt") or client_cert)
        client_key = str(self.flag("client_crt_key") or client_key)
        ca_file = str(self.flag("server_crt") or ca_file)
        return Connection(
            server=server,
            base_url=base_url_for(server, plaintext=plaintext, root_path=root_path) if server else "",
            token=token,
            insecure=insecure,
            plaintext=plaintext,
            headers=self.headers(),
            context_name=context_name,
            client_cert=client_cert,
            client_key=client_key,
            ca_file=ca_file,
            grpc_web=grpc_web,
            grpc_web_root_path=root_path,
        )

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = ApiClient(self.connection())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def prompt(text: str, *, secret: bool = False) -> str:
    """Asks on the terminal; refuses (rather than hanging) when stdin is not a TTY."""
    if not sys.stdin.isatty():
        raise CliError(f"{text.rstrip(': ')} is required and there is no terminal to ask on")
    if secret:
        import getpass

        return getpass.getpass(text)
    return input(text)


def confirm(text: str) -> bool:
    """A ``[y/n]`` question read from stdin (a pipe works too); end of input means no."""
    sys.stdout.write(text)
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line.strip().lower() in {"y", "yes"}
