"""ClusterService: destination clusters (upstream server/cluster/cluster.go over util/db/cluster.go).

A stored cluster is a ``ClusterRow``: the sanitised wire document in ``doc`` and the complete connection config
(credentials, client certificates, CA, exec-provider settings) sealed by the secret box in ``secrets``. Responses are
built from ``doc`` only, so a read never opens a secret; the config is unsealed only to compare or rewrite it.

The built-in ``in-cluster`` entry (``https://kubernetes.default.svc``) exists without a row unless argocd-cm sets
``cluster.inClusterEnabled: "false"``; a stored cluster with that server replaces it, as upstream's cluster secret
does. Lookups that fail answer a bare ``permission denied`` so callers cannot probe which clusters exist.

Live information (connection state, server version, cache, API versions) comes from the shared
:class:`~argocd_server.services.cluster_info.ClusterInfoRefresher`; ``applicationsCount`` is counted from the stored
applications at request time. RotateAuth follows upstream's ``util/clusterauth`` flow for clusters using a legacy
service-account token: a new ``kubernetes.io/service-account-token`` Secret is created for the token's service
account, its token is tested and stored, the old secret leaves the service account's list and is deleted (which
revokes the old token). Not here: the connectivity test upstream runs before create/update.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from argocd_server.auth.rbac_validation import cluster_rbac_name
from argocd_server.auth.secretbox import SecretBox
from argocd_server.config import ArgoConfig
from argocd_server.db.models import ClusterRow
from argocd_server.db.stores.applications import ApplicationStore
from argocd_server.db.stores.clusters import ClusterStore
from argocd_server.errors import ArgoError, InvalidArgument, NotFound, PermissionDenied
from argocd_server.kube import ClientOptions, ClusterClient, ClusterCredentials
from argocd_server.schemas.cluster import Cluster, ClusterCacheInfo, ClusterConfig, ClusterInfo
from argocd_server.schemas.common import ConnectionState, to_wire, to_wire_json
from argocd_server.services.access import Access
from argocd_server.services.cluster_info import ClusterInfoRefresher, ClusterProbe
from argocd_server.services.objects import new_uid, rfc3339, utcnow

log = logging.getLogger(__name__)

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key, not a secret
SA_TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type, not a secret
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
TOKEN_WAIT_SECONDS = 30.0
"""How long RotateAuth waits for the cluster's token controller to fill in the new secret (upstream: 30 s)."""
TOKEN_POLL_SECONDS = 0.5

UPDATABLE_FIELDS = {
    "name": "name",
    "namespaces": "namespaces",
    "config": "config",
    "shard": "shard",
    "clusterResources": "cluster_resources",
    "labels": "labels",
    "annotations": "annotations",
    "project": "project",
}
"""``updatedFields`` values (wire names) -> Cluster attributes; other values are ignored, as upstream does."""

