"""Top frames of a py-spy profile (collapsed stacks, `--format raw`): where the server's time goes.

Run: `.venv/bin/python benchmarks/profile_summary.py PROFILE [--top 25] [--thread-filter TEXT]`.
Prints each function's share of all samples twice: inclusive (it or anything it called was running)
and self (it was the innermost frame). Idle samples — the event loop waiting in select/epoll, a
thread waiting on a lock or condition — are counted apart, so the shares are of busy time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_IDLE = ("select (selectors.py", "wait (threading.py", "_worker (concurrent/futures/thread.py")


def _function(frame: str) -> str:
    """`name (file:line)` -> `name (file)`: a function's samples gathered over its lines."""
    return re.sub(r":\d+\)$", ")", frame)


def summarise(path: Path) -> tuple[int, int, Counter[str], Counter[str]]:
    """(busy samples, idle samples, inclusive counts, self counts) per function."""
    busy = idle = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        frames = [_function(f) for f in match.group(1).split(";")[1:]]  # [0] names the process
        count = int(match.group(2))
        if not frames or any(frames[-1].startswith(i) for i in _IDLE):
            idle += count
            continue
        busy += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return busy, idle, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    busy, idle, inclusive, own = summarise(args.profile)
    print(f"{busy} busy samples, {idle} idle ({idle / max(1, busy + idle):.0%} of all)")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"\ntop {args.top} by {title} time (% of busy samples)")
        for frame, count in counts.most_common(args.top):
            print(f"{count / max(1, busy):6.1%}  {frame}")


if __name__ == "__main__":
    main()
