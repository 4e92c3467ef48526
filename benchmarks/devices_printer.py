"""Driver overhead of printing a registration slip, beside the time a real printer takes to print it.

EscposReceiptPrinter prints to the zero-latency simulator over loopback TCP (and a pty): render the
Document to ESC/POS, check the status (DLE EOT 1..4), send, check the status again. The physical print
time is the slip's length on paper at 250 mm/s (a typical 80 mm kiosk thermal printer), ~0.3 s for 8 cm.

Run: `.venv/bin/python benchmarks/devices_printer.py [--prints N]`. The simulator runs in this process
(another thread, same GIL, and it parses every byte), so the figures are upper bounds for the driver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable

from kiosk.devices.printer import EscposReceiptPrinter, NetworkLink, SerialLink, render_escpos
from kiosk.domain.appointment import Appointment, AppointmentStatus, Collected
from kiosk.domain.document import Document
from kiosk.domain.idnumber import Sex
from kiosk.domain.money import Money
from kiosk.domain.patient import Patient
from kiosk.flows import receipts
from kiosk.flows.receipts import SlipContext
from simulators.printer import PrinterSimulator

PRINT_SPEED_MM_S = 250.0
DOTS_PER_MM = 8.0  # 203 dpi
NOMINAL_SLIP_MM = 80.0


def registration_slip() -> Document:
    """The kiosk's real registration slip (kiosk.flows.receipts) for a typical morning appointment."""
    tz = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2026, 11, 23, 9, 30, tzinfo=tz)
    patient = Patient("P000123", "张小三", Sex.MALE, dt.date(1980, 1, 1), "110***********0011", "8800000123")
    appointment = Appointment(
        "A0000017", "43647048", patient.id, start.date(), "am", start, start + dt.timedelta(minutes=15),
        "D03", "心血管内科", "李医生", "主任医师", Money(5000), AppointmentStatus.COLLECTED,
    )
    collected = Collected(appointment, "C017", "301诊区", "3F", Money(0))
    context = SlipContext("示范医院", "K01", start - dt.timedelta(hours=1), "PAY0000017")
    return receipts.registration_slip(patient, collected, context)


def _timed(op: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        op()
        samples.append(time.perf_counter() - start)
    return samples


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prints", type=int, default=300)
    args = ap.parse_args()
    slip = registration_slip()

    render = _timed(lambda: render_escpos(slip), args.prints)
    size = len(render_escpos(slip))

    sim = PrinterSimulator()
    host, port = sim.start()
    results: dict[str, list[float]] = {}
    try:
        with EscposReceiptPrinter(NetworkLink(host, port), timeout_s=5.0) as printer:
            printer.print_document(slip)  # warm-up: connect, font cache
            results["tcp"] = _timed(lambda: printer.print_document(slip), args.prints)
        with EscposReceiptPrinter(SerialLink(sim.open_serial(), 115200), timeout_s=5.0) as printer:
            printer.print_document(slip)
            results["pty"] = _timed(lambda: printer.print_document(slip), args.prints)
        receipt = sim.wait_for_receipt(timeout=5, count=1)
        paper_mm = receipt.image().height / DOTS_PER_MM
    finally:
        sim.stop()

    physical_s = paper_mm / PRINT_SPEED_MM_S
    nominal_s = NOMINAL_SLIP_MM / PRINT_SPEED_MM_S
    print(
        f"slip: {size} bytes of ESC/POS, {paper_mm:.0f} mm of paper -> {physical_s * 1000:.0f} ms "
        f"at {PRINT_SPEED_MM_S:.0f} mm/s (nominal 8 cm: {nominal_s * 1000:.0f} ms)"
    )
    print(
        f"render_escpos: median {statistics.median(render) * 1000:.2f} ms, "
        f"p95 {_p(render, 0.95) * 1000:.2f} ms"
    )
    for name, samples in results.items():
        median = statistics.median(samples)
        print(
            f"print_document over {name}: median {median * 1000:.2f} ms, p95 {_p(samples, 0.95) * 1000:.2f} ms"
            f" -> {median / nominal_s:.2%} of the 0.32 s physical print "
            f"({median / physical_s:.2%} of this slip's {physical_s:.2f} s)"
        )


if __name__ == "__main__":
    main()
