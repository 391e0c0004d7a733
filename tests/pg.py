"""A throw-away PostgreSQL server for the SQL tests: ``pg_dsn`` (session fixture) yields its DSN.

It finds the server binaries under /usr/lib/postgresql/*/bin, runs initdb as the ``postgres`` user
(initdb refuses root) in a temporary directory owned by postgres, starts the server on a free port
with a private socket directory and ``listen_addresses=127.0.0.1``, and stops it when the session
ends. Tests that need it are skipped, with the reason, only when the binaries are missing or the
server cannot start. Set ``YBT_PG_DSN`` to use a server you run yourself instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL tests: running as root without runuser to switch to the postgres user")
    return [runuser, "-u", "postgres", "--", *args]


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.environ.get("YBT_PG_DSN"):
        yield os.environ["YBT_PG_DSN"]
        return
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (pip install 'psycopg[binary]')")
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL tests: no server binaries (apt-get install -y postgresql)")
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL tests: running as root and there is no postgres user")
    base = Path(tempfile.mkdtemp(prefix="ybt-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        for p in (base, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    log = base / "server.log"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
            env=env,
            timeout=90,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = log.read_text(errors="replace")[-500:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL tests: the server could not start ({exc}; {detail.decode(errors='replace')[-300:]} {text})")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True, env=env, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_database(pg_dsn: str) -> Iterator[str]:
    """A fresh, empty database on the session server (dropped afterwards); yields its DSN."""
    import uuid

    import psycopg

    name = f"ybt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    dsn = pg_dsn.rsplit("/", 1)[0] + "/" + name
    try:
        yield dsn
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
