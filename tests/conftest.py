"""Shared test settings: Qt offscreen, and the shared helper modules under unique names.

With --import-mode=importlib test directories are not packages, so the modules every test directory
uses are registered here: `kiosk_test_support` (tests/support.py) and `kiosk_test_fakes`
(tests/flows/fakes.py, fake ports and HIS for the flows and the UI).
"""

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_HERE = Path(__file__).parent
for _name, _path in (("kiosk_test_support", _HERE / "support.py"), ("kiosk_test_fakes", _HERE / "flows" / "fakes.py")):
    if _name not in sys.modules:
        _spec = importlib.util.spec_from_file_location(_name, _path)
        assert _spec and _spec.loader
        _module = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _module
        _spec.loader.exec_module(_module)
