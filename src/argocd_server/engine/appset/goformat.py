"""Go's view of ApplicationSet parameter values: types, ``fmt`` printing, ``strconv.Quote``, JSON and YAML text.

Parameters reach templates as decoded JSON, which Go holds as ``map[string]interface{}``, ``[]interface{}``,
``string``, ``float64``, ``bool`` and ``nil``; a few generator outputs are typed more narrowly (``[]string`` path
segments, ``map[string]string`` cluster labels). Python values stand for those Go values here: ``dict`` and
``list`` for the open types, :class:`StringMap` and :class:`StringList` for the narrow ones, ``float`` for every
JSON number (see :func:`go_json_value`), ``int`` for Go ``int`` (template literals, ``len``) and :class:`Int64` for
the ``int64`` results of Sprig's arithmetic. :data:`NO_VALUE` is Go's invalid ``reflect.Value`` (a missing map key).

Everything here is pure text formatting with the exact spelling Go produces (``1e+06``, ``map[a:1]``, ``<nil>``),
because that spelling ends up in application names and error messages.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from argocd_server.yamlload import GoYamlLoader

__all__ = [
    "NO_VALUE",
    "Int64",
    "NoValue",
    "StringList",
    "StringMap",
    "go_format_float",
    "go_json_dumps",
    "go_json_value",
    "go_quote",
    "go_sprint",
    "go_type_name",
    "go_yaml_dumps",
    "load_yaml",
]


class NoValue:
    """Go's invalid ``reflect.Value``: what a missing map key evaluates to; printed as ``<no value>``."""

    _instance: NoValue | None = None

    def __new__(cls) -> NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE = NoValue()


class StringMap(dict[str, str]):
    """A Go ``map[string]string`` (cluster labels and annotations, generator ``values``)."""


class StringList(list[str]):
    """A Go ``[]string`` (git path segments): printed and flattened as one value, not element by element."""


class Int64(int):
    """A Go ``int64`` (Sprig arithmetic results): prints like an int but is not assignable to ``int`` parameters."""


def json_kind(value: Any) -> str:
    """The JSON kind Go's ``encoding/json`` names in "cannot unmarshal <kind> into ..." errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def go_type_name(value: Any) -> str:
    """The Go type of ``value`` as ``reflect.Type.String`` spells it."""
    if value is None:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, StringMap):
        return "map[string]string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, StringList):
        return "[]string"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip ``value`` (> 0) and the decimal point position."""
    _sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    assert isinstance(exponent, int)
    return text, len(text) + exponent


def _exponent_form(digits: str, point: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fixed_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_format_float(value: float) -> str:
    """``fmt.Sprint`` of a float64 (``%v``): shortest digits, exponent form below 1e-4 and from 1e+06 on."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    exp = point - 1
    if exp < -4 or exp >= 6:
        return sign + _exponent_form(digits, point)
    return sign + _fixed_form(digits, point)


def _json_float(value: float) -> str:
    """encoding/json's float64: fixed notation between 1e-6 and 1e21, else exponent (``1e+21``, ``1e-7``)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {go_format_float(value)}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        exp = point - 1
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp)}"
    return sign + _fixed_form(digits, point)


def go_sprint(value: Any) -> str:
    """``fmt.Sprint`` of one value (``%v``)."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return go_format_float(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_sprint(k)}:{go_sprint(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


_QUOTE_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(text: str, *, quote: str = '"') -> str:
    """``strconv.Quote``: Go escapes, printable Unicode kept as is."""
    out = [quote]
    for char in text:
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif char in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif char.isprintable() or char == " ":
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append(quote)
    return "".join(out)


def _json_string(text: str, *, escape_html: bool) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or (escape_html and char in "<>&") or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def go_json_dumps(value: Any, *, indent: str = "", escape_html: bool = True) -> str:
    """``json.Marshal`` (or ``MarshalIndent`` with ``indent``): sorted map keys, Go's number and HTML escaping."""

    def encode(item: Any, depth: int) -> str:
        if item is None or item is NO_VALUE:
            return "null"
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int):
            return str(int(item))
        if isinstance(item, float):
            return _json_float(item)
        if isinstance(item, str):
            return _json_string(item, escape_html=escape_html)
        if isinstance(item, Mapping):
            if not item:
                return "{}"
            parts = [
                _json_string(str(k), escape_html=escape_html) + (": " if indent else ":") + encode(item[k], depth + 1)
                for k in sorted(item, key=str)
            ]
            return _join("{", parts, "}", depth)
        if isinstance(item, list | tuple):
            if not item:
                return "[]"
            return _join("[", [encode(v, depth + 1) for v in item], "]", depth)
        return _json_string(str(item), escape_html=escape_html)

    def _join(open_: str, parts: list[str], close: str, depth: int) -> str:
        if not indent:
            return open_ + ",".join(parts) + close
        inner = "\n" + indent * (depth + 1)
        return open_ + inner + ("," + inner).join(parts) + "\n" + indent * depth + close

    return encode(value, 0)


def _plain_numbers(value: Any) -> Any:
    """Integral floats as ints, so YAML shows ``3`` where Go's encoder writes ``3``."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, str | int | float):
        return value
    return str(value)


def go_yaml_dumps(value: Any) -> str:
    """``sigs.k8s.io/yaml.Marshal``: block style, sorted keys, sequences flush with their key."""
    if value is None or value is NO_VALUE:
        return "null\n"
    return yaml.safe_dump(_plain_numbers(value), default_flow_style=False, sort_keys=True, width=1 << 30)


def load_yaml(text: str) -> Any:
    """The first document of a YAML (or JSON) text as Go's ``sigs.k8s.io/yaml`` decodes it (see go_json_value).

    Raises ``yaml.YAMLError`` on malformed input.
    """
    for document in yaml.load_all(text, Loader=GoYamlLoader):
        return go_json_value(document)
    return None


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return go_format_float(key)
    return str(key)


def go_json_value(value: Any) -> Any:
    """``value`` as Go holds decoded JSON: every number a float64, map keys strings, no other types."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {_key(k): go_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [go_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return json.loads(json.dumps(value, default=str))
