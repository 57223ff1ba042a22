"""A subset of Go's ``text/template`` for ApplicationSet ``goTemplate: true``.

Supported: text with ``{{ }}`` actions and ``{{-``/``-}}`` trimming, comments, fields and chains (``.a.b``,
``$x.a``, ``(pipeline).a``), variables (``$``, ``$x := ...``, ``$x = ...``), pipelines with ``|``, parenthesised
pipelines, string/raw-string/number/bool/nil/char literals, ``if``/``else if``/``else``, ``with``/``else with``,
``range`` (lists, maps in key order, integers; one or two variables, ``else``, ``break``, ``continue``), the
``missingkey`` option, and the functions of :mod:`.sprig`. Not supported: ``define``, ``template`` and ``block``
(a parse error names them), methods on values, complex numbers. One execution writes at most ``MAX_OUTPUT`` bytes
and runs at most ``MAX_ITERATIONS`` range iterations, limits Go does not have.

Errors read as Go writes them, because ApplicationSet users see them verbatim: parse errors
``template: base:1: function "x" not defined``, execution errors
``template: base:1:3: executing "base" at <.missing>: map has no entry for key "missing"``. The template is always
named ``base``, as the ApplicationSet controller's base template is.

Values follow :mod:`.goformat`: ``None`` is a nil interface (a JSON ``null``), :data:`~.goformat.NO_VALUE` an
invalid value (a missing key), which prints as ``<no value>``.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .goformat import NO_VALUE, StringMap, go_quote, go_sprint, go_type_name

__all__ = [
    "Function",
    "MissingKey",
    "Template",
    "TemplateError",
    "TemplateExecError",
    "TemplateParseError",
    "call_error",
    "is_missing_key_error",
    "parse_options",
    "parse_template",
    "truth",
]

TEMPLATE_NAME = "base"
MAX_OUTPUT = 10 * 1024 * 1024
"""Bytes one execution may write (Go has no limit; a template must not be able to exhaust the server)."""
MAX_ITERATIONS = 1_000_000
"""``range`` iterations one execution may run, for the same reason."""


class TemplateError(Exception):
    """A template that cannot be parsed or executed; ``message`` is Go's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateParseError(TemplateError):
    pass


class TemplateExecError(TemplateError):
    pass


def is_missing_key_error(message: str) -> bool:
    """Upstream isMissingKeyError: the execution failed on a key the data does not have."""
    return "map has no entry for key" in message or "can't evaluate field" in message


class MissingKey(enum.Enum):
    """The ``missingkey`` option: what a missing map key evaluates to."""

    INVALID = "invalid"
    ZERO = "zero"
    ERROR = "error"


def parse_options(options: Sequence[str]) -> MissingKey:
    """``template.Option`` for each of ``goTemplateOptions``; Go panics on anything else, we raise."""
    missing = MissingKey.INVALID
    for option in options:
        if option == "":
            raise TemplateError("empty option string")
        key, sep, value = option.partition("=")
        if not sep or "=" in value or key != "missingkey":
            raise TemplateError(f"unrecognized option: {option}")
        if value in ("invalid", "default"):
            missing = MissingKey.INVALID
        elif value == "zero":
            missing = MissingKey.ZERO
        elif value == "error":
            missing = MissingKey.ERROR
        else:
            raise TemplateError(f"unrecognized option: {option}")
    return missing


# --- lexer ---------------------------------------------------------------------------------------------------------

_SPACE = " \t\r\n"
_OPERAND_STARTS = frozenset({"bool", "charconst", "dot", "field", "ident", "number", "rawstring", "string", "var", "("})
_KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"})


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    pos: int

    def describe(self) -> str:
        """Go's ``item.String``."""
        if self.kind == "eof":
            return "EOF"
        if self.kind == "keyword":
            return f"<{self.value}>"
        if len(self.value) > 10:
            return go_quote(self.value[:10]) + "..."
        return go_quote(self.value)


