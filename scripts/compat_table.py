"""Generates the README's compatibility table from the upstream swagger and our route table.

``python scripts/compat_table.py [--write]``: prints the table, or rewrites it in README.md between the markers.
A test keeps the README's table equal to what this produces.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWAGGER = ROOT.parent / "shared" / "argocd-swagger.json"
BEGIN = "<!-- compat-table:begin -->"
END = "<!-- compat-table:end -->"
_PARAM = re.compile(r"\{[^}]*\}")


def normalize(path: str) -> str:
    return _PARAM.sub("{}", path)


def upstream_operations(swagger: Path = SWAGGER) -> list[tuple[str, str, str]]:
    """(METHOD, path, operationId) of every upstream operation."""
    spec = json.loads(swagger.read_text())
    ops = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            ops.append((method.upper(), path, op["operationId"]))
    return sorted(ops, key=lambda o: (o[2].split("_")[0], o[1], o[0]))


def our_routes() -> set[tuple[str, str, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from argocd_server.main import create_app
    from argocd_server.settings import Settings

    # The generated OpenAPI document lists every routed operation with its path and operation id.
    spec = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    found = set()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            found.add((method.upper(), normalize(path), str(op.get("operationId", ""))))
    return found


def table() -> str:
    routes = our_routes()
    lines = ["| Service | Operation | Method | Path | Status |", "|---|---|---|---|---|"]
    built = 0
    ops = upstream_operations()
    for method, path, op_id in ops:
        ok = (method, normalize(path), op_id) in routes
        built += ok
        service, _, name = op_id.partition("_")
        lines.append(f"| {service} | {name} | {method} | `{path}` | {'built' if ok else 'not yet (404)'} |")
    lines.append("")
    lines.append(f"{built} of {len(ops)} upstream operations built.")
    return "\n".join(lines)


def render_readme(readme: str, generated: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END)
    return readme[: start + len(BEGIN)] + "\n" + generated + "\n" + readme[end:]


def main() -> None:
    generated = table()
    if "--write" in sys.argv:
        path = ROOT / "README.md"
        path.write_text(render_readme(path.read_text(), generated))
    else:
        print(generated)


if __name__ == "__main__":
    main()
