#!/usr/bin/env bash
# Regenerates docs/screenshots/: runs the console in demo mode under Xvfb through the hidden
# --tour option, which drives a whole shift (day, then night) and saves each screen as the
# window rendered it. Needs xvfb (apt-get install xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
out=docs/screenshots
data=$(mktemp -d)
mkdir -p "$out"
export XDG_RUNTIME_DIR="$data/xdg"
mkdir -p "$XDG_RUNTIME_DIR"
xvfb-run -a -s '-screen 0 1280x800x24' target/release/patrol-alpr --data-dir "$data" --demo --tour "$out" -v
rm -rf "$data"
ls "$out"
