"""A throwaway PostgreSQL cluster in a temp dir (TESTING.md recipe), for tests and benchmarks."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PORT = 55432


def find_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class TempCluster:
    """initdb + pg_ctl start in a temp dir, TCP off, the socket in the dir; `url(db)` for SQLAlchemy."""

    bindir: Path
    root: Path

    @classmethod
    def start(cls) -> TempCluster:
        bindir = find_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
        root = Path(tempfile.mkdtemp(prefix="his-pg-"))
        cluster = cls(bindir, root)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        cluster._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "kiosk", "--no-sync")
        cluster._run(
            "pg_ctl",
            "-D",
            str(root / "data"),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-k {root} -p {PORT} -c listen_addresses='' -c fsync=off -c max_connections=300",
            "start",
        )
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:  # initdb refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://kiosk@/{database}?host={self.root}&port={PORT}"

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host=str(self.root), port=PORT, user="kiosk", dbname="postgres", autocommit=True
        ) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