# Go field names, in struct order, for the "difference in keys" part of the create conflict message.
_COMPARED_FIELDS = (
    ("Server", "server"),
    ("Name", "name"),
    ("Config", "config"),
    ("Namespaces", "namespaces"),
    ("Shard", "shard"),
    ("ClusterResources", "cluster_resources"),
    ("Project", "project"),
    ("Labels", "labels"),
    ("Annotations", "annotations"),
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def in_cluster_enabled(config: ArgoConfig) -> bool:
    """argocd-cm ``cluster.inClusterEnabled``: only the exact value ``false`` disables the built-in entry."""
    return config.cm_data.get("cluster.inClusterEnabled", "true") != "false"


@dataclass(frozen=True)
class ClusterQuery:
    """Upstream's ClusterQuery: ``id.type``/``id.value`` win over ``server``/``name`` when either is given."""

    server: str = ""
    name: str = ""
    id_type: str | None = None
    id_value: str | None = None


@dataclass(frozen=True)
class _Found:
    """A cluster a query resolved to; ``row`` is None for the built-in in-cluster entry."""

    server: str
    name: str
    project: str
    row: ClusterRow | None

    @property
    def rbac_name(self) -> str:
        return cluster_rbac_name(self.server, self.project)


_BUILTIN = _Found(server=IN_CLUSTER_SERVER, name=IN_CLUSTER_NAME, project="", row=None)


def _builtin_cluster() -> Cluster:
    return Cluster(server=IN_CLUSTER_SERVER, name=IN_CLUSTER_NAME)


def _go_query_unescape(value: str) -> str:
    """url.QueryUnescape: ``+`` is a space, and a ``%`` not followed by two hex digits is an error."""
    bad = _BAD_ESCAPE.search(value)
    if bad:
        raise ValueError(f'invalid URL escape "{value[bad.start() : bad.start() + 3]}"')
    return unquote_plus(value)


def _lookup_server(store: ClusterStore, server: str, *, in_cluster: bool) -> _Found | None:
    """db.GetCluster: the stored cluster for ``server`` (trailing ``/`` ignored), else the built-in entry."""
    server = server.rstrip("/")
    if server == IN_CLUSTER_SERVER and not in_cluster:
        return None
    row = store.get_by_server(server)
    if row is not None:
        return _Found(server=row.server, name=row.name, project=row.project, row=row)
    return _BUILTIN if server == IN_CLUSTER_SERVER else None


def _all_clusters(store: ClusterStore, *, in_cluster: bool) -> list[_Found]:
    """db.ListClusters: stored clusters in creation order, then the built-in entry unless a row replaces it."""
    found: list[_Found] = []
    has_in_cluster_row = False
    for row in store.list():
        if row.server == IN_CLUSTER_SERVER:
            has_in_cluster_row = True
            if not in_cluster:
                continue
        found.append(_Found(server=row.server, name=row.name, project=row.project, row=row))
    if in_cluster and not has_in_cluster_row:
        found.append(_BUILTIN)
    return found


def _servers_by_name(store: ClusterStore, name: str, *, in_cluster: bool) -> list[str]:
    """db.GetClusterServersByName, including the built-in ``in-cluster`` name."""
    servers = [row.server for row in store.find_by_name(name)]
    if not in_cluster:
        return [s for s in servers if s != IN_CLUSTER_SERVER]
    if not servers and name == IN_CLUSTER_NAME and store.get_by_server(IN_CLUSTER_SERVER) is None:
        return [IN_CLUSTER_SERVER]
    return servers


def resolve_destination(session: Session, *, server: str, name: str, in_cluster: bool = True) -> tuple[str, str]:
    """(server, name) of the cluster an application destination names (API reference §7.1 step 6).

    Reproduces upstream's argo.GetDestinationCluster: exactly one of ``server``/``name``; a server must be a
    registered cluster or the built-in one (trailing ``/`` ignored); a name must identify exactly one cluster.
    Raises InvalidArgument with upstream's reason; callers add their own "destination spec ... is invalid" prefix.
    """
    if server and name:
        raise InvalidArgument(f"application destination can't have both name and server defined: {name} {server}")
    store = ClusterStore(session)
    if server:
        target = server.rstrip("/")
        prefix = f'error getting cluster by server "{server}"'
    elif name:
        servers = _servers_by_name(store, name, in_cluster=in_cluster)
        if not servers:
            raise InvalidArgument(f"there are no clusters with this name: {name}")
        if len(servers) > 1:
            raise InvalidArgument(f"there are {len(servers)} clusters with the same name: [{' '.join(servers)}]")
        target = servers[0]
        prefix = "error getting cluster by URL"
    else:
        raise InvalidArgument("Destination server missing from app spec")
    found = store.identity(target) if target != IN_CLUSTER_SERVER or in_cluster else None
    if found is None and target == IN_CLUSTER_SERVER and in_cluster:
        found = (IN_CLUSTER_SERVER, IN_CLUSTER_NAME)  # the built-in entry, as _lookup_server answers
    if found is None:
        reason = "is disabled" if target == IN_CLUSTER_SERVER else "not found"
        raise InvalidArgument(f'{prefix}: cluster "{target}" {reason}')
    return found


def _validation_text(exc: ValidationError) -> str:
    # Only the location and pydantic's message: the offending input may be a credential and is never echoed.
    first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"json: cannot unmarshal into Go struct field Cluster.{where}: {first.get('msg', 'invalid value')}"


def _parse_cluster(body: dict[str, Any]) -> Cluster:
    try:
        return Cluster.from_wire(body)
    except ValidationError as exc:
        raise InvalidArgument(_validation_text(exc)) from None


def _check_server_url(server: str) -> None:
    # Upstream fails later, when connecting; without a cluster layer we refuse what could never connect.
    if not server:
        raise InvalidArgument("cluster server URL may not be empty")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f'invalid cluster server URL "{server}": expected http(s)://host[:port][/path]')


