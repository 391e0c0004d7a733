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

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import BinaryIO, TypeVar

Here = TypeVar("Here")
There = TypeVar("There")


#: Below this many files or reports a second process costs more than it saves.
MIN_ITEMS = 200


def jobs() -> int:
    """Processes a job may use: 2 on Linux with two CPUs for us, else 1; ``YBT_JOBS=1`` means 1."""
    if os.environ.get("YBT_JOBS", "").strip() == "1" or sys.platform != "linux":
        return 1
    return 2 if len(os.sched_getaffinity(0)) >= 2 else 1


class Child:
    """A part of a job running in a forked child since construction; :meth:`receive` collects what it sent.

    ``there`` must not depend on anything this process does after the fork (the child is a copy of this
    process as it was then) and must not write to the terminal. When its result was received, or is not
    wanted any more, :meth:`cancel` stops the child and reaps it.
    """

    def __init__(self, there: Callable[[], bytes]) -> None:
        self.pid = 0
        self.pipe: BinaryIO | None = None
        rfd, wfd = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: receive() will compute the part here
            os.close(rfd)
            os.close(wfd)
            return
        if pid == 0:  # the child: compute, send, leave without running any of the parent's cleanup
            code = 1
            try:
                os.close(rfd)
                with os.fdopen(wfd, "wb") as out:
                    message = there()
                    out.write(len(message).to_bytes(8, "little"))
                    out.write(message)
                code = 0
            finally:
                os._exit(code)
        os.close(wfd)
        self.pid, self.pipe = pid, os.fdopen(rfd, "rb")

    def receive(self, received: Callable[[bytes], There], instead: Callable[[], There]) -> There:
        """``received(what the child sent)``; or, when it sent nothing whole (it could not start, died or
        stopped early) or ``received`` cannot read it, ``instead()`` computed here (the same value, later)."""
        if self.pipe is None:
            return instead()
        head = self.pipe.read(8)
        payload = self.pipe.read(int.from_bytes(head, "little")) if len(head) == 8 else b""
        if len(head) != 8 or len(payload) != int.from_bytes(head, "little"):
            self.cancel()  # it died or ended early
            return instead()
        try:
            return received(payload)
        except Exception:  # noqa: BLE001 - whatever the child sent that cannot be read back, this process does its part
            return instead()

    def cancel(self) -> None:
        """Stop the child (what it has not sent is not wanted) and reap it; done once received."""
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def in_two(here: Callable[[], Here], there: Callable[[], bytes], received: Callable[[bytes], There], instead: Callable[[], There]) -> tuple[Here, There]:
    """``(here(), received(there()))`` with ``there`` run in a forked child while this process runs
    ``here`` (see :class:`Child`). An exception in ``here`` stops the child and is raised."""
    child = Child(there)
    try:
        mine = here()
    except BaseException:  # interrupted or failed here: the child is not waited for
        child.cancel()
        raise
    try:
        return mine, child.receive(received, instead)
    finally:
        child.cancel()
