"""Helpers shared by the command modules: declaring commands, parsing Go-style values, small formatting bits."""

from __future__ import annotations

import argparse
import base64
import json
import re
from typing import Any

from argocd_server.cli.errors import UsageError
from argocd_server.cli.parser import ArgParser, Handler

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def group(
    sub: argparse._SubParsersAction[ArgParser],
    common: ArgParser,
    name: str,
    help_text: str,
    *,
    aliases: tuple[str, ...] = (),
) -> tuple[ArgParser, argparse._SubParsersAction[ArgParser]]:
    """A command group; invoked bare it prints its help."""
    parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common], aliases=list(aliases))
    parser.set_defaults(handler=None, group_parser=parser)
    children = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=ArgParser)
    return parser, children


def command(
    sub: argparse._SubParsersAction[ArgParser],
    common: ArgParser,
    name: str,
    help_text: str,
    handler: Handler,
    *,
    aliases: tuple[str, ...] = (),
) -> ArgParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common], aliases=list(aliases))
    parser.set_defaults(handler=handler)
    return parser


def add_output(parser: ArgParser, choices: str, default: str = "") -> None:
    parser.add_argument("-o", "--output", default=default, help=f"output format: {choices}")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``90s``, ``1h30m``, ``24h``); a bare number counts as seconds."""
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    body = value.lstrip("+-")
    sign = -1.0 if value.startswith("-") else 1.0
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise UsageError(f'time: invalid duration "{text}"')
    return sign * total


def key_values(items: list[str] | None, flag: str) -> dict[str, str]:
    """``k=v`` arguments of a repeated flag as a mapping."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"{flag}: expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def jwt_claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT (for display only)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def items_of(answer: Any) -> list[dict[str, Any]]:
    """The ``items`` of a list answer; ``null`` and missing both read as empty."""
    if isinstance(answer, dict):
        items = answer.get("items") or []
        return [i for i in items if isinstance(i, dict)]
    return []


def csv_join(values: Any, sep: str = ",") -> str:
    return sep.join(str(v) for v in (values or []))