def _normalize(cluster: Cluster) -> Cluster:
    """The cluster as upstream's secret round trip leaves it (clusterToSecret, then SecretToCluster)."""
    annotations = dict(cluster.annotations)
    if annotations.get(LAST_APPLIED_ANNOTATION):
        raise InvalidArgument(f"annotation {LAST_APPLIED_ANNOTATION} cannot be set")
    annotations.pop(LAST_APPLIED_ANNOTATION, None)
    refresh = cluster.refresh_requested_at
    if refresh is not None:
        # metav1.Time keeps whole seconds; a value without a zone is UTC, as Go parses RFC 3339.
        refresh = (refresh if refresh.tzinfo else refresh.replace(tzinfo=UTC)).replace(microsecond=0)
        annotations[REFRESH_ANNOTATION] = rfc3339(refresh)
    else:
        annotations.pop(REFRESH_ANNOTATION, None)
    labels = {k: v for k, v in cluster.labels.items() if k != SECRET_TYPE_LABEL}
    server = cluster.server.rstrip("/")
    # Namespaces are stored comma-joined: blanks vanish and a comma inside a name splits it.
    namespaces = [ns.strip() for ns in ",".join(cluster.namespaces).split(",") if ns.strip()]
    return Cluster(
        server=server,
        name=cluster.name or server,
        config=cluster.config,
        namespaces=namespaces,
        refresh_requested_at=refresh,
        shard=cluster.shard,
        cluster_resources=cluster.cluster_resources,
        project=cluster.project,
        labels=labels,
        annotations=annotations,
    )


def _differences(existing: Cluster, new: Cluster) -> list[str]:
    out = []
    for go_name, attr in _COMPARED_FIELDS:
        a, b = getattr(existing, attr), getattr(new, attr)
        if attr == "config":
            a, b = to_wire(a), to_wire(b)
        if a != b:
            out.append(go_name)
    return out


def _list_body(docs: Iterable[str | bytes]) -> bytes:
    encoded = [doc.encode() if isinstance(doc, str) else doc for doc in docs]
    return b'{"metadata":{},"items":[' + b",".join(encoded) + b"]}"


