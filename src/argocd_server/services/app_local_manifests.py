"""ApplicationService GetManifestsWithFiles: render an application's manifests from uploaded local files.

Upstream's CLI streams a gzipped tarball of a local directory over gRPC: a first message carrying the query, then
file chunks. grpc-gateway maps that client stream onto one REST body holding the same wrapper messages one after
another, so the body here is a sequence of ``{"query": ...}`` / ``{"chunk": {"chunk": <base64>}}`` JSON objects (a
single object carrying both members works too). The chunks are joined, checked against ``query.checksum`` (the
SHA-256 of the archive, hex) when given, and unpacked into a scratch directory with every member vetted: no absolute
paths, no ``..``, no links leading outside, no devices, and caps on member count and unpacked size.

The unpacked directory stands in for the app's source directory and is rendered with the app's first source settings
(type, directory options, Kustomize or Helm options) by the sources layer's own renderers; ``$ref`` value files and
remote charts are not available to a local render. The response is built as GetManifests builds it: tracking set,
core Secret data masked, keys sorted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from argocd_server.engine.diff import mask_secrets
from argocd_server.engine.resources import group_kind_of
from argocd_server.engine.source import Manifest, RenderRequest, SourceType, detect_type, explicit_type, safety
from argocd_server.engine.source import directory as directory_mod
from argocd_server.engine.source import render as render_mod
from argocd_server.engine.tracking import parse_tracking_method, set_tracking
from argocd_server.errors import InvalidArgument, SourceError
from argocd_server.schemas.common import to_wire
from argocd_server.services.app_manifests import app_sources, render_request
from argocd_server.services.app_sources import DEFAULT_LABEL_KEY, ApplicationSourceService, ManifestResponse

__all__ = ["MAX_ARCHIVE_MEMBERS", "MAX_UNPACKED_BYTES", "LocalManifestsService", "parse_wrapper_stream"]

MAX_ARCHIVE_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""A gzip bomb must not fill the disk: the unpacked size is capped independently of the request size."""


