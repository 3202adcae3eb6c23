"""Real PostgreSQL and Redis servers for the tests (Debian's packages), each on a free loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user that Debian's package
creates."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Asks a child process to stop (``sig``) and waits up to 20 s, then kills it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _pg_bin(name: str) -> str:
    override = os.environ.get("PG_BIN")
    if override:
        return str(Path(override) / name)
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if versions:
        return versions[-1]
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: apt-get install postgresql")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    """A PostgreSQL server on a free port that a drill can stop and start again (same data, same port)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self.data = self.base / "data"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-U", "portal", "--auth=trust",
                                     "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)

    @property
    def url(self) -> str:
        """An asyncpg URL of the database ``portal``."""
        return f"postgresql+asyncpg://portal@127.0.0.1:{self.port}/portal"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            _as_postgres([_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.base),
                          "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def create_database(self) -> None:
        for _ in range(100):
            done = subprocess.run(_as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                                                "portal", "portal"]), capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"createdb failed: {done.stderr.decode(errors='replace')}")

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a restart or a failover."""
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]),
                           capture_output=True, timeout=60)
            self.proc.wait(timeout=30)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def postgresql_server() -> Iterator[str]:
    """Yields an asyncpg URL of a fresh server with a database ``portal``."""
    server = PostgresServer()
    try:
        server.start()
        server.create_database()
        yield server.url
    finally:
        server.close()


class RedisServer:
    """A Redis server on a free port that a drill can stop and start again; with ``persistent`` its data
    (sessions) survives the restart, as with Redis's append-only file in production."""

    def __init__(self, persistent: bool = False) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="redistest-"))
        self.port = free_port()
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      *persistence, "--dir", str(self.base)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    server = RedisServer()
    try:
        server.start()
        yield server.url
    finally:
        server.close()


def fresh_database(url: str, name: str) -> str:
    """A new empty database on the server behind ``url``; returns its URL."""
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return url.rsplit("/", 1)[0] + f"/{name}"
