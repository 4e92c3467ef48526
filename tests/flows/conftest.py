"""Loads the shared fakes module under a unique name (tests run with --import-mode=importlib)."""

import importlib.util
import sys
from pathlib import Path

_NAME = "kiosk_test_fakes"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("fakes.py"))
    assert _spec and _spec.loader
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