class _LexError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _is_alnum(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdigit()


def _char_repr(char: str) -> str:
    """Go's ``%#U``."""
    return f"U+{ord(char):04X} '{char}'" if char.isprintable() else f"U+{ord(char):04X}"


def _at_right_delim(src: str, pos: int) -> tuple[bool, bool]:
    if pos + 1 < len(src) and src[pos] in _SPACE and src.startswith("-}}", pos + 1):
        return True, True
    return src.startswith("}}", pos), False


def _lex(src: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    size = len(src)
    while True:
        start = src.find("{{", pos)
        if start < 0:
            if pos < size:
                tokens.append(_Token("text", src[pos:], pos))
            break
        trim_left = src.startswith("{{-", start) and start + 3 < size and src[start + 3] in _SPACE
        text = src[pos:start]
        if trim_left:
            text = text.rstrip(_SPACE)
        if text:
            tokens.append(_Token("text", text, pos))
        inner = start + 2 + (2 if trim_left else 0)
        if src.startswith("/*", inner):
            end = src.find("*/", inner + 2)
            if end < 0:
                raise _LexError("unclosed comment", start)
            after = end + 2
            is_delim, trim = _at_right_delim(src, after)
            if not is_delim:
                raise _LexError("comment ends before closing delimiter", start)
            pos = after + (2 if trim else 0) + 2
            if trim:
                while pos < size and src[pos] in _SPACE:
                    pos += 1
            continue
        tokens.append(_Token("{{", "{{", start))
        pos = _lex_action(src, inner, tokens)
    return tokens


def _lex_action(src: str, pos: int, tokens: list[_Token]) -> int:
    """Tokens of one action starting at ``pos``; returns the position after its closing delimiter."""
    size = len(src)
    depth = 0
    while True:
        is_delim, trim = _at_right_delim(src, pos)
        if is_delim:
            if depth:
                raise _LexError("unclosed left paren", pos)
            delim_pos = pos + (2 if trim else 0)
            tokens.append(_Token("}}", "}}", delim_pos))
            pos = delim_pos + 2
            if trim:
                while pos < size and src[pos] in _SPACE:
                    pos += 1
            return pos
        if pos >= size:
            raise _LexError("unclosed action", pos)
        char = src[pos]
        start = pos
        if char in _SPACE:
            while pos < size and src[pos] in _SPACE:
                pos += 1
            if src.startswith("-}}", pos) and src[pos - 1] in _SPACE:
                pos -= 1  # the last space belongs to the trim marker
                if pos == start:
                    continue
            tokens.append(_Token("space", src[start:pos], start))
            continue
        pos += 1
        if char == "=":
            tokens.append(_Token("=", "=", start))
        elif char == ":":
            if pos >= size or src[pos] != "=":
                raise _LexError("expected :=", start)
            pos += 1
            tokens.append(_Token(":=", ":=", start))
        elif char == "|":
            tokens.append(_Token("|", "|", start))
        elif char == '"':
            while True:
                if pos >= size or src[pos] == "\n":
                    raise _LexError("unterminated quoted string", start)
                if src[pos] == "\\":
                    pos += 1
                    if pos >= size or src[pos] == "\n":
                        raise _LexError("unterminated quoted string", start)
                elif src[pos] == '"':
                    pos += 1
                    break
                pos += 1
            tokens.append(_Token("string", src[start:pos], start))
        elif char == "`":
            end = src.find("`", pos)
            if end < 0:
                raise _LexError("unterminated raw quoted string", start)
            pos = end + 1
            tokens.append(_Token("rawstring", src[start:pos], start))
        elif char == "'":
            while True:
                if pos >= size or src[pos] == "\n":
                    raise _LexError("unterminated character constant", start)
                if src[pos] == "\\":
                    pos += 2
                    continue
                if src[pos] == "'":
                    pos += 1
                    break
                pos += 1
            tokens.append(_Token("charconst", src[start:pos], start))
        elif char == "$":
            pos = _lex_field_or_variable(src, pos, start, "var", tokens)
        elif char == "." and not (pos < size and src[pos].isdigit()):
            pos = _lex_field_or_variable(src, pos, start, "field", tokens)
        elif char in "+-." or char.isdigit():
            pos = _lex_number(src, start, tokens)
        elif _is_alnum(char):
            while pos < size and _is_alnum(src[pos]):
                pos += 1
            word = src[start:pos]
            if not _at_terminator(src, pos):
                raise _LexError(f"bad character {_char_repr(src[pos])}", pos)
            if word in _KEYWORDS:
                tokens.append(_Token("keyword", word, start))
            elif word in ("true", "false"):
                tokens.append(_Token("bool", word, start))
            else:
                tokens.append(_Token("ident", word, start))
        elif char == "(":
            depth += 1
            tokens.append(_Token("(", "(", start))
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _LexError("unexpected right paren", start)
            tokens.append(_Token(")", ")", start))
        elif ord(char) < 0x80 and char.isprintable():
            tokens.append(_Token("char", char, start))
        else:
            raise _LexError(f"unrecognized character in action: {_char_repr(char)}", start)


def _at_terminator(src: str, pos: int) -> bool:
    if pos >= len(src):
        return True
    char = src[pos]
    return char in _SPACE or char in ".,|:()" or src.startswith("}}", pos)


def _lex_field_or_variable(src: str, pos: int, start: int, kind: str, tokens: list[_Token]) -> int:
    if _at_terminator(src, pos):
        tokens.append(_Token("var" if kind == "var" else "dot", src[start:pos], start))
        return pos
    while pos < len(src) and _is_alnum(src[pos]):
        pos += 1
    if not _at_terminator(src, pos):
        raise _LexError(f"bad character {_char_repr(src[pos])}", pos)
    tokens.append(_Token(kind, src[start:pos], start))
    return pos


_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
    r"|0[oO][0-7_]*|0[bB][01_]*"
    r"|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?"
)


def _lex_number(src: str, start: int, tokens: list[_Token]) -> int:
    match = _NUMBER.match(src, start)
    end = match.end() if match else start + 1
    if end < len(src) and _is_alnum(src[end]):
        raise _LexError(f"bad number syntax: {go_quote(src[start : end + 1])}", start)
    tokens.append(_Token("number", src[start:end], start))
    return end


# --- nodes ---------------------------------------------------------------------------------------------------------


@dataclass
class _Node:
    pos: int

    def __str__(self) -> str:  # pragma: no cover - every node overrides it
        return ""


@dataclass
class _Text(_Node):
    text: str


@dataclass
class _Field(_Node):
    ident: list[str]

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass
class _Variable(_Node):
    ident: list[str]

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass
class _Identifier(_Node):
    ident: str

    def __str__(self) -> str:
        return self.ident


@dataclass
class _Dot(_Node):
    def __str__(self) -> str:
        return "."


@dataclass
class _Nil(_Node):
    def __str__(self) -> str:
        return "nil"


@dataclass
class _Bool(_Node):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass
class _Number(_Node):
    text: str
    is_int: bool
    is_float: bool
    int_value: int
    float_value: float

    def __str__(self) -> str:
        return self.text


@dataclass
class _String(_Node):
    quoted: str
    text: str

    def __str__(self) -> str:
        return self.quoted


@dataclass
class _Command(_Node):
    args: list[_Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, _Pipe) else str(a) for a in self.args)


