#!/usr/bin/env bash
# The demo: set up what is missing, then run the kiosk with every device simulated and the embedded
# reference HIS. With a display it opens the kiosk window and the tester's panel; without one it walks
# every task offscreen and writes screenshots and rendered receipts to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
started_pcscd=""
if ! pgrep -x pcscd >/dev/null; then
  mkdir -p /run/pcscd 2>/dev/null || true
  if pcscd -f >/tmp/kiosk-pcscd.log 2>&1 & then
    started_pcscd=$!
    trap '[ -n "$started_pcscd" ] && kill "$started_pcscd" 2>/dev/null || true' EXIT
    sleep 1
  fi
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  export QT_QPA_PLATFORM=offscreen
fi
.venv/bin/kiosk demo --out demo-out "$@"