def parse_wrapper_stream(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The query and the joined archive bytes of a body of consecutive wrapper messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("the request body is not UTF-8 JSON") from None
    query: dict[str, Any] | None = None
    chunks: list[bytes] = []
    for value in _json_values(text):
        if not isinstance(value, dict):
            raise InvalidArgument(f"json: cannot unmarshal {type(value).__name__} into Go value of type object")
        if value.get("query") is not None:
            if query is not None:
                raise InvalidArgument("the query may only be sent once, in the first message")
            if chunks:
                raise InvalidArgument("the first message must contain the query")
            if not isinstance(value["query"], dict):
                raise InvalidArgument("json: cannot unmarshal query into Go value of type object")
            query = value["query"]
        chunk = value.get("chunk")
        if chunk is None:
            continue
        if query is None:
            raise InvalidArgument("the first message must contain the query")
        data = chunk.get("chunk") if isinstance(chunk, dict) else None
        if data is None:
            continue
        if not isinstance(data, str):
            raise InvalidArgument("chunk.chunk must be a base64 string")
        chunks.append(_b64(data))
    if query is None:
        raise InvalidArgument("the first message must contain the query")
    return query, b"".join(chunks)


def _b64(data: str) -> bytes:
    # Go's protojson accepts both the standard and the URL-safe alphabet for bytes fields.
    alphabet_fixed = data.replace("-", "+").replace("_", "/")
    padded = alphabet_fixed + "=" * (-len(alphabet_fixed) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("chunk.chunk is not valid base64") from None


def _json_values(text: str) -> Iterator[Any]:
    """The top-level JSON values of a concatenated stream, newline-delimited or not."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"invalid character in JSON body: {exc.msg}") from None
        yield value


def _link_target_inside(member_name: str, link: str) -> bool:
    if link.startswith("/"):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_name), link))
    return joined != ".." and not joined.startswith("../")


def extract_archive(archive: bytes, dest: Path) -> None:
    """Unpack a gzipped tarball into ``dest``, refusing anything that could land outside it."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            _vet_members(tar.getmembers())
            # The "data" filter re-checks paths and links at write time and drops special permission bits.
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidArgument(f"error reading the uploaded archive: {exc}") from None
    try:
        safety.check_symlinks(dest)
    except SourceError as exc:
        raise InvalidArgument(exc.message) from None


def _vet_members(members: list[tarfile.TarInfo]) -> None:
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise InvalidArgument(f"the uploaded archive has more than {MAX_ARCHIVE_MEMBERS} entries")
    total = 0
    for member in members:
        try:
            name = safety.safe_member_name(member.name)
        except SourceError as exc:
            raise InvalidArgument(exc.message) from None
        if not name:
            continue
        if member.islnk():
            # A hard link names another member of the archive, relative to the archive root.
            try:
                safety.safe_member_name(member.linkname)
            except SourceError:
                raise InvalidArgument(
                    f"archive member '{member.name}' links outside the extraction directory"
                ) from None
        elif member.issym():
            if not _link_target_inside(name, member.linkname):
                raise InvalidArgument(f"archive member '{member.name}' links outside the extraction directory")
        elif not (member.isfile() or member.isdir()):
            raise InvalidArgument(f"archive member '{member.name}' is not a regular file or directory")
        total += max(member.size, 0)
        if total > MAX_UNPACKED_BYTES:
            raise InvalidArgument(f"the uploaded archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")


class LocalManifestsService(ApplicationSourceService):
    """GetManifestsWithFiles over the sources layer's renderers."""

    def manifests_with_files(self, query: Mapping[str, Any], archive: bytes) -> dict[str, Any]:
        name = str(query.get("name") or "")
        doc, _ = self._app(
            name, app_namespace=str(query.get("appNamespace") or ""), project=str(query.get("project") or "")
        )
        checksum = str(query.get("checksum") or "")
        if checksum and hashlib.sha256(archive).hexdigest() != checksum.lower():
            raise InvalidArgument("the uploaded files do not match the given checksum")
        renderer = self._sources_layer()
        sources = app_sources(doc.get("spec") or {})
        if not sources:
            raise InvalidArgument(f"application {name} has no source")
        label_key = self._cm_data.get("application.instanceLabelKey") or DEFAULT_LABEL_KEY
        request = render_request(
            doc,
            sources=sources[:1],
            repo_credentials=self._repo_credentials,
            controller_namespace=self._ns,
            app_label_key=label_key,
        )
        with tempfile.TemporaryDirectory(prefix="local-files-", dir=renderer.settings.data_dir) as tmp:
            root = Path(tmp)
            extract_archive(archive, root)
            objects = self._render_local(renderer, request, root)
        method = parse_tracking_method(self._cm_data.get("application.resourceTrackingMethod"))
        installation_id = self._cm_data.get("installationID") or None
        manifests: list[str] = []
        for obj in objects:
            tracked = set_tracking(
                obj,
                app=request.app_name,
                method=method,
                label_key=label_key,
                namespace=request.namespace,
                installation_id=installation_id,
            )
            if group_kind_of(tracked) == ("", "Secret"):
                masked = mask_secrets([tracked])[0]
                tracked = masked if masked is not None else tracked
            manifests.append(orjson.dumps(tracked, option=orjson.OPT_SORT_KEYS).decode())
        return to_wire(ManifestResponse(manifests=manifests))

    @staticmethod
    def _render_local(renderer: render_mod.SourceRenderer, request: RenderRequest, root: Path) -> list[Manifest]:
        """The uploaded directory rendered as the app's source directory (no revision: these files have none)."""
        source = render_mod._apply_overrides(dict(request.sources[0]), root, request.app_name)
        # A chart source names a repository chart; the upload replaces it, so the directory decides the type.
        kind = explicit_type(source) or detect_type(root)
        if kind == SourceType.PLUGIN:
            raise InvalidArgument("config management plugins are not supported")
        if kind == SourceType.HELM:
            objects, _ = renderer._render_helm(
                root=root, chart_dir=root, source=source, request=request, revision="", ref_roots={}
            )
            return objects
        if kind == SourceType.KUSTOMIZE:
            objects, _ = renderer._render_kustomize(
                root=root, app_dir=root, source=source, request=request, revision=""
            )
            return objects
        env = render_mod.build_env(request=request, source=source, revision="")
        return directory_mod.render_directory(
            app_dir=root,
            repo_root=root,
            directory=source.get("directory") or {},
            settings=renderer.settings,
            envsubst=render_mod.make_envsubst(env),
        )
