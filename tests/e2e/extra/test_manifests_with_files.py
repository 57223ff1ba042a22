"""GetManifestsWithFiles over REST: wrapper messages carrying a gzipped tarball of a local directory."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from tests.e2e.engine.conftest import Env

APP = "guestbook"
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local-only\ndata:\n  from: disk\n"


def _archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _directory_archive(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(directory, arcname=".")
    return buffer.getvalue()


def _post(env: Env, archive: bytes, **query: Any) -> Any:
    # One wrapper message per line, as grpc-gateway reads a client stream; the archive goes in two chunks.
    half = len(archive) // 2
    messages = [{"query": {"name": APP, **query}}] + [
        {"chunk": {"chunk": base64.b64encode(part).decode()}} for part in (archive[:half], archive[half:])
    ]
    body = "\n".join(json.dumps(m) for m in messages)
    headers = {**env.headers, "Content-Type": "application/json"}
    return env.client.post("/api/v1/applications/manifestsWithFiles", content=body, headers=headers)


def test_local_directory_renders(env: Env, tmp_path: Path) -> None:
    env.create(APP, path="guestbook")
    local = tmp_path / "local"
    local.mkdir()
    (local / "cm.yaml").write_text(CONFIG_MAP)
    archive = _directory_archive(local)
    response = _post(env, archive, checksum=hashlib.sha256(archive).hexdigest())
    assert response.status_code == 200, response.text
    [manifest] = [json.loads(m) for m in response.json()["manifests"]]
    assert manifest["kind"] == "ConfigMap"
    assert manifest["metadata"]["name"] == "local-only"
    assert manifest["data"] == {"from": "disk"}
    # Tracking is set for the app, as GetManifests does.
    assert manifest["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].startswith(f"{APP}:")


def test_traversal_and_bad_checksum_are_refused(env: Env) -> None:
    env.create(APP, path="guestbook")
    escaping = _post(env, _archive({"../evil.yaml": CONFIG_MAP}))
    assert escaping.status_code == 400, escaping.text
    assert "escapes" in escaping.json()["message"]
    absolute = _post(env, _archive({"/etc/evil.yaml": CONFIG_MAP}))
    assert absolute.status_code == 400, absolute.text
    good = _archive({"cm.yaml": CONFIG_MAP})
    mismatch = _post(env, good, checksum="00" * 32)
    assert mismatch.status_code == 400, mismatch.text


def test_symlink_out_of_the_archive_is_refused(env: Env) -> None:
    env.create(APP, path="guestbook")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("cm.yaml")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../etc/passwd"
        tar.addfile(link)
    response = _post(env, buffer.getvalue())
    assert response.status_code == 400, response.text


def test_query_is_required_and_app_hidden(env: Env) -> None:
    env.create(APP, path="guestbook")
    headers = {**env.headers, "Content-Type": "application/json"}
    chunk_only = json.dumps({"chunk": {"chunk": base64.b64encode(b"x").decode()}})
    response = env.client.post("/api/v1/applications/manifestsWithFiles", content=chunk_only, headers=headers)
    assert response.status_code == 400
    missing = env.client.post(
        "/api/v1/applications/manifestsWithFiles", content=json.dumps({"query": {"name": "nope"}}), headers=headers
    )
    assert missing.status_code == 403
