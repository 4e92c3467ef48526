"""Driver overhead of an ID-card read: Ga467Reader against the zero-latency pty simulator, beside the ~1 s a
real reader needs for the RF read itself.

Run: `.venv/bin/python benchmarks/devices_idcard.py [--reads N]`. The simulator runs in the same process
(another thread, same GIL), so the figure is an upper bound on what the driver adds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kiosk.devices import ga467
from kiosk.devices.idcard import Ga467Reader
from simulators.idcard import TEST_CARDS, IdCardSimulator

PHYSICAL_READ_S = 1.0  # typical find+select+read time of a real GA 467 reader (card on the pad)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_codec(rounds: int) -> float:
    """Seconds to decode one 1295-byte read reply (frame + blocks + text), pure Python."""
    text = TEST_CARDS["normal"].text_block()
    frame = ga467.encode_frame(bytes((0, 0, 0x90, 1, 0, 4, 0)) + text + bytes(1024))
    start = time.perf_counter()
    for _ in range(rounds):
        reader = ga467.FrameReader()
        reader.feed(frame)
        reply = ga467.decode_response(reader.next_frame() or b"")
        ga467.decode_text_block(ga467.split_card_blocks(reply.data).text)
    return (time.perf_counter() - start) / rounds


def bench_driver(reads: int) -> list[float]:
    """Wall time of each `read_card` (find, select, read 1295 B, appended address) over the pty."""
    with tempfile.TemporaryDirectory() as tmp:
        sim = IdCardSimulator(link_path=str(Path(tmp) / "kiosk-idcard"))
        driver = Ga467Reader(sim.start())
        driver.open()
        times = []
        try:
            for _ in range(reads):
                sim.remove_card()
                sim.insert_card(TEST_CARDS["normal"])
                start = time.perf_counter()
                driver.read_card(timeout_s=5)
                times.append(time.perf_counter() - start)
        finally:
            driver.close()
            sim.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    codec_s = bench_codec(2000)
    times = bench_driver(args.reads)
    median, p95 = statistics.median(times), _percentile(times, 0.95)
    print(f"codec: decode one read reply        {codec_s * 1e6:8.1f} us")
    print(f"driver: read_card over pty, n={len(times):<4}  median {median * 1e3:6.2f} ms  "
          f"p95 {p95 * 1e3:6.2f} ms  max {max(times) * 1e3:6.2f} ms")  # fmt: skip
    print(f"physical read time of a real reader ~{PHYSICAL_READ_S:.1f} s")
    print(f"ratio driver overhead / physical read: median {median / PHYSICAL_READ_S:.2%}, "
          f"p95 {p95 / PHYSICAL_READ_S:.2%}")  # fmt: skip


if __name__ == "__main__":
    main()
