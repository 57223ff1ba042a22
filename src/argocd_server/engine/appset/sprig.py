"""The functions ApplicationSet Go templates may call: Go's builtins, a Sprig subset and Argo CD's additions.

Go builtins: ``and or not len index print printf println eq ne lt le gt ge``.
Sprig: ``default empty coalesce ternary fail``; strings ``lower upper title trim trimAll trimPrefix trimSuffix
nospace trunc substr repeat replace contains hasPrefix hasSuffix quote squote cat indent nindent split splitList
join sortAlpha toString toStrings``; regular expressions ``regexMatch regexFind regexFindAll regexReplaceAll
regexReplaceAllLiteral regexSplit``; encodings ``b64enc b64dec sha1sum sha256sum toJson toPrettyJson toRawJson
fromJson``; numbers ``int int64 float64 atoi add add1 sub mul div mod max min``; collections ``list dict get set
unset hasKey keys dig first last rest initial append prepend uniq compact has``.
Argo CD: ``normalize slugify toYaml fromYaml fromYamlArray``. Upstream removes ``env``, ``expandenv`` and
``getHostByName``; functions that read the clock or randomness (``now``, ``date``, ``uuidv4``, ``rand*``) are left
out so generation stays deterministic. A template calling anything else fails to parse
(``function "x" not defined``), as it would upstream for an unknown name.

Parameter kinds mirror the Go signatures, so type mismatches fail as Go's do
(``wrong type for value; expected string; got float64``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from .goformat import (
    NO_VALUE,
    Int64,
    StringList,
    StringMap,
    go_json_dumps,
    go_json_value,
    go_quote,
    go_sprint,
    go_type_name,
    go_yaml_dumps,
    load_yaml,
)
from .gotemplate import MAX_OUTPUT, Function, call_error, truth
from .names import sanitize_name, slugify_name

__all__ = ["FUNCTIONS", "go_sprintf"]


# --- Go builtins ---------------------------------------------------------------------------------------------------


def _basic_kind(value: Any) -> str:
    if value is NO_VALUE or value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise call_error("missing argument for comparison")
    kind = _basic_kind(first)
    for other in others:
        other_kind = _basic_kind(other)
        if kind != other_kind:
            if kind != "invalid" and other_kind != "invalid":
                raise call_error("incompatible types for comparison")
            continue
        if kind in ("bool", "int", "float", "string"):
            if first == other:
                return True
        elif kind == "invalid":
            return True
        else:
            raise call_error(f"non-comparable type {go_sprint(other)}: {go_type_name(other)}")
    return False


def _lt(first: Any, second: Any) -> bool:
    kinds = (_basic_kind(first), _basic_kind(second))
    if "invalid" in kinds or "other" in kinds:
        raise call_error("invalid type for comparison")
    if kinds[0] != kinds[1]:
        raise call_error("incompatible types for comparison")
    if kinds[0] == "bool":
        raise call_error("invalid type for comparison")
    return bool(first < second)


def _len(value: Any) -> int:
    if value is NO_VALUE:
        raise call_error("reflect: call of reflect.Value.Type on zero Value")
    if value is None:
        raise call_error("len of nil pointer")
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, list | dict):
        return len(value)
    raise call_error(f"len of type {go_type_name(value)}")


def _index(item: Any, *indexes: Any) -> Any:
    if item is NO_VALUE or item is None:
        raise call_error("index of untyped nil")
    for index in indexes:
        if item is None:
            raise call_error("index of nil pointer")
        if isinstance(item, list | str):
            if index is NO_VALUE or index is None:
                raise call_error("cannot index slice/array with nil")
            if isinstance(index, bool) or not isinstance(index, int):
                raise call_error(f"cannot index slice/array with type {go_type_name(index)}")
            size = len(item.encode("utf-8")) if isinstance(item, str) else len(item)
            if index < 0 or index > size:
                raise call_error(f"index out of range: {index}")
            if index == size:
                raise call_error(f"reflect: {'string' if isinstance(item, str) else 'slice'} index out of range")
            item = item.encode("utf-8")[index] if isinstance(item, str) else item[index]
        elif isinstance(item, Mapping):
            if index is NO_VALUE or index is None:
                raise call_error("value is nil; should be of type string")
            if not isinstance(index, str):
                raise call_error(f"value has type {go_type_name(index)}; should be string")
            item = item.get(index, "" if isinstance(item, StringMap) else None)
        else:
            raise call_error(f"can't index item of type {go_type_name(item)}")
    return item


def _print(*args: Any) -> str:
    out: list[str] = []
    previous_string = False
    for number, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if number > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append(go_sprint(arg))
        previous_string = is_string
    return "".join(out)


def _println(*args: Any) -> str:
    return " ".join(go_sprint(a) for a in args) + "\n"


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d*|\*))?([a-zA-Z%])")


def go_sprintf(template: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the common verbs (``v s d q t f e g x X o b c``) with flags, width and precision."""
    out: list[str] = []
    position = 0
    used = 0
    for match in _VERB.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        flags, width_text, precision_text, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        precision: int | None = None
        if width_text == "*":
            width = int(args[used]) if used < len(args) and isinstance(args[used], int) else None
            used += 1
        elif width_text:
            width = int(width_text)
        if precision_text == "*":
            precision = int(args[used]) if used < len(args) and isinstance(args[used], int) else None
            used += 1
        elif precision_text is not None:
            precision = int(precision_text or "0")
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        out.append(_pad(_format_one(verb, arg, flags, precision), width, flags, numeric=verb in "dfFeEgGxXob"))
    out.append(template[position:])
    if used < len(args):
        extra = ", ".join(f"{go_type_name(a)}={go_sprint(a)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _bad_verb(verb: str, arg: Any) -> str:
    if arg is None or arg is NO_VALUE:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(arg)}={go_sprint(arg)})"