class ClusterService:
    """List, create, get, update, delete, invalidate-cache and rotate-auth of clusters; RBAC resource ``clusters``."""

    def __init__(
        self,
        *,
        session: Session,
        access: Access,
        secret_box: SecretBox,
        in_cluster: bool = True,
        info: ClusterInfoRefresher | None = None,
    ) -> None:
        self._session = session
        self._access = access
        self._box = secret_box
        self._in_cluster = in_cluster
        self._info = info
        self._store = ClusterStore(session)

    # --- lookups -------------------------------------------------------------------------------------------

    def _find(self, query: ClusterQuery) -> tuple[_Found | None, str]:
        """upstream getCluster: the cluster a query names, and whether it named it by ``server`` or ``name``."""
        server, name = query.server, query.name
        if query.id_type is not None or query.id_value is not None:
            server, name = "", ""
            value = query.id_value or ""
            if query.id_type == "name":
                name = value
            elif query.id_type == "name_escaped":
                try:
                    name = _go_query_unescape(value)
                except ValueError:
                    return None, "name"
            else:
                server = value
        if server:
            return _lookup_server(self._store, server, in_cluster=self._in_cluster), "server"
        if name:
            found = next((c for c in _all_clusters(self._store, in_cluster=self._in_cluster) if c.name == name), None)
            return found, "name"
        return None, ""

    def _find_hidden(self, query: ClusterQuery, action: str | None) -> tuple[_Found, str]:
        """The cluster, or a bare PermissionDenied when it is missing or ``action`` is not allowed on it."""
        found, kind = self._find(query)
        if found is None:
            raise PermissionDenied()
        if action is not None:
            self._access.check_hidden("clusters", action, found.rbac_name)
        return found, kind

    def _load(self, found: _Found) -> Cluster:
        """The complete cluster, connection config unsealed."""
        if found.row is None:
            return _builtin_cluster()
        row = found.row
        cluster = Cluster.from_wire_json(row.doc)
        config = ClusterConfig()
        if row.secrets:
            config = ClusterConfig.from_wire_json(self._box.open(row.secrets, purpose=secret_purpose(row.uid)))
        return cluster.model_copy(update={"config": config})

    @staticmethod
    def _doc(found: _Found) -> bytes:
        if found.row is None:
            return to_wire_json(_builtin_cluster().sanitized())
        return found.row.doc.encode()

    def _application_counts(self) -> dict[str, int]:
        """Applications per destination server; a destination by name counts for the one cluster of that name.

        As upstream's clusterinfoupdater (through argo.GetDestinationCluster): invalid destinations count nowhere.
        """
        by_name: dict[str, list[str]] = {}
        for c in _all_clusters(self._store, in_cluster=self._in_cluster):
            by_name.setdefault(c.name, []).append(c.server)
        counts: dict[str, int] = {}
        for *_, doc in ApplicationStore(self._session).list_rows():
            spec = orjson.loads(doc).get("spec") or {}
            dest = spec.get("destination") or {}
            server, name = str(dest.get("server") or ""), str(dest.get("name") or "")
            if server and not name:
                target = server.rstrip("/")
            elif name and not server and len(by_name.get(name, ())) == 1:
                target = by_name[name][0]
            else:
                continue
            counts[target] = counts.get(target, 0) + 1
        return counts

    def _render(self, clusters: Sequence[_Found]) -> list[bytes]:
        """The response documents, each with the live information known about its cluster."""
        if not clusters:
            return []
        probes = self._info.lookup(c.server for c in clusters) if self._info is not None else {}
        counts = self._application_counts()
        return [_with_info(self._doc(c), probes.get(c.server), counts.get(c.server, 0)) for c in clusters]

    # --- writes ------------------------------------------------------------------------------------------

    def _write(self, cluster: Cluster, row: ClusterRow | None) -> ClusterRow:
        """Insert or rewrite the row of an already normalised cluster (upstream UpdateCluster/CreateCluster)."""
        if row is None:
            row = ClusterRow(
                server=cluster.server,
                name=cluster.name,
                project=cluster.project,
                uid=new_uid(),
                labels=dict(cluster.labels),
                resource_version=1,
                created_at=utcnow(),
                doc=to_wire_json(cluster.sanitized()).decode(),
            )
            row.secrets = self._box.seal(to_wire_json(cluster.config), purpose=secret_purpose(row.uid))
            self._store.add(row)
            return row
        row.name = cluster.name
        row.project = cluster.project
        row.labels = dict(cluster.labels)
        row.resource_version += 1
        row.doc = to_wire_json(cluster.sanitized()).decode()
        row.secrets = self._box.seal(to_wire_json(cluster.config), purpose=secret_purpose(row.uid))
        self._store.save(row)
        return row

    # --- operations --------------------------------------------------------------------------------------

    def list(self, query: ClusterQuery) -> bytes:
        """Clusters matching the query's filters that the caller may ``get``; id, then name, then server."""
        clusters = _all_clusters(self._store, in_cluster=self._in_cluster)
        if query.id_type is not None or query.id_value is not None:
            value = query.id_value or ""
            if query.id_type == "name":
                clusters = _first(clusters, name=value)
            elif query.id_type == "name_escaped":
                try:
                    clusters = _first(clusters, name=_go_query_unescape(value))
                except ValueError as exc:
                    # A plain error upstream, hence Unknown/500.
                    raise ArgoError(f"error filtering clusters by id: failed to unescape cluster name: {exc}") from None
            else:
                clusters = _first(clusters, server=value)
        clusters = _first(clusters, name=query.name)
        clusters = _first(clusters, server=query.server)
        visible = [c for c in clusters if self._access.allowed("clusters", "get", c.rbac_name)]
        return _list_body(self._render(visible))

    def get(self, query: ClusterQuery) -> bytes:
        found, _ = self._find_hidden(query, "get")
        return self._render([found])[0]

    def create(self, body: dict[str, Any], *, upsert: bool) -> bytes:
        """Register a cluster; an identical one is returned as is, a different one needs ``upsert``."""
        cluster = _parse_cluster(body)
        server = cluster.server.rstrip("/")
        self._access.check("clusters", "create", cluster_rbac_name(server, cluster.project))
        _check_server_url(server)
        if server == IN_CLUSTER_SERVER and not self._in_cluster:
            raise InvalidArgument("cannot register cluster: in-cluster has been disabled")
        cluster = _normalize(cluster)
        row = self._store.get_by_server(server)
        if row is None:
            row = self._write(cluster, None)
            self._session.commit()
            log.info("cluster %s created", server)
            return row.doc.encode()
        existing = self._load(_Found(server=row.server, name=row.name, project=row.project, row=row))
        differences = _differences(existing, cluster)
        if not differences:
            return row.doc.encode()
        if upsert:
            return self._update(ClusterQuery(server=cluster.server, name=cluster.name), cluster, updated_fields=())
        keys = ",".join(differences)
        raise InvalidArgument(
            f'existing cluster spec is different; use upsert flag to force update; difference in keys "{keys}"'
        )

    def update(self, query: ClusterQuery, body: dict[str, Any], *, updated_fields: Sequence[str]) -> bytes:
        """Replace the cluster with the body, or copy only ``updated_fields`` from it onto the stored one."""
        return self._update(query, _parse_cluster(body), updated_fields=updated_fields)

    def _update(self, query: ClusterQuery, new: Cluster, *, updated_fields: Sequence[str]) -> bytes:
        found, _ = self._find_hidden(query, "update")
        if not updated_fields or "project" in updated_fields:
            # Moving a cluster needs update rights where it lands as well.
            self._access.check_hidden("clusters", "update", cluster_rbac_name(found.server, new.project))
        if updated_fields:
            changes = {
                UPDATABLE_FIELDS[f]: getattr(new, UPDATABLE_FIELDS[f]) for f in updated_fields if f in UPDATABLE_FIELDS
            }
            target = self._load(found).model_copy(update=changes)
        else:
            # The stored cluster is the one the query found; a different server in the body cannot retarget it.
            target = new.model_copy(update={"server": found.server})
        row = self._write(_normalize(target), found.row)
        self._session.commit()
        log.info("cluster %s updated", row.server)
        if self._info is not None:
            # The controller's connection was built from the old config: reconnect with the new one.
            self._info.invalidate(row.server)
        return row.doc.encode()

    def delete(self, query: ClusterQuery) -> None:
        """Delete the cluster; by name, every cluster with that name (all must be deletable)."""
        found, kind = self._find_hidden(query, None)
        if kind == "name":
            servers = _servers_by_name(self._store, found.name, in_cluster=self._in_cluster)
        else:
            servers = [found.server]
        targets = []
        for server in servers:
            target = _lookup_server(self._store, server, in_cluster=self._in_cluster) or _Found(
                server=server, name="", project="", row=None
            )
            # Upstream checks every server against the first match's project; each cluster's own project is the
            # object its RBAC policies actually name.
            self._access.check_hidden("clusters", "delete", target.rbac_name)
            targets.append(target)
        for target in targets:
            if target.row is None:
                raise NotFound(f'cluster "{target.server}" not found')
        for target in targets:
            assert target.row is not None
            self._store.delete(target.row)
        self._session.commit()
        log.info("cluster(s) %s deleted", ", ".join(t.server for t in targets))
        if self._info is not None:
            for target in targets:
                self._info.forget(target.server)

    def invalidate_cache(self, query: ClusterQuery) -> bytes:
        """Record ``refreshRequestedAt`` and relist the cluster's live-state cache, then answer the cluster.

        The relist runs in the background (upstream's controller reacts to the secret change asynchronously too);
        the answer carries the last known live information.
        """
        found, _ = self._find_hidden(query, "update")
        target = self._load(found).model_copy(update={"refresh_requested_at": utcnow()})
        row = self._write(_normalize(target), found.row)
        self._session.commit()
        found = _Found(server=row.server, name=row.name, project=row.project, row=row)
        if self._info is not None:
            self._info.invalidate(found.server)
        log.info("cluster %s: cache invalidation requested", found.server)
        return self._render([found])[0]

    def rotate_auth(self, query: ClusterQuery) -> None:
        """Replace the cluster's bearer token by a new service-account token and revoke the old one.

        Upstream: RotateAuth in server/cluster/cluster.go with util/clusterauth. Kubernetes failures are plain
        errors there (Unknown/500), never the 401/403 of the cluster's API, which would read as our own.
        """
        found, _ = self._find_hidden(query, "update")
        cluster = self._load(found)
        token = cluster.config.bearer_token
        if found.row is None or not token:
            raise InvalidArgument(f"Cluster '{found.server}' does not use bearer token authentication")
        claims = parse_service_account_token(token)
        server, uid = found.server, found.row.uid
        # The kube calls below may take seconds (the token controller is polled): no transaction stays open.
        self._session.rollback()
        log.info("cluster %s: rotating auth of service account %s/%s", server, claims.namespace, claims.name)
        options = ClientOptions(connect_timeout=5.0, read_timeout=30.0)
        stored = False
        try:
            with ClusterClient(cluster_credentials(server, cluster.config), options=options) as client:
                secret = _create_token_secret(client, claims)
                tls = cluster.config.tls_client_config.model_copy(update={"cert_data": b"", "key_data": b""})
                # Token authentication from now on: client-certificate material must not linger.
                config = cluster.config.model_copy(update={"bearer_token": secret.token, "tls_client_config": tls})
                try:
                    # Test the new token before anything depends on it, as upstream does.
                    with ClusterClient(cluster_credentials(server, config), options=options) as fresh:
                        version = fresh.server_version().short
                    stored = self._store_config(server, uid=uid, config=config)
                finally:
                    if not stored:
                        _delete_secret(client, claims.namespace, secret.name)
                if stored:
                    _retire_token_secret(client, claims, new_secret=secret.name)
        except ArgoError as exc:
            raise ArgoError(f"failed to rotate auth of cluster {server}: {exc.message}") from None
        if not stored:
            # The cluster was deleted (or replaced) while the token was minted: as if it never existed.
            raise PermissionDenied()
        if self._info is not None:
            probe = ClusterProbe(
                server=server, status="Successful", message="", attempted_at=utcnow(), server_version=version
            )
            self._info.record(probe)
            # The old token was just revoked: every connection still holding it would now get 401.
            self._info.invalidate(server)
        log.info("cluster %s: rotated auth (old secret: %s, new secret: %s)", server, claims.secret or "-", secret.name)

    def _store_config(self, server: str, *, uid: str, config: ClusterConfig) -> bool:
        """Write the new connection config onto the row the rotation started from; False when it is gone."""
        row = self._store.get_for_update(server)
        if row is None or row.uid != uid:
            self._session.rollback()
            return False
        current = self._load(_Found(server=row.server, name=row.name, project=row.project, row=row))
        self._write(_normalize(current.model_copy(update={"config": config})), row)
        self._session.commit()
        return True


