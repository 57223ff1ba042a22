"""Fixtures for the extra Application/ApplicationSet operations: the engine environment (real server with its
controller, kubesim, a git repository holding the guestbook example) reused as is."""

from tests.e2e.engine.conftest import Env, EnvFactory, env, kube, make_env, repo

__all__ = ["Env", "EnvFactory", "env", "kube", "make_env", "repo"]
