"""Named tester faults for the printer and payment simulators (the panel's and HTTP port's vocabulary)."""

from __future__ import annotations

from typing import Any

PRINTER_FAULTS = ("ok", "paper_low", "paper_out", "paper_out_mid_receipt", "cover_open", "offline", "slow")


def set_printer_fault(printer: Any, fault: str) -> None:
    """Put the printer simulator in one named condition; "ok" clears every fault and refills paper."""
    if fault not in PRINTER_FAULTS:
        raise ValueError(f"unknown printer fault {fault!r}; one of {', '.join(PRINTER_FAULTS)}")
    printer.refill()
    printer.set_paper_low(False)
    printer.set_cover_open(False)
    printer.set_offline(False)
    printer.set_slow_ms_per_line(0)
    if fault == "paper_low":
        printer.set_paper_low(True)
    elif fault == "paper_out":
        printer.set_paper_out(True)
    elif fault == "paper_out_mid_receipt":
        printer.paper_out_after_bytes(200)
    elif fault == "cover_open":
        printer.set_cover_open(True)
    elif fault == "offline":
        printer.set_offline(True)
    elif fault == "slow":
        printer.set_slow_ms_per_line(40)


def payment_behaviours() -> list[str]:
    from simulators.payment import Behaviour

    return [b.value for b in Behaviour]


def set_payment_behaviour(terminal: Any, behaviour: str, timing: dict[str, Any] | None = None) -> None:
    """How the terminal answers from now on; `timing` (card_s, pin_s, host_s: seconds the cardholder and
    the bank take) changes only the parts given, e.g. all 0 for tests where time is not the point."""
    import dataclasses

    from simulators.payment import Behaviour

    terminal.behaviour = Behaviour(behaviour)
    if timing:
        terminal.timing = dataclasses.replace(terminal.timing, **{k: float(v) for k, v in timing.items()})
