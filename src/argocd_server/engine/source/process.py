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
import select
import selectors
import signal
import subprocess
import tempfile
import time
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

        out_file = stdout_path.open("wb") if stdout_path else None
        try:
            outcome = _exchange(proc, stdin=stdin, out_file=out_file, max_output=max_output, timeout=timeout)
        finally:
            if out_file is not None:
                out_file.close()
        out_chunks, err_chunks = outcome.out, outcome.err
        timed_out = outcome.timed_out

        stderr = redact(b"".join(err_chunks).decode("utf-8", errors="replace")).strip()
        if timed_out:
            raise DeadlineExceeded(f"{label}: timed out after {timeout:g}s")
        if outcome.overflow:
            raise SourceError(f"{label}: output exceeds the limit of {max_output} bytes")
        if proc.returncode != 0:
            raise SourceError(f"{label} failed (exit {proc.returncode}): {trim(stderr)}")
        return ProcessResult(stdout=b"".join(out_chunks), stderr=stderr)


@dataclass
class _Exchange:
    out: list[bytes]
    err: list[bytes]
    overflow: bool = False
    timed_out: bool = False


_CHUNK = 65536
_ERR_CAP = 1024 * 1024
# After the child exits, how long grandchildren that inherited its pipes may keep them open before we stop reading.
_PIPE_GRACE = 5.0


def _exchange(
    proc: subprocess.Popen[bytes], *, stdin: bytes | None, out_file: IO[bytes] | None, max_output: int, timeout: float
) -> _Exchange:
    """Feed ``stdin`` and collect stdout (into ``out_file`` when given) and stderr until both close, the byte cap is
    passed (the process group is killed) or the deadline (killed too); in this thread, with no helper threads."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    result = _Exchange(out=[], err=[])
    deadline = time.monotonic() + timeout
    stdout_fd, stderr_fd = proc.stdout.fileno(), proc.stderr.fileno()
    stdin_fd = proc.stdin.fileno() if proc.stdin is not None else -1
    sizes = {stdout_fd: 0, stderr_fd: 0}
    pending = memoryview(stdin or b"")
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout_fd, selectors.EVENT_READ)
        selector.register(stderr_fd, selectors.EVENT_READ)
        if proc.stdin is not None:
            if pending:
                os.set_blocking(stdin_fd, False)
                selector.register(stdin_fd, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()
        try:
            while selector.get_map():
                now = time.monotonic()
                if now >= deadline:
                    result.timed_out = True
                    _kill_group(proc)
                    break
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > _PIPE_GRACE:
                    break  # grandchildren hold the pipes; what they write later is not ours to wait for
                for key, _events in selector.select(min(deadline - now, 0.25)):
                    fd = key.fd
                    if fd == stdin_fd:
                        try:
                            written = os.write(fd, pending[: select.PIPE_BUF])
                        except BlockingIOError:
                            written = 0
                        except BrokenPipeError:
                            written = len(pending)  # the tool stopped reading: what it did not take is dropped
                        pending = pending[written:]
                        if not pending and proc.stdin is not None:
                            selector.unregister(fd)
                            proc.stdin.close()
                        continue
                    chunk = os.read(fd, _CHUNK)
                    if not chunk:
                        selector.unregister(fd)
                        continue
                    sizes[fd] += len(chunk)
                    if fd == stderr_fd:
                        if sizes[fd] <= _ERR_CAP:
                            result.err.append(chunk)
                    elif sizes[fd] > max_output:
                        result.overflow = True
                    elif out_file is not None:
                        out_file.write(chunk)
                    else:
                        result.out.append(chunk)
                if result.overflow:
                    _kill_group(proc)
                    break
            remaining = deadline - time.monotonic()
            if not result.timed_out:
                try:
                    proc.wait(timeout=max(remaining, 0.0) if not result.overflow else None)
                except subprocess.TimeoutExpired:
                    result.timed_out = True
                    _kill_group(proc)
            proc.wait()
        finally:
            if proc.returncode is None:  # left by an exception (a full disk under out_file, say)
                _kill_group(proc)
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
    return result


def trim(text: str, limit: int = _STDERR_KEEP) -> str:
    """The tail of a long message, where tools put the actual error."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return "..." + text[-limit:]


def describe_command(args: Sequence[str], redactor: Redactor) -> str:
    return redactor(" ".join(args))
