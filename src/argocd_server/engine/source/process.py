"""The one subprocess runner of the sources layer, plus secret redaction.

Every git, helm and kustomize invocation goes through :func:`run`: list arguments (never a shell), a
timeout, an explicit minimal environment (nothing inherited but ``PATH``), a throwaway ``HOME``, a
cap on the bytes read back and its own process group so a timed-out tool's children die with it.
Failures become ``SourceError`` / ``DeadlineExceeded`` with trimmed, redacted stderr; no
``subprocess`` exception type leaves this module.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from argocd_server.errors import DeadlineExceeded, SourceError

_STDERR_KEEP = 2000
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization:\s*)(\S+\s+)?\S+")
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL)


class Redactor:
    """Removes known secrets, URL userinfo, auth headers and PEM blocks from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first so a secret containing another one is removed whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        return Redactor([*self._secrets, *secrets])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "******")
            # Multi-line secrets (keys) may show up line by line in tool output.
            for line in secret.splitlines():
                if len(line.strip()) >= 8:
                    text = text.replace(line.strip(), "******")
        text = _PEM_BLOCK.sub("******", text)
        text = _URL_USERINFO.sub(r"\g<scheme>******@", text)
        return _AUTH_HEADER.sub(r"\1******", text)


def redact_url(url: str) -> str:
    """A URL safe to show: userinfo removed."""
    return _URL_USERINFO.sub(r"\g<scheme>", url)


@dataclass(frozen=True)
class ProcessResult:
    stdout: bytes
    stderr: str


def base_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment every tool gets; the server's own variables (tokens, DB URLs) never
    leak.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GCM_INTERACTIVE": "never",
        "TMPDIR": str(home),
    }
    if extra:
        env.update(extra)
    return env


def _read_capped(stream: IO[bytes], sink: list[bytes], cap: int, overflow: threading.Event) -> None:
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        total += len(chunk)
        if total > cap:
            overflow.set()
            # Keep draining so the child never blocks on a full pipe before it is killed.
            continue
        sink.append(chunk)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    args: Sequence[str],
    *,
    timeout: float,
    max_output: int,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
    stdin: bytes | None = None,
    stdout_path: Path | None = None,
    what: str = "",
) -> ProcessResult:
    """Run ``args`` and return its output, or raise ``SourceError`` / ``DeadlineExceeded``.

    ``stdout_path`` streams stdout into a file instead of memory (archives); the byte cap applies
    either way. ``what`` names the operation in error messages (defaults to the program name).
    """
    redact = redactor or Redactor()
    label = what or Path(args[0]).name
    # A throwaway HOME only for a caller that brings no environment (which names its own HOME).
    with tempfile.TemporaryDirectory(prefix="proc-") if env is None else contextlib.nullcontext("") as scratch:
        run_env = dict(env) if env is not None else base_env(Path(scratch))
        try:
            proc = subprocess.Popen(
                list(args),
                cwd=str(cwd) if cwd else None,
                env=run_env,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise SourceError(f"{label}: cannot start {Path(args[0]).name}: {exc.strerror}") from None

        out_chunks: list[bytes] = []
        err_chunks: list[bytes] = []
        overflow = threading.Event()
        err_overflow = threading.Event()
        out_file = stdout_path.open("wb") if stdout_path else None
        assert proc.stdout is not None
        assert proc.stderr is not None
        if out_file is not None:
            out_thread = threading.Thread(
                target=_copy_capped, args=(proc.stdout, out_file, max_output, overflow), daemon=True
            )
        else:
            out_thread = threading.Thread(
                target=_read_capped,
                args=(proc.stdout, out_chunks, max_output, overflow),
                daemon=True,
            )
        err_thread = threading.Thread(
            target=_read_capped,
            args=(proc.stderr, err_chunks, 1024 * 1024, err_overflow),
            daemon=True,
        )
        out_thread.start()
        err_thread.start()
        timed_out = False
        try:
            if stdin is not None and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        finally:
            # Grandchildren may still hold the pipes open; they share the process group.
            if overflow.is_set() or timed_out:
                _kill_group(proc)
            out_thread.join(timeout=5)
            err_thread.join(timeout=5)
            if out_file is not None:
                out_file.close()
            proc.stdout.close()
            proc.stderr.close()

        stderr = redact(b"".join(err_chunks).decode("utf-8", errors="replace")).strip()
        if timed_out:
            raise DeadlineExceeded(f"{label}: timed out after {timeout:g}s")
        if overflow.is_set():
            raise SourceError(f"{label}: output exceeds the limit of {max_output} bytes")
        if proc.returncode != 0:
            raise SourceError(f"{label} failed (exit {proc.returncode}): {trim(stderr)}")
        return ProcessResult(stdout=b"".join(out_chunks), stderr=stderr)


def _copy_capped(stream: IO[bytes], sink: IO[bytes], cap: int, overflow: threading.Event) -> None:
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        total += len(chunk)
        if total > cap:
            overflow.set()
            continue
        sink.write(chunk)


def trim(text: str, limit: int = _STDERR_KEEP) -> str:
    """The tail of a long message, where tools put the actual error."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return "..." + text[-limit:]


def describe_command(args: Sequence[str], redactor: Redactor) -> str:
    return redactor(" ".join(args))
