"""Login and token-check latency against a real server.

Prints p50/p95 for ``POST /api/v1/session`` (which includes upstream's deliberate 500-1000 ms anti-enumeration
padding), for an authenticated ``GET /api/v1/session/userinfo`` and for ``GET /healthz``, and the ratio of the
userinfo p50 to the healthz p50 on the same server (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import time

import httpx
from _server import ADMIN_PASSWORD, percentile, running_server


def _timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> float:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with (
        running_server(database_url=args.database_url) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        body = {"username": "admin", "password": ADMIN_PASSWORD}
        logins = [_timed(client, "POST", "/api/v1/session", json=body) for _ in range(args.logins)]
        client.cookies.clear()
        token = client.post("/api/v1/session", json=body).json()["token"]
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(200):  # warm-up
            client.get("/api/v1/session/userinfo", headers=headers)
            client.get("/healthz")
        userinfo: list[float] = []
        healthz: list[float] = []
        for _ in range(args.requests):
            userinfo.append(_timed(client, "GET", "/api/v1/session/userinfo", headers=headers))
            healthz.append(_timed(client, "GET", "/healthz"))
    print(
        f"login            p50 {percentile(logins, 50):8.2f} ms   p95 {percentile(logins, 95):8.2f} ms"
        "   (includes the 500-1000 ms anti-enumeration padding)"
    )
    print(f"userinfo (auth)  p50 {percentile(userinfo, 50):8.3f} ms   p95 {percentile(userinfo, 95):8.3f} ms")
    print(f"healthz          p50 {percentile(healthz, 50):8.3f} ms   p95 {percentile(healthz, 95):8.3f} ms")
    ratio = percentile(userinfo, 50) / percentile(healthz, 50)
    print(f"ratio userinfo/healthz p50: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