@dataclass
class _Pipe(_Node):
    is_assign: bool = False
    decl: list[_Variable] = field(default_factory=list)
    cmds: list[_Command] = field(default_factory=list)

    def __str__(self) -> str:
        head = ", ".join(str(v) for v in self.decl) + " := " if self.decl else ""
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass
class _Chain(_Node):
    node: _Node
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return base + "".join("." + f for f in self.fields)


@dataclass
class _List(_Node):
    nodes: list[_Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass
class _Action(_Node):
    pipe: _Pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass
class _Branch(_Node):
    keyword: str
    pipe: _Pipe
    body: _List
    else_body: _List | None

    def __str__(self) -> str:
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.body)
        if self.else_body is not None:
            text += "{{else}}" + str(self.else_body)
        return text + "{{end}}"


@dataclass
class _Loop(_Node):
    """``{{break}}`` or ``{{continue}}``."""

    keyword: str

    def __str__(self) -> str:
        return "{{" + self.keyword + "}}"


@dataclass
class _Marker(_Node):
    """``{{end}}`` or ``{{else}}`` while parsing."""

    keyword: str

    def __str__(self) -> str:
        return "{{" + self.keyword + "}}"


# --- parser --------------------------------------------------------------------------------------------------------


def _line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def _unquote(token: _Token) -> str:
    raw = token.value
    if raw.startswith("`"):
        return raw[1:-1]
    body = raw[1:-1]
    out: list[str] = []
    index = 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
    simple["'"] = "'"
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = body[index + 1 : index + 2]
        if nxt in simple:
            out.append(simple[nxt])
            index += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[index + 2 : index + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise TemplateError("invalid syntax")
            out.append(chr(int(digits, 16)))
            index += 2 + width
        elif nxt.isdigit():
            digits = body[index + 1 : index + 4]
            if not re.fullmatch(r"[0-7]{3}", digits):
                raise TemplateError("invalid syntax")
            out.append(chr(int(digits, 8)))
            index += 4
        else:
            raise TemplateError("invalid syntax")
    return "".join(out)


def _number(token: _Token) -> _Number:
    text = token.value
    if token.kind == "charconst":
        value = _unquote(_Token("string", '"' + text[1:-1].replace('"', '\\"') + '"', token.pos))
        if len(value) != 1:
            raise TemplateError(f"malformed character constant: {text}")
        return _Number(token.pos, text, True, True, ord(value), float(ord(value)))
    if text.endswith("i"):
        raise TemplateError(f"illegal number syntax: {go_quote(text)}")
    clean = text.replace("_", "")
    int_value: int | None = None
    float_value: float | None = None
    body = clean.lstrip("+-")
    negative = clean.startswith("-")
    try:
        if re.fullmatch(r"0[0-7]+", body):
            int_value = int(body, 8)
        elif re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+", body):
            int_value = int(body, 0)
        if int_value is not None and negative:
            int_value = -int_value
    except ValueError:
        int_value = None
    if int_value is not None:
        return _Number(token.pos, text, True, True, int_value, float(int_value))
    try:
        float_value = float.fromhex(clean) if body[:2] in ("0x", "0X") else float(clean)
    except ValueError:
        raise TemplateError(f"illegal number syntax: {go_quote(text)}") from None
    is_int = float_value.is_integer() and abs(float_value) < 2**63
    return _Number(token.pos, text, is_int, True, int(float_value) if is_int else 0, float_value)


class _Parser:
    def __init__(self, src: str, functions: Mapping[str, Any]) -> None:
        self.src = src
        self.functions = functions
        try:
            self.tokens = _lex(src)
        except _LexError as exc:
            raise self._error(exc.message, exc.pos) from None
        self.tokens.append(_Token("eof", "", len(src)))
        self.index = 0
        self.vars = ["$"]
        self.range_depth = 0

    def _error(self, message: str, pos: int | None = None) -> TemplateParseError:
        if pos is None:
            pos = self.tokens[min(max(self.index - 1, 0), len(self.tokens) - 1)].pos
        return TemplateParseError(f"template: {TEMPLATE_NAME}:{_line_of(self.src, pos)}: {message}")

    # token stream helpers
    def next(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def peek(self) -> _Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def next_non_space(self) -> _Token:
        token = self.next()
        while token.kind == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> _Token:
        start = self.index
        token = self.next_non_space()
        self.index = start
        return token

    def unexpected(self, token: _Token, context: str) -> TemplateParseError:
        return self._error(f"unexpected {token.describe()} in {context}", token.pos)

    def expect(self, kind: str, context: str) -> _Token:
        token = self.next_non_space()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    # grammar
    def parse(self) -> _List:
        root = _List(0)
        while self.peek().kind != "eof":
            node = self.text_or_action()
            if isinstance(node, _Marker):
                raise self._error(f"unexpected {node}", node.pos)
            root.nodes.append(node)
        return root

    def text_or_action(self) -> _Node:
        token = self.next_non_space()
        if token.kind == "text":
            return _Text(token.pos, token.value)
        if token.kind == "{{":
            return self.action()
        raise self.unexpected(token, "input")

    def action(self) -> _Node:
        token = self.next_non_space()
        if token.kind == "keyword":
            word = token.value
            if word in ("break", "continue"):
                closing = self.next_non_space()
                if closing.kind != "}}":
                    raise self.unexpected(closing, "{{" + word + "}}")
                if not self.range_depth:
                    raise self._error("{{" + word + "}} outside {{range}}", token.pos)
                return _Loop(token.pos, word)
            if word == "else":
                following = self.peek_non_space()
                if following.kind == "keyword" and following.value in ("if", "with"):
                    return _Marker(following.pos, "else")
                return _Marker(self.expect("}}", "else").pos, "else")
            if word == "end":
                return _Marker(self.expect("}}", "end").pos, "end")
            if word in ("if", "range", "with"):
                return self.control(word)
            if word in ("define", "template", "block"):
                raise self._error(f"{{{{{word}}}}} is not supported in ApplicationSet templates", token.pos)
        self.index -= 1
        start = self.peek()
        return _Action(start.pos, self.pipeline("command", "}}"))

    def control(self, keyword: str) -> _Branch:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(keyword, "}}")
            if keyword == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if keyword == "range":
                self.range_depth -= 1
            else_body: _List | None = None
            if nxt.keyword == "else":
                following = self.peek_non_space()
                if keyword in ("if", "with") and following.kind == "keyword" and following.value == keyword:
                    self.next_non_space()
                    else_body = _List(nxt.pos, [self.control(keyword)])
                else:
                    else_body, nxt = self.item_list()
                    if nxt.keyword != "end":
                        raise self._error(f"expected end; found {nxt}", nxt.pos)
            return _Branch(pipe.pos, keyword, pipe, body, else_body)
        finally:
            del self.vars[mark:]

    def item_list(self) -> tuple[_List, _Marker]:
        items = _List(self.peek_non_space().pos)
        while self.peek_non_space().kind != "eof":
            node = self.text_or_action()
            if isinstance(node, _Marker):
                return items, node
            items.nodes.append(node)
        raise self._error("unexpected EOF", len(self.src))

    def pipeline(self, context: str, end: str) -> _Pipe:
        start = self.peek_non_space()
        pipe = _Pipe(start.pos)
        while True:
            variable_index = self.index
            token = self.next_non_space()
            if token.kind != "var":
                self.index = variable_index
                break
            nxt = self.peek_non_space()
            if nxt.kind in ("=", ":="):
                pipe.is_assign = nxt.kind == "="
                self.next_non_space()
                pipe.decl.append(_Variable(token.pos, [token.value]))
                self.vars.append(token.value)
                break
            if nxt.kind == "char" and nxt.value == ",":
                self.next_non_space()
                pipe.decl.append(_Variable(token.pos, [token.value]))
                self.vars.append(token.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in ("var", "}}", ")"):
                        continue
                    raise self._error("range can only initialize variables")
                raise self._error(f"too many declarations in {context}")
            self.index = variable_index
            break
        while True:
            token = self.next_non_space()
            if token.kind == end:
                if not pipe.cmds:
                    raise self._error(f"missing value for {context}", token.pos)
                for stage, cmd in enumerate(pipe.cmds[1:], start=2):
                    if isinstance(cmd.args[0], _Bool | _Dot | _Nil | _Number | _String):
                        raise self._error(f"non executable command in pipeline stage {stage}", token.pos)
                return pipe
            if token.kind in _OPERAND_STARTS or (token.kind == "keyword" and token.value == "nil"):
                self.index -= 1
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind == "space":
                continue
            if token.kind in ("}}", ")"):
                self.index -= 1
            elif token.kind != "|":
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self._error("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            chain = _Chain(self.peek().pos, node)
            while self.peek().kind == "field":
                chain.fields.append(self.next().value[1:])
            if isinstance(node, _Field):
                return _Field(chain.pos, [*node.ident, *chain.fields])
            if isinstance(node, _Variable):
                return _Variable(chain.pos, [*node.ident, *chain.fields])
            if isinstance(node, _Bool | _String | _Number | _Nil | _Dot):
                raise self._error(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> _Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind == "ident":
            if token.value not in self.functions:
                raise self._error(f"function {go_quote(token.value)} not defined", token.pos)
            return _Identifier(token.pos, token.value)
        if kind == "dot":
            return _Dot(token.pos)
        if kind == "keyword" and token.value == "nil":
            return _Nil(token.pos)
        if kind == "var":
            if token.value not in self.vars:
                raise self._error(f"undefined variable {go_quote(token.value)}", token.pos)
            return _Variable(token.pos, [token.value])
        if kind == "field":
            return _Field(token.pos, [token.value[1:]])
        if kind == "bool":
            return _Bool(token.pos, token.value == "true")
        if kind in ("number", "charconst"):
            try:
                return _number(token)
            except TemplateError as exc:
                raise self._error(exc.message, token.pos) from None
        if kind == "(":
            return self.pipeline("parenthesized pipeline", ")")
        if kind in ("string", "rawstring"):
            try:
                return _String(token.pos, token.value, _unquote(token))
            except TemplateError as exc:
                raise self._error(exc.message, token.pos) from None
        self.index -= 1  # like Go's backup: the spaces before the token stay consumed
        return None


@dataclass(frozen=True)
class Template:
    """A parsed template; execute it with :meth:`execute`."""

    source: str
    root: _List

    def execute(self, data: Any, *, missing_key: MissingKey = MissingKey.INVALID) -> str:
        """The text the template writes for ``data``; raises TemplateExecError."""
        from .sprig import FUNCTIONS

        state = _State(source=self.source, missing_key=missing_key, functions=FUNCTIONS)
        state.vars.append(("$", data))
        state.walk(data, self.root)
        return "".join(state.out)


@functools.lru_cache(maxsize=4096)
def parse_template(source: str) -> Template:
    """Parse ``source`` with every supported function defined; raises TemplateParseError."""
    from .sprig import FUNCTIONS

    return Template(source=source, root=_Parser(source, FUNCTIONS).parse())


# --- execution -----------------------------------------------------------------------------------------------------


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _MissingFinal:
    """No value flows in from a previous pipeline stage (Go's ``missingVal``)."""


_NO_FINAL = _MissingFinal()


@dataclass
class _State:
    source: str
    missing_key: MissingKey
    functions: Mapping[str, Any]
    out: list[str] = field(default_factory=list)
    vars: list[tuple[str, Any]] = field(default_factory=list)
    node: _Node | None = None
    size: int = 0
    iterations: int = 0

    # errors
    def error(self, message: str) -> TemplateExecError:
        node = self.node
        if node is None:
            return TemplateExecError(f"template: {TEMPLATE_NAME}: {message}")
        pos = node.pos
        line_start = self.source.rfind("\n", 0, pos) + 1
        column = len(self.source[line_start:pos].encode("utf-8"))
        context = str(node)
        if len(context) > 20:
            context = context[:20] + "..."
        location = f"{TEMPLATE_NAME}:{_line_of(self.source, pos)}:{column}"
        return TemplateExecError(f'template: {location}: executing "{TEMPLATE_NAME}" at <{context}>: {message}')

    # variables
    def var_value(self, name: str) -> Any:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for index in range(len(self.vars) - 1, -1, -1):
            if self.vars[index][0] == name:
                self.vars[index] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    def set_top_var(self, depth: int, value: Any) -> None:
        name, _ = self.vars[len(self.vars) - depth]
        self.vars[len(self.vars) - depth] = (name, value)

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise self.error(f"template output exceeds {MAX_OUTPUT} bytes")
        self.out.append(text)

    # walking
    def walk(self, dot: Any, node: _Node) -> None:
        self.node = node
        if isinstance(node, _Action):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.write(go_sprint(value))
        elif isinstance(node, _Text):
            self.write(node.text)
        elif isinstance(node, _List):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, _Branch):
            if node.keyword == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, _Loop):
            raise _Break() if node.keyword == "break" else _Continue()
        else:  # pragma: no cover - the parser builds nothing else
            raise self.error(f"unknown node: {node}")

    def walk_if_or_with(self, dot: Any, node: _Branch) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if _truth(value):
                self.walk(value if node.keyword == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: _Branch) -> None:
        self.node = node
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            inner_mark = len(self.vars)
            items: Iterable[tuple[Any, Any]]
            if isinstance(value, list):
                items = list(enumerate(value))
            elif isinstance(value, Mapping):
                items = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, int) and not isinstance(value, bool):
                items = ((i, i) for i in range(int(value)))
            elif value is NO_VALUE or value is None:
                items = []
            else:
                self.node = node
                raise self.error(f"range can't iterate over {go_sprint(value)}")
            iterated = False
            for index, element in items:
                iterated = True
                self.iterations += 1
                if self.iterations > MAX_ITERATIONS:
                    self.node = node
                    raise self.error(f"range: more than {MAX_ITERATIONS} iterations")
                pipe = node.pipe
                if pipe.decl:
                    if pipe.is_assign:
                        self.set_var(pipe.decl[0].ident[0], index if len(pipe.decl) > 1 else element)
                    else:
                        self.set_top_var(1, element)
                if len(pipe.decl) > 1:
                    if pipe.is_assign:
                        self.set_var(pipe.decl[1].ident[0], element)
                    else:
                        self.set_top_var(2, index)
                try:
                    self.walk(element, node.body)
                except _Continue:
                    pass
                except _Break:
                    return
                finally:
                    del self.vars[inner_mark:]
            if not iterated and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    # evaluation
    def eval_pipeline(self, dot: Any, pipe: _Pipe) -> Any:
        self.node = pipe
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = NO_VALUE  # Go unwraps a nil interface{} into the invalid value after every stage
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.vars.append((variable.ident[0], value))
        return value

    def not_a_function(self, args: list[_Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: _Command, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, _Field):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, _Chain):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, _Identifier):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, _Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, _Variable):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Bool):
            return first.value
        if isinstance(first, _Dot):
            return dot
        if isinstance(first, _Nil):
            raise self.error("nil is not a command")
        if isinstance(first, _Number):
            return self.ideal_constant(first)
        if isinstance(first, _String):
            return first.text
        raise self.error(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, number: _Number) -> Any:
        self.node = number
        if number.is_float and re.search(r"[.eEpP]", number.text) and not number.text.lower().startswith(("0x", "-0x")):
            return number.float_value
        if number.is_int:
            if not -(2**63) <= number.int_value < 2**63:
                raise self.error(f"{number.text} overflows int")
            return number.int_value
        return number.float_value

    def eval_field_node(self, dot: Any, node: _Field, args: list[_Node], final: Any) -> Any:
        self.node = node
        return self.eval_field_chain(dot, dot, node, node.ident, args, final)

    def eval_chain_node(self, dot: Any, chain: _Chain, args: list[_Node], final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, _Nil):
            raise self.error(f"indirection through explicit nil in {chain}")
        value = self.eval_arg(dot, "any_raw", chain.node)
        return self.eval_field_chain(dot, value, chain, chain.fields, args, final)

    def eval_variable_node(self, dot: Any, variable: _Variable, args: list[_Node], final: Any) -> Any:
        self.node = variable
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_chain(
        self, dot: Any, receiver: Any, node: _Node, ident: list[str], args: list[_Node], final: Any
    ) -> Any:
        in_interface = False
        for index, name in enumerate(ident):
            last = index == len(ident) - 1
            receiver, in_interface = self.eval_field(
                name, receiver, in_interface, args if last else [], final if last else _NO_FINAL
            )
        return receiver

    def eval_field(
        self, name: str, receiver: Any, in_interface: bool, args: list[_Node], final: Any
    ) -> tuple[Any, bool]:
        if receiver is NO_VALUE:
            if self.missing_key is MissingKey.ERROR:
                raise self.error(f"nil data; no entry for key {go_quote(name)}")
            return NO_VALUE, False
        type_name = "interface {}" if in_interface else go_type_name(receiver)
        if receiver is None:
            raise self.error(f"nil pointer evaluating {type_name}.{name}")
        if isinstance(receiver, Mapping):
            if len(args) > 1 or final is not _NO_FINAL:
                raise self.error(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name], not isinstance(receiver, StringMap)
            if self.missing_key is MissingKey.ERROR:
                raise self.error(f"map has no entry for key {go_quote(name)}")
            if self.missing_key is MissingKey.ZERO:
                return ("" if isinstance(receiver, StringMap) else None), not isinstance(receiver, StringMap)
            return NO_VALUE, False
        raise self.error(f"can't evaluate field {name} in type {type_name}")

    def eval_function(self, dot: Any, node: _Identifier, cmd: _Node, args: list[_Node], final: Any) -> Any:
        self.node = node
        function = self.functions.get(node.ident)
        if function is None:
            raise self.error(f"{go_quote(node.ident)} is not a defined function")
        return self.eval_call(dot, function, cmd, node.ident, args, final)

    def eval_call(self, dot: Any, function: Any, cmd: _Node, name: str, args: list[_Node], final: Any) -> Any:
        call_args = args[1:]
        params: tuple[str, ...] = function.params
        variadic: str | None = function.variadic
        count = len(call_args) + (0 if final is _NO_FINAL else 1)
        fixed = len(params)
        if variadic is not None:
            if count < fixed:
                raise self.error(f"wrong number of args for {name}: want at least {fixed} got {len(call_args)}")
        elif count != fixed:
            raise self.error(f"wrong number of args for {name}: want {fixed} got {count}")
        if name in ("and", "or"):
            result: Any = NO_VALUE
            for arg in call_args:
                result = self.eval_arg(dot, "value", arg)
                if _truth(result) == (name == "or"):
                    return result
            if final is not _NO_FINAL:
                result = final
            return result
        values: list[Any] = []
        for index, arg in enumerate(call_args):
            kind = params[index] if index < fixed else variadic
            assert kind is not None
            values.append(self.eval_arg(dot, kind, arg))
        if final is not _NO_FINAL:
            kind = params[count - 1] if count - 1 < fixed else variadic
            assert kind is not None
            values.append(self.validate(final, kind))
        try:
            result = function(*values)
        except _CallError as exc:
            self.node = cmd
            raise self.error(f"error calling {name}: {exc.message}") from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError, re.error) as exc:
            # Go recovers a panicking function into the same error.
            self.node = cmd
            raise self.error(f"error calling {name}: {exc}") from None
        return result

    def validate(self, value: Any, kind: str) -> Any:
        """Go's validateType for one of the parameter kinds of :mod:`.sprig`."""
        if kind in ("value", "any_raw"):
            return value
        if value is NO_VALUE:
            if kind == "any":
                return None
            if kind == "map":
                return {}
            raise self.error(f"invalid value; expected {_KIND_NAMES[kind]}")
        if kind == "any":
            return value
        ok = {
            "string": isinstance(value, str),
            "int": type(value) is int,
            "bool": isinstance(value, bool),
            "float64": isinstance(value, float),
            "map": isinstance(value, dict) and not isinstance(value, StringMap),
        }[kind]
        if not ok:
            raise self.error(f"wrong type for value; expected {_KIND_NAMES[kind]}; got {go_type_name(value)}")
        return value

    def eval_arg(self, dot: Any, kind: str, node: _Node) -> Any:
        self.node = node
        if isinstance(node, _Dot):
            return self.validate(dot, kind)
        if isinstance(node, _Nil):
            if kind in ("any", "any_raw", "map"):
                return None
            if kind == "value":
                return NO_VALUE
            raise self.error(f"cannot assign nil to {_KIND_NAMES[kind]}")
        if isinstance(node, _Field):
            return self.validate(self.eval_field_node(dot, node, [node], _NO_FINAL), kind)
        if isinstance(node, _Variable):
            return self.validate(self.eval_variable_node(dot, node, [], _NO_FINAL), kind)
        if isinstance(node, _Pipe):
            return self.validate(self.eval_pipeline(dot, node), kind)
        if isinstance(node, _Identifier):
            return self.validate(self.eval_function(dot, node, node, [node], _NO_FINAL), kind)
        if isinstance(node, _Chain):
            return self.validate(self.eval_chain_node(dot, node, [], _NO_FINAL), kind)
        if kind == "bool":
            if isinstance(node, _Bool):
                return node.value
            raise self.error(f"expected bool; found {node}")
        if kind == "int":
            if isinstance(node, _Number) and node.is_int:
                return node.int_value
            raise self.error(f"expected integer; found {node}")
        if kind == "float64":
            if isinstance(node, _Number) and node.is_float:
                return node.float_value
            raise self.error(f"expected float; found {node}")
        if kind == "string":
            if isinstance(node, _String):
                return node.text
            raise self.error(f"expected string; found {node}")
        if kind == "map":
            raise self.error(f"can't handle {node} for arg of type map[string]interface {{}}")
        if isinstance(node, _Bool):
            return node.value
        if isinstance(node, _Number):
            return self.ideal_constant(node)
        if isinstance(node, _String):
            return node.text
        raise self.error(f"can't handle assignment of {node} to empty interface argument")


_KIND_NAMES = {
    "string": "string",
    "int": "int",
    "bool": "bool",
    "float64": "float64",
    "map": "map[string]interface {}",
    "any": "interface {}",
    "value": "reflect.Value",
}


class _CallError(Exception):
    """A function failed; the executor reports ``error calling <name>: <message>``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def call_error(message: str) -> Exception:
    """The error a template function raises (exported for :mod:`.sprig`)."""
    return _CallError(message)


def _truth(value: Any) -> bool:
    """Go's isTrue."""
    if value is NO_VALUE or value is None or value is _NO_FINAL:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True


def truth(value: Any) -> bool:
    """Go's isTrue (``if``, ``not``, ``and``, ``or``)."""
    return _truth(value)


@dataclass(frozen=True)
class Function:
    """A template function: parameter kinds (see ``_KIND_NAMES``), an optional variadic kind, the callable."""

    params: tuple[str, ...]
    variadic: str | None
    fn: Callable[..., Any]

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)
