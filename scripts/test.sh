#!/usr/bin/env bash
# Run the test suite (everything but the `slow` marker) with pcscd + vpcd running for the PC/SC tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
# The layers of DESIGN.md (import-linter contracts in pyproject.toml) and lint, before any test runs.
.venv/bin/lint-imports
.venv/bin/ruff check .
# A pcscd started through simulators.pcscd is one the tests may restart (the reader-recovery test).
.venv/bin/python -m simulators.pcscd start
trap '.venv/bin/python -m simulators.pcscd stop || true' EXIT
.venv/bin/python -m pytest -m "not slow" "$@"
