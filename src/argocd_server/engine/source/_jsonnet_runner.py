"""Child-process entry point that evaluates one Jsonnet file for :mod:`.directory`.

Jsonnet can loop forever (``tailstrict`` recursion never exhausts the stack), so it runs in its own
process under the common runner's timeout. Reads a JSON job on stdin, writes the JSON result on
stdout. Imports resolve only inside the repository root (the same boundary as Jsonnet libs
upstream). Standard library and ``_jsonnet`` only: it runs with ``python -I``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def main() -> int:
    import _jsonnet  # type: ignore[import-untyped]

    job: dict[str, Any] = json.load(sys.stdin)
    root = os.path.realpath(job["root"])
    jpaths: list[str] = job["jpaths"]

    def import_callback(base: str, rel: str) -> tuple[str, bytes]:
        if os.path.isabs(rel):
            raise RuntimeError(f"import '{rel}': absolute imports are not allowed")
        for directory in [base or os.path.dirname(job["file"]), *jpaths]:
            candidate = os.path.realpath(os.path.join(directory, rel))
            if not _inside(root, candidate):
                raise RuntimeError(f"import '{rel}' resolved to outside repository root")
            if os.path.isfile(candidate):
                with open(candidate, "rb") as fh:
                    return candidate, fh.read()
        raise RuntimeError(f"import '{rel}' not found")

    try:
        result = _jsonnet.evaluate_file(
            job["file"],
            ext_vars=job["ext_vars"],
            ext_codes=job["ext_codes"],
            tla_vars=job["tla_vars"],
            tla_codes=job["tla_codes"],
            import_callback=import_callback,
        )
    except RuntimeError as exc:
        sys.stderr.write(str(exc).replace(root, "<repo>"))
        return 1
    sys.stdout.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
