"""Payment terminal driver overhead: sale / query / status round trips against the zero-latency simulator.

The simulator answers at once, so a round trip is pty transfer + simulator + driver. A bare client
(hand-written framing on the raw pty, no driver) runs the same exchanges; the difference is what the
driver (device thread, ACK/NAK bookkeeping, parsing, status events) costs.

Run: `.venv/bin/python benchmarks/devices_payment.py [--sales 300] [--json]`
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import time
import timeit
import tty
from collections.abc import Callable

from kiosk.devices import ecr
from kiosk.devices.payment import EcrPaymentTerminal
from kiosk.domain.money import Money
from simulators.payment import PaymentTerminalSimulator, TerminalTiming

FS = b"\x1c"


def _frame(data: bytes) -> bytes:
    length = len(data).to_bytes(2, "big")
    check = 0
    for byte in length + data + b"\x03":
        check ^= byte
    return b"\x02" + length + data + b"\x03" + bytes([check])


class BareClient:
    """The minimum a kiosk must do on the wire: send, take the ACK, ACK every frame until the final."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.buf = b""

    def _need(self, count: int) -> bytes:
        while len(self.buf) < count:
            ready, _, _ = select.select([self.fd], [], [], 2.0)
            if not ready:
                raise TimeoutError("simulator silent")
            self.buf += os.read(self.fd, 4096)
        out, self.buf = self.buf[:count], self.buf[count:]
        return out

    def exchange(self, data: bytes) -> bytes:
        os.write(self.fd, _frame(data))
        assert self._need(1) == b"\x06"
        while True:
            head = self._need(3)
            length = int.from_bytes(head[1:3], "big")
            body = self._need(length + 2)
            os.write(self.fd, b"\x06")
            if not body.startswith(b"90"):
                return body[:length]

    def close(self) -> None:
        os.close(self.fd)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {
        "mean_ms": statistics.fmean(samples) * 1e3,
        "p50_ms": pick(0.50) * 1e3,
        "p95_ms": pick(0.95) * 1e3,
        "p99_ms": pick(0.99) * 1e3,
    }


def _time(count: int, op: Callable[[int], object]) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - start)
    return samples


def codec_figures() -> dict[str, float]:
    sale = ecr.build_sale("K01-261123105541994-1b5f0b", Money(1250))
    final = FS.join(
        [
            b"01",
            b"00",
            b"K01-261123105541994-1b5f0b",
            b"000000001250",
            b"622202******1234",
            b"123456",
            b"261123000001",
            b"000001",
            b"20261123105541",
            "交易成功".encode("gb18030"),
        ]
    )
    wire = _frame(final)

    def read_and_parse() -> None:
        reader = ecr.FrameReader()
        reader.feed(wire)
        data = reader.next_event()
        assert isinstance(data, bytes)
        ecr.parse_response(data)

    n = 20_000
    return {
        "encode_sale_frame_us": timeit.timeit(lambda: ecr.encode_frame(sale), number=n) / n * 1e6,
        "read_and_parse_final_us": timeit.timeit(read_and_parse, number=n) / n * 1e6,
    }


def run(sales: int) -> dict[str, object]:
    sim = PaymentTerminalSimulator(timing=TerminalTiming.instant())
    path = sim.start()
    report: dict[str, object] = {"sales": sales, "codec": codec_figures()}
    try:
        bare = BareClient(path)
        amount = b"000000001250"
        bare_sale = _time(sales, lambda i: bare.exchange(b"01" + FS + f"B{i}".encode() + FS + amount))
        bare_query = _time(sales, lambda i: bare.exchange(b"04" + FS + f"B{i}".encode()))
        bare_status = _time(sales, lambda _i: bare.exchange(b"06"))
        bare.close()

        driver = EcrPaymentTerminal(path)
        driver.open()
        try:
            drv_sale = _time(sales, lambda i: driver.sale(f"D{i}", Money(1250)))
            drv_query = _time(sales, lambda i: driver.query(f"D{i}"))
            drv_status = _time(sales, lambda _i: driver.terminal_state())
        finally:
            driver.close()
    finally:
        sim.stop()

    for name, bare_samples, drv_samples in [
        ("sale (request + 4 progress + final)", bare_sale, drv_sale),
        ("query", bare_query, drv_query),
        ("status", bare_status, drv_status),
    ]:
        b, d = _stats(bare_samples), _stats(drv_samples)
        report[name] = {"bare": b, "driver": d, "driver_overhead_ms": d["p50_ms"] - b["p50_ms"]}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.sales)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    codec = report["codec"]
    assert isinstance(codec, dict)
    print(
        f"codec: encode sale frame {codec['encode_sale_frame_us']:.1f} µs, "
        f"read+parse final frame {codec['read_and_parse_final_us']:.1f} µs"
    )
    print(f"{'exchange':38} {'client':7} {'mean':>8} {'p50':>8} {'p95':>8} {'p99':>8}  (ms, n={args.sales})")
    for name, row in report.items():
        if not isinstance(row, dict) or "bare" not in row:
            continue
        for client in ("bare", "driver"):
            s = row[client]
            print(
                f"{name:38} {client:7} {s['mean_ms']:8.2f} {s['p50_ms']:8.2f} {s['p95_ms']:8.2f} {s['p99_ms']:8.2f}"
            )
        print(f"{'':38} driver overhead at p50: {row['driver_overhead_ms']:.2f} ms")


if __name__ == "__main__":
    main()
