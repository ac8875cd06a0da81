#!/usr/bin/env bash
# The README's run command: patrol-alpr in DEMO mode. Installs what is needed, builds, loads
# the fictitious demo hot list and demo users into a demo data folder, and runs the recognition
# pipeline on the built-in traffic simulator (no camera needed), printing every read and hit.
#
# The officer console (touchscreen GUI) is not built yet: until it is, the demo is the
# headless pipeline. DEMO_SECONDS sets how long it runs (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --locked

bin=target/release/patrol-alpr
data=target/demo-data
mkdir -p "$data"
config="$data/DEMO-config.toml"
# Demo only: an insecure per-folder database key, never for patrol use.
printf '[store]\ndemo_key = true\n' > "$config"

banner="*** patrol-alpr DEMO: simulated traffic, fictitious demo hot list and demo users; not for patrol use ***"
echo "$banner" >&2
"$bin" --data-dir "$data" --config "$config" hotlist import assets/demo-hotlist.csv >&2
"$bin" --data-dir "$data" --config "$config" store seed-demo-users >&2
echo "$banner" >&2
exec "$bin" --data-dir "$data" --config "$config" run --headless --source sim \
  --seconds "${DEMO_SECONDS:-60}" --sim-plate DEMO001 --sim-plate 7DMO123 --sim-plate TEST123 --sim-plate 8DMO456
