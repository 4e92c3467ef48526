"""Software overhead of an insurance-card read (PcscInsuranceReader) beside the PC/SC round-trips it waits on.

Through pcscd + vpcd each APDU costs ~45 ms (vpcd polls), as slow as a real contact card, so the wall time
says little about the driver. This measures, per `read_card` of a card already in the slot:
wall time; time spent inside PC/SC calls (every `smartcard.scard` call the driver makes, timed by a
wrapper); the rest, which is the driver's own share; and the CPU time of the driver's device thread
(from /proc/self/task/<tid>/schedstat). Plus the codec alone against an in-process card.

Run: `.venv/bin/python benchmarks/devices_insurance.py [--reads N]` (starts pcscd if none runs).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcard import scard

from kiosk.devices import sscard
from kiosk.devices.insurance import PcscInsuranceReader
from simulators.insurance import CardApplet, InsuranceCardSimulator, normal_card
from simulators.pcscd import ensure_pcscd, wait_slot_empty

READER = "Virtual PCD 00 01"
PORT = 35964
_PCSC_CALLS = ("SCardEstablishContext", "SCardListReaders", "SCardGetStatusChange", "SCardConnect",
               "SCardStatus", "SCardTransmit", "SCardDisconnect", "SCardReleaseContext")


class PcscTimer:
    """Wraps the scard functions the driver calls and adds up the wall time spent inside them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.transmits = 0
        self._originals: dict[str, Callable[..., Any]] = {}

    def install(self) -> None:
        for name in _PCSC_CALLS:
            original = getattr(scard, name)
            self._originals[name] = original
            setattr(scard, name, self._wrap(name, original))

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(scard, name, original)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args)
            finally:
                if threading.current_thread().name.startswith("dev-"):
                    self.seconds += time.perf_counter() - start
                    self.transmits += name == "SCardTransmit"
        return timed


def _thread_cpu_s(native_id: int) -> float:
    """CPU time of one thread of this process, ns resolution (first field of schedstat)."""
    return int(Path(f"/proc/self/task/{native_id}/schedstat").read_text().split()[0]) / 1e9


def bench_codec(rounds: int) -> float:
    """Seconds of CPU for the whole read sequence (8 APDUs built and parsed) against an in-process card."""
    card = normal_card()
    start = time.process_time()
    for _ in range(rounds):
        sscard.read_card_data(CardApplet(card).handle)
    return (time.process_time() - start) / rounds


def bench_driver(reads: int) -> dict[str, list[float]]:
    timer = PcscTimer()
    sim = InsuranceCardSimulator(port=PORT)
    reader = PcscInsuranceReader(READER, poll_interval_s=60)  # no idle polls inside the measurement
    reader.open()
    device_thread = next(t for t in threading.enumerate() if t.name == f"dev-{reader.name}")
    assert device_thread.native_id is not None
    figures: dict[str, list[float]] = {"wall": [], "pcsc": [], "own": [], "cpu": [], "apdus": []}
    try:
        sim.insert(normal_card())
        reader.read_card(timeout_s=5)  # warm-up: first connect, pcscd's first look at the card
        timer.install()
        for _ in range(reads):
            timer.seconds, timer.transmits = 0.0, 0
            cpu0 = _thread_cpu_s(device_thread.native_id)
            start = time.perf_counter()
            reader.read_card(timeout_s=5)
            wall = time.perf_counter() - start
            figures["wall"].append(wall)
            figures["pcsc"].append(timer.seconds)
            figures["own"].append(wall - timer.seconds)
            figures["cpu"].append(_thread_cpu_s(device_thread.native_id) - cpu0)
            figures["apdus"].append(timer.transmits)
    finally:
        timer.uninstall()
        reader.close()
        sim.stop()
        wait_slot_empty(READER)
    return figures


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=30)
    args = parser.parse_args()
    pcscd = ensure_pcscd()
    try:
        codec_s = bench_codec(2000)
        f = bench_driver(args.reads)
    finally:
        pcscd.stop()
    wall, pcsc, own, cpu = (statistics.median(f[k]) for k in ("wall", "pcsc", "own", "cpu"))
    apdus = statistics.median(f["apdus"])
    print(f"codec: full read sequence vs in-process card     {codec_s * 1e6:8.1f} us CPU (card side included)")
    print(f"driver: read_card through pcscd+vpcd, n={len(f['wall'])}, {apdus:.0f} APDUs per read")
    print(f"  wall                      median {wall * 1e3:7.1f} ms  p95 {_p95(f['wall']) * 1e3:7.1f} ms")
    print(f"  inside PC/SC calls        median {pcsc * 1e3:7.1f} ms  ({pcsc / apdus * 1e3:.1f} ms per APDU)")
    print(f"  driver's own (wall-PC/SC) median {own * 1e3:7.2f} ms  p95 {_p95(f['own']) * 1e3:6.2f} ms"
          f"  = {own / wall:.2%} of the read")  # fmt: skip
    print(f"  device-thread CPU         median {cpu * 1e3:7.2f} ms  p95 {_p95(f['cpu']) * 1e3:7.2f} ms"
          f"  = {cpu / wall:.2%} of the read")  # fmt: skip


if __name__ == "__main__":
    main()
