"""An application whose source is an OCI artifact: compared at the digest its tag resolves to, synced into kubesim,
and brought forward when the tag moves."""

from __future__ import annotations

from tests.e2e.engine.conftest import EnvFactory
from tests.support.git_repo import EXAMPLES
from tests.support.oci_registry import serve_oci_registry

USER = "robot"
PASSWORD = "Registry-S3cret-Pa55"


def test_oci_app_compare_sync_and_follow_the_tag(make_env: EnvFactory) -> None:
    files = {f"guestbook/{p.name}": p.read_text() for p in sorted((EXAMPLES / "guestbook").glob("*.yaml"))}
    with serve_oci_registry(auth="bearer", username=USER, password=PASSWORD) as registry, make_env() as env:
        first = registry.push_artifact("apps/guestbook", "stable", files)
        url = registry.oci_url("apps/guestbook")
        repo = {"repo": url, "type": "oci", "username": USER, "password": PASSWORD, "insecureOCIForceHttp": True}
        response = env.client.post("/api/v1/repositories", json=repo, headers=env.headers)
        assert response.status_code == 200, response.text
        env.create("guestbook", path="", source={"repoURL": url, "path": "guestbook", "targetRevision": "stable"})

        app = env.get("guestbook", refresh="normal")
        assert app["status"]["sync"]["status"] == "OutOfSync"
        assert app["status"]["sync"]["revision"] == first
        assert app["status"]["sourceType"] == "Directory"

        requested = env.sync("guestbook")
        assert requested.status_code == 200, requested.text
        done = env.wait_operation("guestbook")
        state = done["status"]["operationState"]
        assert state["phase"] == "Succeeded", state
        assert state["syncResult"]["revision"] == first
        assert done["status"]["history"][0]["revision"] == first
        env.wait_synced_healthy("guestbook")
        deployment = env.live("apps/v1", "Deployment", "guestbook-ui")
        assert deployment is not None
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:1.0.0"

        # The tag moves to a new image: the app follows it to the new digest.
        bumped = {k: v.replace("guestbook-ui:1.0.0", "guestbook-ui:2.0.0") for k, v in files.items()}
        second = registry.push_artifact("apps/guestbook", "stable", bumped)
        drifted = env.get("guestbook", refresh="normal")
        assert drifted["status"]["sync"]["revision"] == second
        assert drifted["status"]["sync"]["status"] == "OutOfSync"
        assert env.sync("guestbook").status_code == 200
        assert env.wait_operation("guestbook")["status"]["operationState"]["syncResult"]["revision"] == second
        env.wait_synced_healthy("guestbook")
        deployment = env.live("apps/v1", "Deployment", "guestbook-ui")
        assert deployment is not None
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/guestbook-ui:2.0.0"
