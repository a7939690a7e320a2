#!/usr/bin/env bash
# What the GPU machine's own python3 (3.12, x86-64) lacks for benchmarks/gpu_suite.py, built here into
# .whl/gpu-site.tar.xz (git-ignored; about 36 MB, a few minutes of xz on 2 cores), which the device call
# names in `carry` and unpacks to a folder on PYTHONPATH (README, "GPU checks"). The wheels are the
# versions this project's venv holds, installed with --no-deps into one folder, then xz-compressed:
# polars' runtime alone is a 54 MB wheel, and tree + carry must stay well under 64 MiB.
# That machine already holds torch, torchvision, transformers, timm, safetensors, pyarrow, pillow,
# rich, typer, scipy, scikit-learn, httpx, pytest and pytest-timeout. No GPU step needs spacy,
# wordfreq, ray or datasets, and they stay out.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=/work/main/.venv/bin/python
OUT=${1:-.whl}
PACKAGES="polars polars-runtime-32 open_clip_torch ftfy wcwidth tenacity protego"
pins=$("$PYTHON" - $PACKAGES <<'PY'
import importlib.metadata as md, sys
print(" ".join(f"{name}=={md.version(name)}" for name in sys.argv[1:]))
PY
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
platforms=""
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
           manylinux2014_x86_64 manylinux1_x86_64; do
  platforms="$platforms --platform $tag"
done
# shellcheck disable=SC2086
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $platforms -d "$work/wheels" $pins
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$work/site" "$work"/wheels/*.whl
mkdir -p "$OUT"
tar -C "$work/site" -cf - . | xz -T0 -6 > "$OUT/gpu-site.tar.xz"
echo "$pins" > "$OUT/gpu-site.txt"
ls -la "$OUT"
