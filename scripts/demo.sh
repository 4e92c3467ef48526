#!/usr/bin/env bash
# The demo: set up what is missing, then run the kiosk with every device simulated and the embedded
# reference HIS. With a display it opens the kiosk window and the tester's panel; without one it walks
# every task offscreen and writes screenshots and rendered receipts to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The insurance-card reader is a real PC/SC reader (vpcd) under pcscd; start one if none runs.
if .venv/bin/python -m simulators.pcscd start; then
  trap '.venv/bin/python -m simulators.pcscd stop || true' EXIT
else
  echo "demo: pcscd could not be started; the insurance-card reader will show as offline"
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  export QT_QPA_PLATFORM=offscreen
fi
.venv/bin/kiosk demo --out demo-out "$@"
