#!/usr/bin/env bash
# The README's run command: the officer console in DEMO mode. Installs what is needed, builds,
# and opens `patrol-alpr --demo`: the built-in traffic simulator (no camera needed), the
# fictitious demo hot list (signed by a demo key at start-up, so the shift-start update runs
# for real) and the demo users, in a demo data folder, with a DEMO marker on every screen.
# Demo credentials are shown on the log-on screen (officer: demo-officer, PIN 111111).
#
# With no display (a server, CI), it runs the same pipeline headless instead and prints every
# read and hot-list hit as a JSON line for DEMO_SECONDS (default 60).
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
if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]]; then
  exec "$bin" --data-dir "$data" --config "$config" --demo
fi
echo "no display found: running the recognition pipeline headless instead of the console" >&2
# Without a user, the simulator is matched against the compiled-in demo list and its reads go
# to a throwaway store (docs/cameras.md); the demo plates below make hits happen.
exec "$bin" --data-dir "$data" --config "$config" run --headless --source sim \
  --seconds "${DEMO_SECONDS:-60}" --sim-plate DEMO001 --sim-plate 7DMO123 --sim-plate TEST123 --sim-plate 8DMO456
