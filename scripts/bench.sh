#!/usr/bin/env bash
# Print every benchmark's figures (run scripts/setup.sh first).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen PYTHONPATH=.
.venv/bin/python -m simulators.pcscd start
trap '.venv/bin/python -m simulators.pcscd stop || true' EXIT
for bench in benchmarks/kiosk_collect.py benchmarks/kiosk_book.py benchmarks/kiosk_restart.py benchmarks/pay_card.py benchmarks/payment_recovery.py benchmarks/devices_*.py benchmarks/his_*.py; do
  [ -f "$bench" ] || continue
  echo "== $bench"
  .venv/bin/python "$bench"
done
