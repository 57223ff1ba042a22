"""A small OCI registry over local HTTP for tests: enough of the OCI Distribution API that the real ``helm push`` and
``helm pull`` work against it, served from a thread on 127.0.0.1 port 0.

Implemented: ``GET /v2/``; ``GET .../tags/list`` with ``n``/``last`` pagination and a ``Link`` header (the server can
also force a page size, as large registries do); manifests ``GET``/``HEAD``/``PUT`` by tag or digest; blobs
``GET``/``HEAD``; uploads ``POST`` (monolithic with ``?digest=``, or a session), ``PATCH`` (chunks), ``PUT`` (final).
Optional authentication: HTTP Basic, or the Bearer token flow with a token service at ``/token`` that checks the
same username and password. Contents live in memory; ``push_artifact`` stores a manifests artifact (a tar.gz layer
of files, with annotations) directly, and ``corrupt_blob`` serves wrong bytes under a digest.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import secrets
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_UPLOADS = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<uuid>[^/]+)$")
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_gz(files: Mapping[str, str | bytes], *, symlinks: Mapping[str, str] | None = None) -> bytes:
    """A reproducible tar.gz of ``files`` (path -> content) and ``symlinks`` (path -> target)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
        for name, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 0
            tar.addfile(info)
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class _Repo:
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class OciRegistry:
    """The running registry: ``host`` is ``127.0.0.1:<port>``; ``requests`` logs ``"METHOD path"``."""

    host: str
    username: str = ""
    password: str = ""
    auth: str = ""
    """``""`` (anonymous), ``"basic"`` or ``"bearer"``."""
    page_size: int | None = None
    """Serve at most this many tags per page even when the client does not ask for ``n``."""
    requests: list[str] = field(default_factory=list)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    repos: dict[str, _Repo] = field(default_factory=dict)
    uploads: dict[str, tuple[str, bytearray]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    corrupt: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def oci_url(self, repository: str) -> str:
        return f"oci://{self.host}/{repository}"

    def repo(self, name: str) -> _Repo:
        with self.lock:
            return self.repos.setdefault(name, _Repo())

    # -- direct pushes

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        self.repo(repository).blobs[digest] = data
        return digest

    def push_manifest(
        self, repository: str, reference: str, manifest: Mapping[str, Any], *, media_type: str = OCI_MANIFEST
    ) -> str:
        body = json.dumps(manifest, separators=(",", ":")).encode()
        digest = sha256(body)
        repo = self.repo(repository)
        repo.manifests[digest] = (media_type, body)
        if not reference.startswith("sha256:"):
            repo.tags[reference] = digest
        return digest

    def push_artifact(
        self,
        repository: str,
        tag: str,
        files: Mapping[str, str | bytes] | None = None,
        *,
        layer: bytes | None = None,
        layer_media_type: str = OCI_LAYER_GZIP,
        annotations: Mapping[str, str] | None = None,
        extra_layers: list[tuple[str, bytes]] | None = None,
    ) -> str:
        """What ``oras push`` makes of a directory: an empty config and one tar+gzip layer; returns the digest."""
        data = layer if layer is not None else tar_gz(files or {})
        config = b"{}"
        layers = [(layer_media_type, data), *(extra_layers or [])]
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.manifests",
            "config": {"mediaType": OCI_EMPTY, "digest": self.push_blob(repository, config), "size": len(config)},
            "layers": [
                {
                    "mediaType": media_type,
                    "digest": self.push_blob(repository, blob),
                    "size": len(blob),
                    "annotations": {"org.opencontainers.image.title": f"layer-{i}.tar.gz"},
                }
                for i, (media_type, blob) in enumerate(layers)
            ],
        }
        if annotations:
            manifest["annotations"] = dict(annotations)
        return self.push_manifest(repository, tag, manifest)

    def push_index(
        self, repository: str, tag: str, images: list[tuple[str, Mapping[str, str] | None]], **annotations: str
    ) -> str:
        """An image index over already pushed manifests (digest, platform or None)."""
        repo = self.repo(repository)
        entries = []
        for digest, platform in images:
            media_type, body = repo.manifests[digest]
            entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(body)}
            if platform is not None:
                entry["platform"] = dict(platform)
            entries.append(entry)
        index: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        if annotations:
            index["annotations"] = annotations
        return self.push_manifest(repository, tag, index, media_type=OCI_INDEX)

    def tag(self, repository: str, tag: str, digest: str) -> None:
        self.repo(repository).tags[tag] = digest

    def corrupt_blob(self, digest: str, data: bytes) -> None:
        """Serve ``data`` whenever ``digest`` is asked for."""
        self.corrupt[digest] = data

    # -- authentication

    def _basic_ok(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")

    def authorized(self, header: str) -> bool:
        if not self.auth:
            return True
        if self.auth == "basic":
            return self._basic_ok(header)
        return header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.tokens


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    registry: OciRegistry

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes = b"", *, headers: Mapping[str, str] | None = None, head: bool = False
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        # A HEAD answer never has a body, error answers included: the client would read it as the next response.
        if body and not head and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, body, headers={"Content-Type": "application/json", **(headers or {})})

    def _challenge(self, name: str, write: bool) -> None:
        reg = self.registry
        if reg.auth == "basic":
            header = 'Basic realm="test-registry"'
        else:
            scope = f"repository:{name}:{'pull,push' if write else 'pull'}" if name else ""
            header = f'Bearer realm="{reg.url}/token",service="test-registry"'
            if scope:
                header += f',scope="{scope}"'
        self._error(401, "UNAUTHORIZED", "authentication required", headers={"WWW-Authenticate": header})

    def _route(self, method: str) -> None:
        reg = self.registry
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with reg.lock:
            reg.requests.append(f"{method} {self.path}")
        if path == "/token":
            self._token(query)
            return
        body = self._body() if method in ("PUT", "PATCH", "POST") else b""
        name = ""
        for pattern in (_TAGS, _MANIFEST, _UPLOAD, _UPLOADS, _BLOB):
            m = pattern.match(path)
            if m:
                name = m.group("name")
                break
        if not reg.authorized(self.headers.get("Authorization", "")):
            self._challenge(name, method not in ("GET", "HEAD"))
            return
        if path in ("/v2", "/v2/"):
            self._send(200, b"{}", headers={"Content-Type": "application/json"}, head=method == "HEAD")
        elif (m := _TAGS.match(path)) and method == "GET":
            self._tags(m.group("name"), query)
        elif m := _MANIFEST.match(path):
            self._manifest(method, m.group("name"), m.group("ref"), body)
        elif (m := _UPLOADS.match(path)) and method == "POST":
            self._start_upload(m.group("name"), query, body)
        elif m := _UPLOAD.match(path):
            self._upload(method, m.group("name"), m.group("uuid"), query, body)
        elif (m := _BLOB.match(path)) and method in ("GET", "HEAD"):
            self._blob(method, m.group("name"), m.group("digest"))
        else:
            self._error(404, "NAME_UNKNOWN", "no such route")

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    # -- endpoints

    def _token(self, query: dict[str, list[str]]) -> None:
        reg = self.registry
        with reg.lock:
            reg.token_requests.append(query)
        header = self.headers.get("Authorization", "")
        if reg.username and not reg._basic_ok(header):
            self._send(401, b'{"details":"invalid credentials"}', headers={"Content-Type": "application/json"})
            return
        token = secrets.token_urlsafe(24)
        with reg.lock:
            reg.tokens.add(token)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self._send(200, body, headers={"Content-Type": "application/json"})

    def _tags(self, name: str, query: dict[str, list[str]]) -> None:
        reg = self.registry
        repo = reg.repos.get(name)
        if repo is None:
            self._error(404, "NAME_UNKNOWN", f"repository {name} not known to registry")
            return
        tags = sorted(repo.tags)
        last = (query.get("last") or [""])[0]
        if last:
            tags = [t for t in tags if t > last]
        asked = int((query.get("n") or ["0"])[0] or 0)
        size = min(x for x in (asked, reg.page_size or 0) if x > 0) if (asked or reg.page_size) else 0
        headers = {"Content-Type": "application/json"}
        if size and len(tags) > size:
            tags = tags[:size]
            following = urlencode({"n": size, "last": tags[-1]})
            headers["Link"] = f'</v2/{name}/tags/list?{following}>; rel="next"'
        self._send(200, json.dumps({"name": name, "tags": tags}).encode(), headers=headers)

    def _manifest(self, method: str, name: str, ref: str, body: bytes) -> None:
        reg = self.registry
        repo = reg.repo(name) if method == "PUT" else reg.repos.get(name)
        if repo is None:
            self._error(404, "NAME_UNKNOWN", f"repository {name} not known to registry")
            return
        if method == "PUT":
            digest = sha256(body)
            if ref.startswith("sha256:") and ref != digest:
                self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
                return
            doc = json.loads(body)
            for blob in [doc.get("config") or {}, *(doc.get("layers") or [])]:
                if blob and blob.get("digest") not in repo.blobs:
                    self._error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {blob.get('digest')}")
                    return
            media_type = self.headers.get("Content-Type") or doc.get("mediaType") or OCI_MANIFEST
            repo.manifests[digest] = (media_type, body)
            if not ref.startswith("sha256:"):
                repo.tags[ref] = digest
            headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
            self._send(201, headers=headers)
            return
        if method not in ("GET", "HEAD"):
            self._error(405, "UNSUPPORTED", "method not allowed")
            return
        digest = ref if ref.startswith("sha256:") else repo.tags.get(ref, "")
        if digest not in repo.manifests:
            self._error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
            return
        media_type, stored = repo.manifests[digest]
        data = reg.corrupt.get(digest, stored)
        headers = {"Content-Type": media_type, "Docker-Content-Digest": digest}
        self._send(200, data, headers=headers, head=method == "HEAD")

    def _blob(self, method: str, name: str, digest: str) -> None:
        reg = self.registry
        repo = reg.repos.get(name)
        if repo is None or digest not in repo.blobs:
            self._error(404, "BLOB_UNKNOWN", f"blob unknown to registry: {digest}")
            return
        data = reg.corrupt.get(digest, repo.blobs[digest])
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        self._send(200, data, headers=headers, head=method == "HEAD")

    def _start_upload(self, name: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.registry
        digest = (query.get("digest") or [""])[0]
        if digest:
            self._finish(name, digest, bytearray(body))
            return
        uuid = secrets.token_hex(16)
        with reg.lock:
            reg.uploads[uuid] = (name, bytearray(body))
        headers = {"Location": f"/v2/{name}/blobs/uploads/{uuid}", "Range": "0-0", "Docker-Upload-UUID": uuid}
        self._send(202, headers=headers)

    def _upload(self, method: str, name: str, uuid: str, query: dict[str, list[str]], body: bytes) -> None:
        reg = self.registry
        with reg.lock:
            session = reg.uploads.get(uuid)
        if session is None or session[0] != name:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        data = session[1]
        if method == "PATCH":
            data += body
            headers = {
                "Location": f"/v2/{name}/blobs/uploads/{uuid}",
                "Range": f"0-{max(len(data) - 1, 0)}",
                "Docker-Upload-UUID": uuid,
            }
            self._send(202, headers=headers)
        elif method == "PUT":
            data += body
            with reg.lock:
                reg.uploads.pop(uuid, None)
            self._finish(name, (query.get("digest") or [""])[0], data)
        elif method == "GET":
            self._send(204, headers={"Range": f"0-{max(len(data) - 1, 0)}", "Docker-Upload-UUID": uuid})
        elif method == "DELETE":
            with reg.lock:
                reg.uploads.pop(uuid, None)
            self._send(204)
        else:
            self._error(405, "UNSUPPORTED", "method not allowed")

    def _finish(self, name: str, digest: str, data: bytearray) -> None:
        if sha256(bytes(data)) != digest:
            self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            return
        self.registry.repo(name).blobs[digest] = bytes(data)
        self._send(201, headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-answer on purpose (a refused TLS handshake, a body cut at its cap): not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve_oci_registry(
    *, username: str = "", password: str = "", auth: str = "", page_size: int | None = None
) -> Iterator[OciRegistry]:
    """A registry on 127.0.0.1 for the duration of the block; ``auth`` is ``""``, ``"basic"`` or ``"bearer"``."""
    if auth not in ("", "basic", "bearer"):
        raise ValueError(f"unknown auth mode {auth!r}")
    state = OciRegistry(host="", username=username, password=password, auth=auth, page_size=page_size)
    handler = type("RegistryHandler", (_Handler,), {"registry": state})
    server = _Server(("127.0.0.1", 0), handler)
    state.host = f"127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
