"""The Batch images here: their local names, the container engine that builds and runs them,
and the digest of the sources they were built from (`make images` labels each image with it,
so a run can tell an image older than the code). scripts/images.sh asks this module
(`python -m textbatch.local.images engine|digest|label|image KIND`) rather than repeat it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = {kind: f"localhost/textbatch-{kind}:latest" for kind in ("cpu", "gpu")}
SOURCE_LABEL = "textbatch.source"
SOURCES = ("pyproject.toml", "textbatch", "functions", "batch_images/Dockerfile.cpu",
           "batch_images/Dockerfile.gpu")  # fmt: skip
CONTAINERS_CONF = REPO / "batch_images" / "containers.conf"


def engine() -> list[str] | None:
    """podman if installed, else docker if its daemon answers, else None. Where runc is there
    too, podman reads batch_images/containers.conf (runc, ulimits: what this sandbox needs; as
    `make images` does) unless CONTAINERS_CONF names another; elsewhere its own defaults."""
    if shutil.which("podman"):
        if shutil.which("runc"):
            os.environ.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
        return ["podman"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "info"], capture_output=True)
        if probe.returncode == 0:
            return ["docker"]
    return None


def source_digest() -> str:
    """sha256 over the images' sources (paths and bytes; caches left out)."""
    digest = hashlib.sha256()
    for top in SOURCES:
        path = REPO / top
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc" or ".egg-info" in str(file):
                continue
            digest.update(str(file.relative_to(REPO)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def built_from(command: list[str], image: str) -> str | None:
    """The source digest an image was built from; None when it is not there."""
    done = subprocess.run(
        [*command, "image", "inspect", "--format", f'{{{{index .Labels "{SOURCE_LABEL}"}}}}',
         image],
        capture_output=True,
        text=True,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def _main(args: list[str]) -> int:
    if args == ["engine"]:
        found = engine()
        if found is None:
            print("no container engine: install podman (apt-get install podman runc) or start "
                  "docker", file=sys.stderr)  # fmt: skip
            return 1
        print(" ".join(found))
    elif args == ["digest"]:
        print(source_digest())
    elif args == ["label"]:
        print(f"{SOURCE_LABEL}={source_digest()}")
    elif len(args) == 2 and args[0] == "image" and args[1] in IMAGES:
        print(IMAGES[args[1]])
    else:
        print("usage: python -m textbatch.local.images engine|digest|label|image cpu|gpu",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
