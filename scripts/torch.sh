#!/usr/bin/env bash
# `make install`'s torch: the pinned version (batch_images/torch-version.txt), CPU build unless
# TORCH_VARIANT says otherwise. On Linux a plain `pip install torch` takes PyPI's CUDA build and
# its nvidia wheels (several GB): this asks for torch==VERSION+cpu with PyTorch's CPU index
# (https://download.pytorch.org/whl/cpu) as an extra index. Where that index cannot be reached
# (this project's CI machine: its pip finds the CPU wheel in a local folder) the configured
# indexes must have that build; if none has it pip fails: it never falls back to a CUDA build.
# macOS and Windows: PyPI's torch is the CPU build (local version label none).
#
#   scripts/torch.sh VERSION                 CPU build
#   TORCH_VARIANT=cu128 scripts/torch.sh V   a CUDA build from https://download.pytorch.org/whl/cu128
#   TORCH_VARIANT= scripts/torch.sh V        PyPI's default build
set -euo pipefail
BIN=${BIN:-.venv/bin}
VERSION=${1:?usage: scripts/torch.sh VERSION}
VARIANT=${TORCH_VARIANT-cpu}
INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/$VARIANT}
spec="torch==$VERSION"
args=()
if [ "$(uname -s)" = Linux ] && [ -n "$VARIANT" ]; then
    spec="torch==$VERSION+$VARIANT"
    if "$BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)' "$INDEX" 2>/dev/null; then
        args=(--extra-index-url "$INDEX")
        echo "installing $spec from $INDEX"
    else
        echo "installing $spec from the configured indexes ($INDEX cannot be reached)"
    fi
else
    echo "installing $spec"
fi
"$BIN/pip" install --quiet --disable-pip-version-check "${args[@]}" "$spec" 2>&1 | grep -v "is ignored" || true
"$BIN/python" -c 'import torch
print("  torch", torch.__version__, "(CUDA " + torch.version.cuda + ")" if torch.version.cuda else "(CPU build)")'