def secret_purpose(uid: str) -> str:
    # Binds a sealed config to its row: a ciphertext copied into another row does not open.
    return f"cluster-config:{uid}"


def _first(clusters: list[_Found], *, server: str = "", name: str = "") -> list[_Found]:
    """Upstream's filterClustersBy{Server,Name}: no value keeps all, otherwise only the first match."""
    if server:
        return [c for c in clusters if c.server == server][:1]
    if name:
        return [c for c in clusters if c.name == name][:1]
    return clusters


def _with_info(doc: bytes, probe: ClusterProbe | None, applications: int) -> bytes:
    """The stored document with live information; before any probe only the application count is real."""
    if probe is None and applications == 0:
        return doc
    cluster = Cluster.from_wire_json(doc)
    if probe is None:
        info = cluster.info.model_copy(update={"applications_count": applications})
        return to_wire_json(cluster.model_copy(update={"info": info}))
    state = ConnectionState(status=probe.status, message=probe.message, attempted_at=probe.attempted_at)
    cache = ClusterCacheInfo()
    if probe.cache is not None:
        cache = ClusterCacheInfo(
            resources_count=probe.cache.resources_count,
            apis_count=probe.cache.apis_count,
            last_cache_sync_time=probe.cache.last_sync_time,
        )
    info = ClusterInfo(
        connection_state=state,
        server_version=probe.server_version,
        cache_info=cache,
        applications_count=applications,
        api_versions=list(probe.api_versions),
    )
    # The top-level copies are deprecated upstream but still written.
    update = {"connection_state": state, "server_version": probe.server_version, "info": info}
    return to_wire_json(cluster.model_copy(update=update))


