"""One job in two processes: part of it runs in a forked child while this process does the rest.

A province is thousands of spec files and thousands of SQL objects, and the machines ybt runs on (a
CI runner, a district office's PC) have two cores or more. Where ``fork`` is safe (Linux) and two CPUs
are ours, :func:`in_two` runs one independent part of a job in a child, which sends its result back
as bytes through a pipe, while this process runs the other part.

The result never depends on the child: if it cannot be started, dies, or sends something that cannot
be read back, this process does that part itself afterwards, and the answer is the same, only later.
``YBT_JOBS=1`` keeps everything in one process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import TypeVar

Here = TypeVar("Here")
There = TypeVar("There")


def jobs() -> int:
    """Processes a job may use: 2 on Linux with two CPUs for us, else 1; ``YBT_JOBS=1`` means 1."""
    if os.environ.get("YBT_JOBS", "").strip() == "1" or sys.platform != "linux":
        return 1
    return 2 if len(os.sched_getaffinity(0)) >= 2 else 1


def in_two(here: Callable[[], Here], there: Callable[[], bytes], received: Callable[[bytes], There], instead: Callable[[], There]) -> tuple[Here, There]:
    """``(here(), received(there()))`` with ``there`` run in a forked child while this process runs ``here``.

    ``there`` must not depend on what ``here`` does (the child is a copy of this process as it was
    before ``here`` started) and must not write to the terminal. When the child fails in any way, or
    ``received`` cannot read what it sent, ``instead()`` (which computes what ``received`` would have
    given) runs here after ``here``. An exception in ``here`` kills the child and is raised.
    """
    rfd, wfd = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare: one does it all
        os.close(rfd)
        os.close(wfd)
        return here(), instead()
    if pid == 0:  # the child: compute, send, leave without running any of the parent's cleanup
        code = 1
        try:
            os.close(rfd)
            payload = there()
            with os.fdopen(wfd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    try:
        mine = here()
    except BaseException:  # interrupted or failed here: the child is not waited for
        os.close(rfd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    with os.fdopen(rfd, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return mine, instead()
    try:
        return mine, received(payload)
    except Exception:  # noqa: BLE001 - whatever the child sent that cannot be read back, this process does its part
        return mine, instead()
