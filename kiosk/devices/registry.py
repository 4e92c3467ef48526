"""Config driver name -> driver factory, one table per device class (the only place drivers are chosen).

`sim` is not a driver of its own: the real protocol driver is built against a simulator that plays the
device on a real transport (pty, vpcd, TCP). The composition root starts the simulators and hands
this module their endpoints; devices never import the simulators.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.config import Config


def _idcard(section: Any) -> Any:
    from kiosk.devices.idcard import Ga467Reader

    return Ga467Reader.from_config(section)


def _insurance(section: Any) -> Any:
    from kiosk.devices.insurance import PcscInsuranceReader

    return PcscInsuranceReader.from_config(section)


def _printer(section: Any) -> Any:
    from kiosk.devices.printer import EscposReceiptPrinter

    return EscposReceiptPrinter.from_config(section)


def _payment(section: Any) -> Any:
    from kiosk.devices.payment import EcrPaymentTerminal

    return EcrPaymentTerminal.from_config(section)


def _scanner(section: Any) -> Any:
    from kiosk.devices.scanner import HidScanner, SerialScanner

    return (HidScanner if section.driver == "hid-scanner" else SerialScanner).from_config(section)


FACTORIES: dict[str, Callable[[Any], Any]] = {
    "idcard": _idcard,
    "insurance": _insurance,
    "printer": _printer,
    "payment": _payment,
    "scanner": _scanner,
}
DEVICE_KINDS = tuple(FACTORIES)


def build_device(kind: str, config: Config, sim_endpoint: Mapping[str, Any] | None = None) -> Any:
    """Build (not open) the driver for device `kind`; with driver "sim", `sim_endpoint` (the config keys
    of the running simulator, e.g. its pty path) points the real driver at it."""
    section = getattr(config.devices, kind)
    if section.driver == "sim":
        if sim_endpoint is None:
            raise ValueError(f"devices.{kind}.driver is 'sim' but no simulators are running")
        section = dataclasses.replace(section, **sim_endpoint)
    return FACTORIES[kind](section)
