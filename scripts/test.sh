#!/usr/bin/env bash
# Run the test suite (everything but the `slow` marker) with pcscd + vpcd running for the PC/SC tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
started_pcscd=""
if ! pgrep -x pcscd >/dev/null; then
  mkdir -p /run/pcscd
  pcscd -f >/tmp/kiosk-pcscd.log 2>&1 &
  started_pcscd=$!
  trap '[ -n "$started_pcscd" ] && kill "$started_pcscd" 2>/dev/null || true' EXIT
  sleep 1
fi
.venv/bin/python -m pytest -m "not slow" "$@"
