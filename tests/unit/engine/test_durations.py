"""Go duration parsing."""

from __future__ import annotations

import pytest

from argocd_server.engine.durations import format_go_duration, parse_go_duration
from argocd_server.errors import InvalidArgument


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("3m0s", 180.0),
        ("3m", 180.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("300ms", 0.3),
        ("2us", 2e-6),
        ("10", 10.0),
        ("0", 0.0),
        ("-5s", -5.0),
        (7, 7.0),
    ],
)
def test_parse_go_duration(text: str | int, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "5x", "1h-3m", "abc", "1.2.3s"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_go_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(180, "3m0s"), (5, "5s"), (3600, "1h0m0s"), (0, "0s"), (0.5, "500ms")])
def test_format_go_duration(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text
