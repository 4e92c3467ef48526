#!/usr/bin/env bash
# Set up a fresh Debian machine for the kiosk: system packages (if missing) and the Python venv in .venv.
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pcscd vsmartcard-vpcd libpcsclite-dev swig          # PC/SC + the virtual card reader (insurance card)
  xvfb fonts-noto-cjk espeak-ng alsa-utils             # a screen for the demo, Chinese fonts, voice (aplay: recorded prompts)
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3                  # Qt
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1  # Qt on X
  postgresql                                           # the HIS's second database, for its tests
  python3-venv python3-dev gcc socat
  chromium chromium-driver                             # the fleet page's browser test (headless)
  systemd cage                                         # systemd-analyze verify of the unit (its ExecStart is cage)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts pcscd through systemd socket activation; in containers there is no systemd, and the
# tests and demo start their own pcscd in the foreground.

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[his,test]'
echo "setup: ready (.venv)"