def _format_one(verb: str, arg: Any, flags: str, precision: int | None) -> str:
    if verb == "v":
        return go_sprint(arg)
    if verb == "s":
        if isinstance(arg, str):
            return arg if precision is None else arg[:precision]
        if isinstance(arg, list | dict):
            return go_sprint(arg)
        return _bad_verb(verb, arg)
    if verb == "q":
        if isinstance(arg, str):
            return go_quote(arg)
        if isinstance(arg, int) and not isinstance(arg, bool):
            return go_quote(chr(arg), quote="'")
        return _bad_verb(verb, arg)
    if verb == "t":
        return ("true" if arg else "false") if isinstance(arg, bool) else _bad_verb(verb, arg)
    if verb == "c":
        return chr(arg) if isinstance(arg, int) and not isinstance(arg, bool) else _bad_verb(verb, arg)
    if verb in "dxXob":
        if isinstance(arg, int) and not isinstance(arg, bool):
            spec = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
            text = format(abs(arg), spec)
            if "#" in flags and verb in "xX":
                text = ("0x" if verb == "x" else "0X") + text
            sign = "-" if arg < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
            return sign + text
        if verb in "xX" and isinstance(arg, str):
            text = arg.encode("utf-8").hex()
            return text.upper() if verb == "X" else text
        return _bad_verb(verb, arg)
    if verb in "fFeEgG":
        if isinstance(arg, float):
            if verb in "gG" and precision is None:
                return go_sprint(arg) if verb == "g" else go_sprint(arg).upper()
            text = format(arg, f"{'+' if '+' in flags else ''}.{6 if precision is None else precision}{verb}")
            return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", text)
        return _bad_verb(verb, arg)
    return _bad_verb(verb, arg)


def _pad(text: str, width: int | None, flags: str, *, numeric: bool) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in "+- " else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


# --- Sprig ---------------------------------------------------------------------------------------------------------


def _strval(value: Any) -> str:
    if value is NO_VALUE:
        return "<nil>"
    return go_sprint(value)


def _empty(value: Any) -> bool:
    if value is None or value is NO_VALUE:
        return True
    if isinstance(value, str | list | dict):
        return len(value) == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    return False


def _default(default: Any, *given: Any) -> Any:
    if not given or _empty(given[0]):
        return default
    return given[0]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not _empty(value):
            return value
    return None


def _fail(message: str) -> str:
    raise call_error(message)


def _title(text: str) -> str:
    out: list[str] = []
    previous = " "
    for char in text:
        separator = not (previous.isalnum() or previous == "_")
        out.append(char.upper() if separator else char)
        previous = char
    return "".join(out)


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise call_error("strings: negative Repeat count")
    if count * len(text) > MAX_OUTPUT:
        raise call_error("strings: Repeat output length overflow")
    return text * count


def _quote(*values: Any, mark: str = '"') -> str:
    quoted = []
    for value in values:
        if value is None or value is NO_VALUE:
            continue
        text = _strval(value)
        quoted.append(go_quote(text) if mark == '"' else f"'{text}'")
    return " ".join(quoted)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _strslice(value: Any) -> list[str]:
    if value is None or value is NO_VALUE:
        return []
    if isinstance(value, list):
        return [_strval(v) for v in value if v is not None]
    return [_strval(value)]


