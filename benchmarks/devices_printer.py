"""Driver overhead of printing a registration slip, beside the time a real printer takes to print it.

EscposReceiptPrinter prints to the zero-latency simulator over loopback TCP (and a pty): render the
Document to ESC/POS, check the status (DLE EOT 1..4), send, check the status again. The physical print
time is the slip's length on paper at 250 mm/s (a typical 80 mm kiosk thermal printer), ~0.3 s for 8 cm.

Run: `.venv/bin/python benchmarks/devices_printer.py [--prints N]`. The simulator runs in this process
(another thread, same GIL, and it parses every byte), so the figures are upper bounds for the driver.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from kiosk.devices.printer import EscposReceiptPrinter, NetworkLink, SerialLink, render_escpos
from kiosk.domain.document import Align, Barcode, Document, Feed, QrCode, Rule, Text
from simulators.printer import PrinterSimulator

PRINT_SPEED_MM_S = 250.0
DOTS_PER_MM = 8.0  # 203 dpi
NOMINAL_SLIP_MM = 80.0


def registration_slip() -> Document:
    return Document(
        title="挂号凭条",
        blocks=(
            Text("示范医院", Align.CENTER, width=2, height=2, bold=True),
            Text("挂号凭条 Registration", Align.CENTER),
            Rule(),
            Text("姓名: 张*三"),
            Text("科室: 心血管内科  诊室 3"),
            Text("医生: 李医生 (主任医师)"),
            Text("就诊时间: 2024-05-06 09:30-10:00"),
            Text("序号 No.", Align.CENTER),
            Text("17", Align.CENTER, width=3, height=3, bold=True),
            Text("挂号费: ¥50.00", Align.RIGHT),
            QrCode("REG-20240506-K01-000017", size=6),
            Barcode("R000017"),
            Feed(1),
            Text("请于就诊前15分钟到诊区签到", Align.CENTER),
            Text("机号 K01  2024-05-06 08:12:33"),
        ),
    )


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