def cluster_credentials(server: str, config: ClusterConfig) -> ClusterCredentials:
    """The cluster layer's credentials from a stored (opened) cluster config."""
    tls = config.tls_client_config
    return ClusterCredentials(
        server=server,
        bearer_token=config.bearer_token or None,
        username=config.username or None,
        password=config.password or None,
        ca_data=tls.ca_data or None,
        cert_data=tls.cert_data or None,
        key_data=tls.key_data or None,
        insecure=tls.insecure,
        server_name=tls.server_name or None,
    )


# --- service-account token rotation (upstream util/clusterauth) -------------------------------------------------


@dataclass(frozen=True)
class ServiceAccountClaims:
    """Who a service-account token belongs to; ``secret`` is empty for bound (TokenRequest) tokens."""

    namespace: str
    name: str
    secret: str = ""


@dataclass(frozen=True)
class _TokenSecret:
    name: str
    token: str = field(repr=False)


def parse_service_account_token(token: str) -> ServiceAccountClaims:
    """The service account a token names, read from its (unverified) JWT claims: the cluster verifies it."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a JWT")
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
        if not isinstance(claims, dict):
            raise ValueError("claims are not an object")
    except ValueError as exc:
        raise ArgoError(f"failed to parse service account token: {exc}") from None
    namespace = str(claims.get("kubernetes.io/serviceaccount/namespace") or "")
    name = str(claims.get("kubernetes.io/serviceaccount/service-account.name") or "")
    secret = str(claims.get("kubernetes.io/serviceaccount/secret.name") or "")
    bound = claims.get("kubernetes.io")
    if not (namespace and name) and isinstance(bound, dict):
        # Tokens from the TokenRequest API carry the same facts in a nested claim, and no secret.
        namespace = str(bound.get("namespace") or "")
        account = bound.get("serviceaccount")
        name = str(account.get("name") or "") if isinstance(account, dict) else ""
    if not (namespace and name):
        raise ArgoError("failed to parse service account token: it names no service account")
    return ServiceAccountClaims(namespace=namespace, name=name, secret=secret)


def _secrets_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def _create_token_secret(client: ClusterClient, claims: ServiceAccountClaims) -> _TokenSecret:
    """A new service-account-token Secret for the account, once the cluster's token controller filled it in."""
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"generateName": f"{claims.name}-token-", "annotations": {SA_NAME_ANNOTATION: claims.name}},
        "type": SA_TOKEN_SECRET_TYPE,
    }
    secret = client.request_json("POST", _secrets_path(claims.namespace), body=body)
    name = str(secret["metadata"]["name"])
    deadline = time.monotonic() + TOKEN_WAIT_SECONDS
    while True:
        encoded = (secret.get("data") or {}).get("token")
        if encoded:
            return _TokenSecret(name=name, token=base64.b64decode(encoded).decode())
        if time.monotonic() >= deadline:
            _delete_secret(client, claims.namespace, name)
            raise ArgoError(f"timed out waiting for the token of secret {claims.namespace}/{name}")
        time.sleep(TOKEN_POLL_SECONDS)
        secret = client.request_json("GET", _secrets_path(claims.namespace, name))


def _delete_secret(client: ClusterClient, namespace: str, name: str) -> None:
    with contextlib.suppress(NotFound):
        client.request_json("DELETE", _secrets_path(namespace, name))


def _retire_token_secret(client: ClusterClient, claims: ServiceAccountClaims, *, new_secret: str) -> None:
    """List the new secret on the service account instead of the old one, then delete the old (its token dies)."""
    path = f"/api/v1/namespaces/{claims.namespace}/serviceaccounts/{claims.name}"
    account = client.request_json("GET", path)
    refs = [r for r in account.get("secrets") or [] if r.get("name") != claims.secret]
    if not any(r.get("name") == new_secret for r in refs):
        refs.append({"name": new_secret})
    account["secrets"] = refs
    client.request_json("PUT", path, body=account)
    if claims.secret:
        _delete_secret(client, claims.namespace, claims.secret)
