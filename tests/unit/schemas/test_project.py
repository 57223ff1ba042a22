"""AppProject shapes and project request bodies."""

from __future__ import annotations

from argocd_server.schemas import (
    AppProject,
    AppProjectList,
    Cluster,
    DetailedProjectsResponse,
    JWTToken,
    ProjectCreateRequest,
    ProjectRole,
    ProjectTokenCreateRequest,
    Repository,
    to_wire,
)

from ._docs import load_fixture


def test_project_round_trips_exactly() -> None:
    doc = load_fixture("project")
    project = AppProject.from_wire(doc)
    assert to_wire(project) == doc
    assert project.spec.orphaned_resources is not None
    assert project.spec.orphaned_resources.warn is False
    assert project.status.jwt_tokens_by_role["ci"].items[0].exp == 1798859045


def test_empty_project_writes_struct_members() -> None:
    assert to_wire(AppProject()) == {
        "metadata": {"creationTimestamp": None},
        "spec": {},
        "status": {},
    }
    assert to_wire(AppProjectList(items=[])) == {"metadata": {}, "items": []}


def test_role_and_token_required_members() -> None:
    assert to_wire(ProjectRole()) == {"name": ""}
    assert to_wire(JWTToken()) == {"iat": 0}


def test_create_request_and_token_request() -> None:
    body = {"project": load_fixture("project"), "upsert": True}
    assert to_wire(ProjectCreateRequest.from_wire(body)) == body
    token = ProjectTokenCreateRequest.from_wire({"project": "web", "role": "ci", "expiresIn": "3600", "id": "t"})
    assert to_wire(token) == {"project": "web", "role": "ci", "expiresIn": 3600, "id": "t"}


def test_detailed_response_carries_sanitised_members() -> None:
    response = DetailedProjectsResponse(
        project=AppProject.from_wire(load_fixture("project")),
        repositories=[Repository(repo="https://x", password="pw").sanitized()],
        clusters=[Cluster.from_wire(load_fixture("cluster_stored")).sanitized()],
    )
    wire = to_wire(response)
    assert set(wire) == {"project", "repositories", "clusters"}
    assert "password" not in wire["repositories"][0]
    assert wire["clusters"][0] == load_fixture("cluster_sanitized")
