"""The disk level of the manifest cache: what one renderer rendered serves another on the same data dir (the API
server and the controller, or a restarted process), sealed with the server key, trimmed least recently used first."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from itertools import count
from pathlib import Path

from argocd_server.auth.secretbox import SecretBox
from argocd_server.engine.source import (
    DiskManifestCache,
    ManifestCache,
    RenderRequest,
    SourceRenderer,
    SourceSettings,
    SourceType,
)
from tests.support.git_repo import GitRepo

BOX = SecretBox(b"k" * 32)
SECRET_VALUE = "correct-horse-battery-staple"
SECRET = f"""apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: {SECRET_VALUE}
"""


def _rows(path: Path) -> list[tuple[str, bytes]]:
    with sqlite3.connect(path) as db:
        return [
            (str(key), bytes(sealed)) for key, sealed in db.execute("SELECT key, sealed FROM manifests ORDER BY key")
        ]


def test_another_renderer_on_the_same_data_dir_reuses_what_was_rendered(
    make_settings: Callable[..., SourceSettings], repo: GitRepo, helm_bin: str
) -> None:
    repo.copy_example("helm-guestbook", "gb")
    repo.commit("gb")
    request = RenderRequest(sources=({"repoURL": repo.url, "path": "gb"},), app_name="a", namespace="n")
    settings = make_settings()
    first = SourceRenderer(settings, sealer=BOX).render(request)
    assert not first.cached

    restarted = SourceRenderer(settings, sealer=BOX)
    again = restarted.render(request)
    assert again.cached
    assert again.objects == first.objects
    assert again.source_type == SourceType.HELM
    assert restarted.counters.helm_processes == 0
    assert restarted.manifests.disk_hits == 1
    # Now in memory: the store is not read again.
    restarted.render(request)
    assert restarted.manifests.disk_hits == 1

    # Without a sealer the cache stays in memory: nothing is shared.
    plain = SourceRenderer(settings)
    assert not plain.render(request).cached
    assert plain.counters.helm_processes == 1


def test_entries_are_sealed_and_bound_to_their_key_and_server_key(
    make_settings: Callable[..., SourceSettings], repo: GitRepo
) -> None:
    repo.commit("secret", {"app/secret.yaml": SECRET})
    request = RenderRequest(sources=({"repoURL": repo.url, "path": "app"},), app_name="a", namespace="n")
    settings = make_settings()
    rendered = SourceRenderer(settings, sealer=BOX).render(request)
    assert rendered.objects[0]["kind"] == "Secret"
    store = settings.data_dir / "manifests.db"
    on_disk = b"".join(path.read_bytes() for path in store.parent.glob("manifests.db*"))  # with the WAL
    assert len(_rows(store)) == 1
    for needle in (SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode(), "correct-horse"):
        assert needle.encode() not in on_disk

    # An entry stored under another key's name is a miss, and is removed: the seal binds it to its key.
    ((_, stored),) = _rows(store)
    with sqlite3.connect(store) as db:
        db.execute("INSERT INTO manifests (key, sealed, used) VALUES (?, ?, 0)", ("0" * 64, stored))
    cache = DiskManifestCache(store, max_bytes=1 << 20, sealer=BOX)
    assert cache.get("0" * 64) is None
    assert "0" * 64 not in dict(_rows(store))
    assert len(_rows(store)) == 1

    # Another server key cannot read it: a miss, the entry is rendered and written again.
    other = SourceRenderer(settings, sealer=SecretBox(b"o" * 32))
    assert not other.render(request).cached
    assert other.counters.renders == 1
    assert other.manifests.disk_hits == 0


def test_the_store_is_trimmed_least_recently_used_first(tmp_path: Path) -> None:
    objects = [{"kind": "ConfigMap", "data": {"x": "y" * 200}}]
    probe = DiskManifestCache(tmp_path / "probe.db", max_bytes=1 << 20, sealer=BOX)
    ManifestCache(max_entries=10, max_bytes=1 << 20, disk=probe).put("probe", objects, SourceType.DIRECTORY, ())
    size = probe.total_bytes

    ticks = count(1000, 100)
    store = tmp_path / "manifests.db"
    cache = DiskManifestCache(store, max_bytes=int(size * 3.5), sealer=BOX, clock=lambda: float(next(ticks)))
    memory = ManifestCache(max_entries=10, max_bytes=1 << 20, disk=cache)
    for key in ("a", "b", "c"):
        memory.put(key, objects, SourceType.DIRECTORY, ())
    assert cache.get("a") is not None  # used again, more than a minute later: now the most recent
    memory.put("d", objects, SourceType.DIRECTORY, ())  # over budget: trimmed to 80% of it

    assert [key for key, _ in _rows(store)] == ["a", "d"]
    assert cache.total_bytes == 2 * size
    # Another process opening the store sees what is left.
    assert DiskManifestCache(store, max_bytes=1 << 20, sealer=BOX).total_bytes == 2 * size


def test_a_damaged_store_starts_afresh_and_an_unopenable_one_is_done_without(tmp_path: Path) -> None:
    objects = [{"kind": "ConfigMap", "data": {"x": "y"}}]
    store = tmp_path / "manifests.db"
    store.write_bytes(b"this is not a database" * 100)
    damaged = ManifestCache(
        max_entries=10, max_bytes=1 << 20, disk=DiskManifestCache(store, max_bytes=1 << 20, sealer=BOX)
    )
    damaged.put("k", objects, SourceType.DIRECTORY, ())
    again = ManifestCache(
        max_entries=10, max_bytes=1 << 20, disk=DiskManifestCache(store, max_bytes=1 << 20, sealer=BOX)
    )
    assert again.get("k") == (objects, SourceType.DIRECTORY, ())

    # A path that cannot be a database file (a directory): renders go on, with the memory level only.
    blocked = tmp_path / "blocked.db"
    blocked.mkdir()
    memory_only = ManifestCache(
        max_entries=10, max_bytes=1 << 20, disk=DiskManifestCache(blocked, max_bytes=1 << 20, sealer=BOX)
    )
    memory_only.put("k", objects, SourceType.DIRECTORY, ())
    assert memory_only.get("k") == (objects, SourceType.DIRECTORY, ())
    assert memory_only.disk_hits == 0