def _to_int64(value: Any) -> int:
    """spf13/cast ToInt64: numbers truncated, numeric strings parsed (base prefixes allowed), else 0."""
    if value is None or value is NO_VALUE:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if abs(value) < 2**63 else 0
    if isinstance(value, str):
        text = re.sub(r"\.0*$", "", value.strip()) if re.fullmatch(r"[+-]?\d+\.0*", value.strip()) else value
        try:
            return int(text, 0) if not re.fullmatch(r"[+-]?0\d+", text) else int(text, 8)
        except ValueError:
            return 0
    return 0


def _to_float(value: Any) -> float:
    if value is None or value is NO_VALUE:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _go_div(a: int, b: int) -> int:
    if b == 0:
        raise call_error("runtime error: integer divide by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def _add(*values: Any) -> Int64:
    return Int64(sum(_to_int64(v) for v in values))


def _mul(first: Any, *values: Any) -> Int64:
    result = _to_int64(first)
    for value in values:
        result *= _to_int64(value)
    return Int64(result)


def _max(first: Any, *values: Any) -> Int64:
    return Int64(max([_to_int64(first), *(_to_int64(v) for v in values)]))


def _min(first: Any, *values: Any) -> Int64:
    return Int64(min([_to_int64(first), *(_to_int64(v) for v in values)]))


def _atoi(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        return 0


def _dict(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index in range(0, len(values), 2):
        key = _strval(values[index])
        out[key] = values[index + 1] if index + 1 < len(values) else ""
    return out


def _get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


def _set(mapping: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    mapping[key] = value
    return mapping


def _unset(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    mapping.pop(key, None)
    return mapping


def _keys(*mappings: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for mapping in mappings:
        out.extend(sorted(mapping))
    return out


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise call_error("dig needs at least three arguments")
    *keys, default, mapping = args
    current = mapping
    for key in keys:
        if not isinstance(key, str):
            raise call_error(f"interface conversion: interface {{}} is {go_type_name(key)}, not string")
        if not isinstance(current, Mapping):
            raise call_error(
                f"interface conversion: interface {{}} is {go_type_name(current)}, not map[string]interface {{}}"
            )
        if key not in current:
            return default
        current = current[key]
    return current


def _kind_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map"
    return go_type_name(value)


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None or value is NO_VALUE:
        raise call_error("runtime error: invalid memory address or nil pointer dereference")
    if not isinstance(value, list):
        raise call_error(f"Cannot {what} on type {_kind_name(value)}")
    return list(value)


def _first(value: Any) -> Any:
    items = _as_list(value, "find first")
    return items[0] if items else None


def _last(value: Any) -> Any:
    items = _as_list(value, "find last")
    return items[-1] if items else None


def _rest(value: Any) -> Any:
    items = _as_list(value, "find rest")
    return items[1:] if items else None


def _initial(value: Any) -> Any:
    items = _as_list(value, "find initial")
    return items[:-1] if items else None


def _append(value: Any, item: Any) -> list[Any]:
    return [*_as_list(value, "push"), item]


def _prepend(value: Any, item: Any) -> list[Any]:
    return [item, *_as_list(value, "prepend")]


def _uniq(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _as_list(value, "uniq"):
        if item not in out:
            out.append(item)
    return out


def _compact(value: Any) -> list[Any]:
    return [item for item in _as_list(value, "compact") if not _empty(item)]


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None or haystack is NO_VALUE:
        return False
    if not isinstance(haystack, list):
        raise call_error(f"Cannot find has on type {_kind_name(haystack)}")
    return needle in haystack


def _sort_alpha(value: Any) -> list[str]:
    if isinstance(value, list):
        return sorted(_strslice(value))
    return [_strval(value)]


def _go_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern.replace(r"\z", r"\Z"))
    except re.error as exc:
        raise call_error(f"regexp: Compile({go_quote(pattern)}): {exc}") from None


def _regex_match(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern.replace(r"\z", r"\Z"), text) is not None
    except re.error:
        return False


def _regex_find(pattern: str, text: str) -> str:
    match = _go_regex(pattern).search(text)
    return match.group(0) if match else ""


def _regex_find_all(pattern: str, text: str, count: int) -> list[str]:
    found = [m.group(0) for m in _go_regex(pattern).finditer(text)]
    return found if count < 0 else found[:count]


_EXPAND = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _regex_replace_all(pattern: str, text: str, replacement: str) -> str:
    regex = _go_regex(pattern)

    def expand(match: re.Match[str]) -> str:
        def group(ref: re.Match[str]) -> str:
            if ref.group(0) == "$$":
                return "$"
            name = ref.group(1) or ref.group(2)
            try:
                value = match.group(int(name)) if name.isdigit() else match.group(name)
            except IndexError:
                return ""  # Go expands an unknown group to nothing
            return value or ""

        return _EXPAND.sub(group, replacement)

    return regex.sub(expand, text)


def _regex_replace_literal(pattern: str, text: str, replacement: str) -> str:
    return _go_regex(pattern).sub(lambda _m: replacement, text)


def _regex_split(pattern: str, text: str, count: int) -> list[str]:
    if count == 0:
        return []
    parts = _go_regex(pattern).split(text, maxsplit=0 if count < 0 else count - 1)
    return [p for p in parts if p is not None]


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text.encode(), validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return "illegal base64 data at input byte 0"


def _from_json(text: str) -> Any:
    try:
        return go_json_value(json.loads(text))
    except ValueError:
        return None


def _to_yaml(value: Any) -> str:
    return go_yaml_dumps(value).removesuffix("\n")


def _from_yaml(text: str) -> dict[str, Any]:
    try:
        value = load_yaml(text)
    except yaml.YAMLError as exc:
        raise call_error(f"error converting YAML to JSON: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise call_error(_unmarshal_message(value, "map[string]interface {}"))
    return value


def _from_yaml_array(text: str) -> list[Any]:
    try:
        value = load_yaml(text)
    except yaml.YAMLError as exc:
        raise call_error(f"error converting YAML to JSON: {exc}") from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise call_error(_unmarshal_message(value, "[]interface {}"))
    return value


def _unmarshal_message(value: Any, target: str) -> str:
    kind = {dict: "object", list: "array", str: "string", bool: "bool", float: "number"}.get(type(value), "value")
    return f"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type {target}"


def _slugify(*args: Any) -> str:
    max_size, smart, name = 50, True, ""
    for index, arg in enumerate(args):
        if index == len(args) - 1:
            if not isinstance(arg, str):
                raise call_error(f"interface conversion: interface {{}} is {go_type_name(arg)}, not string")
            name = arg
        elif index == 0:
            if type(arg) is not int:
                raise call_error(f"interface conversion: interface {{}} is {go_type_name(arg)}, not int")
            max_size = arg
        elif index == 1:
            if not isinstance(arg, bool):
                raise call_error(f"interface conversion: interface {{}} is {go_type_name(arg)}, not bool")
            smart = arg
    return slugify_name(name, max_size=max_size, smart_truncate=smart)


def _fn(params: tuple[str, ...], fn: Callable[..., Any], variadic: str | None = None) -> Function:
    return Function(params=params, variadic=variadic, fn=fn)


_S = ("string",)
_SS = ("string", "string")

FUNCTIONS: dict[str, Function] = {
    # Go builtins
    "and": _fn(("value",), lambda *a: a[-1], "value"),
    "or": _fn(("value",), lambda *a: a[-1], "value"),
    "not": _fn(("value",), lambda v: not truth(v)),
    "len": _fn(("value",), _len),
    "index": _fn(("value",), _index, "value"),
    "print": _fn((), _print, "any"),
    "printf": _fn(("string",), lambda f, *a: go_sprintf(f, list(a)), "any"),
    "println": _fn((), _println, "any"),
    "eq": _fn(("value",), _eq, "value"),
    "ne": _fn(("value", "value"), lambda a, b: not _eq(a, b)),
    "lt": _fn(("value", "value"), _lt),
    "le": _fn(("value", "value"), lambda a, b: _lt(a, b) or _eq(a, b)),
    "gt": _fn(("value", "value"), lambda a, b: not (_lt(a, b) or _eq(a, b))),
    "ge": _fn(("value", "value"), lambda a, b: not _lt(a, b)),
    # Sprig: defaults and flow
    "default": _fn(("any",), _default, "any"),
    "empty": _fn(("any",), _empty),
    "coalesce": _fn((), _coalesce, "any"),
    "ternary": _fn(("any", "any", "bool"), lambda vt, vf, cond: vt if cond else vf),
    "fail": _fn(_S, _fail),
    # strings
    "lower": _fn(_S, str.lower),
    "upper": _fn(_S, str.upper),
    "title": _fn(_S, _title),
    "trim": _fn(_S, lambda s: s.strip()),
    "trimAll": _fn(_SS, lambda cut, s: s.strip(cut)),
    "trimPrefix": _fn(_SS, lambda prefix, s: s.removeprefix(prefix)),
    "trimSuffix": _fn(_SS, lambda suffix, s: s.removesuffix(suffix)),
    "nospace": _fn(_S, lambda s: "".join(s.split())),
    "trunc": _fn(("int", "string"), _trunc),
    "substr": _fn(("int", "int", "string"), _substr),
    "repeat": _fn(("int", "string"), _repeat),
    "replace": _fn(("string", "string", "string"), lambda old, new, s: s.replace(old, new)),
    "contains": _fn(_SS, lambda sub, s: sub in s),
    "hasPrefix": _fn(_SS, lambda prefix, s: s.startswith(prefix)),
    "hasSuffix": _fn(_SS, lambda suffix, s: s.endswith(suffix)),
    "quote": _fn((), _quote, "any"),
    "squote": _fn((), lambda *v: _quote(*v, mark="'"), "any"),
    "cat": _fn((), lambda *v: " ".join(_strval(x) for x in v if x is not None and x is not NO_VALUE), "any"),
    "indent": _fn(("int", "string"), _indent),
    "nindent": _fn(("int", "string"), lambda n, s: "\n" + _indent(n, s)),
    "split": _fn(_SS, lambda sep, s: StringMap({f"_{i}": p for i, p in enumerate(s.split(sep))})),
    "splitList": _fn(_SS, lambda sep, s: StringList(s.split(sep))),
    "join": _fn(("string", "any"), lambda sep, v: sep.join(_strslice(v))),
    "sortAlpha": _fn(("any",), _sort_alpha),
    "toString": _fn(("any",), _strval),
    "toStrings": _fn(("any",), lambda v: StringList(_strval(x) for x in v) if isinstance(v, list) else StringList()),
    # regular expressions
    "regexMatch": _fn(_SS, _regex_match),
    "regexFind": _fn(_SS, _regex_find),
    "regexFindAll": _fn(("string", "string", "int"), _regex_find_all),
    "regexReplaceAll": _fn(("string", "string", "string"), _regex_replace_all),
    "regexReplaceAllLiteral": _fn(("string", "string", "string"), _regex_replace_literal),
    "regexSplit": _fn(("string", "string", "int"), _regex_split),
    # encodings
    "b64enc": _fn(_S, lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": _fn(_S, _b64dec),
    "sha1sum": _fn(_S, lambda s: hashlib.sha1(s.encode()).hexdigest()),  # noqa: S324 - a template function, not security
    "sha256sum": _fn(_S, lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "toJson": _fn(("any",), go_json_dumps),
    "toPrettyJson": _fn(("any",), lambda v: go_json_dumps(v, indent="  ")),
    "toRawJson": _fn(("any",), lambda v: go_json_dumps(v, escape_html=False)),
    "fromJson": _fn(_S, _from_json),
    # numbers
    "int": _fn(("any",), _to_int64),
    "int64": _fn(("any",), lambda v: Int64(_to_int64(v))),
    "float64": _fn(("any",), _to_float),
    "atoi": _fn(_S, _atoi),
    "add": _fn((), _add, "any"),
    "add1": _fn(("any",), lambda v: Int64(_to_int64(v) + 1)),
    "sub": _fn(("any", "any"), lambda a, b: Int64(_to_int64(a) - _to_int64(b))),
    "mul": _fn(("any",), _mul, "any"),
    "div": _fn(("any", "any"), lambda a, b: Int64(_go_div(_to_int64(a), _to_int64(b)))),
    "mod": _fn(
        ("any", "any"),
        lambda a, b: Int64(_to_int64(a) - _to_int64(b) * _go_div(_to_int64(a), _to_int64(b))),
    ),
    "max": _fn(("any",), _max, "any"),
    "min": _fn(("any",), _min, "any"),
    # collections
    "list": _fn((), lambda *v: [None if x is NO_VALUE else x for x in v], "any"),
    "dict": _fn((), _dict, "any"),
    "get": _fn(("map", "string"), _get),
    "set": _fn(("map", "string", "any"), _set),
    "unset": _fn(("map", "string"), _unset),
    "hasKey": _fn(("map", "string"), lambda m, k: k in m),
    "keys": _fn((), _keys, "map"),
    "dig": _fn((), _dig, "any"),
    "first": _fn(("any",), _first),
    "last": _fn(("any",), _last),
    "rest": _fn(("any",), _rest),
    "initial": _fn(("any",), _initial),
    "append": _fn(("any", "any"), _append),
    "push": _fn(("any", "any"), _append),
    "prepend": _fn(("any", "any"), _prepend),
    "uniq": _fn(("any",), _uniq),
    "compact": _fn(("any",), _compact),
    "has": _fn(("any", "any"), _has),
    # Argo CD
    "normalize": _fn(_S, sanitize_name),
    "slugify": _fn((), _slugify, "any"),
    "toYaml": _fn(("any",), _to_yaml),
    "fromYaml": _fn(_S, _from_yaml),
    "fromYamlArray": _fn(_S, _from_yaml_array),
}
