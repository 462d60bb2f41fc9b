"""Worker processes that stop with the command that started them, however it ends.

Every command that runs work in other processes (``refnn parity-report``'s other Keras
backends, ``refnn housing``'s frameworks, its Keras-defaults baseline and its seed study)
starts them through :class:`WorkerPool`, a ``ProcessPoolExecutor`` of fresh ("spawn")
interpreters, in which:

* Ctrl-C belongs to the parent.  The terminal sends it to the whole process group, workers
  included; a worker starts with SIGINT blocked (the parent blocks it while it starts one, and
  the mask is inherited through fork and exec), and its first act is to ignore SIGINT and
  unblock it, which discards one that came in the meantime.  So no worker prints a
  ``KeyboardInterrupt`` traceback, not even one interrupted while it was still importing.
* A worker whose parent is gone (SIGKILL, a crash) ends at once: on Linux the kernel kills
  it (``PR_SET_PDEATHSIG``), elsewhere a thread started before anything else watches
  ``os.getppid()`` (within a fraction of a second).
* :meth:`WorkerPool.stop` ends the workers now (SIGTERM, SIGKILL after a grace period) instead
  of letting them finish their tasks, as leaving a ``with ProcessPoolExecutor`` block would.
  A command stops its pools when an exception leaves its work (Ctrl-C's KeyboardInterrupt,
  SIGTERM's ``SystemExit`` from :mod:`parity_tests.harness.output`, a failure).
* A :class:`Group` gathers the pools that other threads start for one command, so that the
  main thread can stop them all; once stopped it refuses new ones, so a thread that had not
  yet started its pool cannot start one after the command was interrupted.
* :class:`Interrupts` stops a group the moment SIGINT or SIGTERM arrives, from a thread that
  the signal wakes, whatever the main thread is doing; the main thread then ends with
  KeyboardInterrupt (130, "interrupted") or SystemExit(143).

A worker is ready (its watch runs, SIGINT is ignored) once SIGINT shows among the ignored
signals in ``/proc/PID/status``: the tests wait for that instead of sleeping.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

PARENT_POLL_SECONDS = 0.1  # how often a worker checks that its parent is alive
STOP_GRACE_SECONDS = 1.0  # SIGTERM, then SIGKILL for a worker still alive after this


class WorkersStopped(RuntimeError):
    """A pool was asked for after its group was stopped (the command is ending)."""


# ---------------------------------------------------------------------------- in the worker


def _start_worker(
    parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """First code of every worker: the parent watch, then SIGINT ignored (and unblocked),
    then the pool's own initializer."""
    _kill_with_parent()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if initializer is not None:
        initializer(*initargs)


def _kill_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this worker when the thread that started it ends
    (the parent's death ends it), however busy the worker is: the watch thread needs the
    interpreter, which a long computation or import may hold for seconds.  Every thread that
    starts workers here (a submitting thread, a pool's manager thread) outlives them."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_with_parent() -> None:
    """For a child started by ``subprocess`` (``preexec_fn=kill_with_parent``): on Linux it
    gets SIGKILL when the thread that started it ends, so it dies with its command whatever
    the signal (elsewhere: nothing)."""
    _kill_with_parent()


def _exit_with_parent(parent: int) -> None:
    """Elsewhere, and for a parent gone before the line above ran: poll."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


# ---------------------------------------------------------------------------- in the parent


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back in this thread, and so in the processes and threads it starts."""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: no masks to inherit
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class WorkerPool(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` of spawned workers that die with this process (see the
    module's documentation); ``group``: the :class:`Group` that may stop it."""

    def __init__(
        self,
        max_workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        group: Group | None = None,
        **options: Any,
    ) -> None:
        import multiprocessing

        super().__init__(
            max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), initializer, initargs),
            **options,
        )
        self._group = group
        self._stopped = False
        self._closing = threading.RLock()  # stop and shutdown may come from two threads at once
        self._closed = False
        if group is not None:
            group._add(self)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Any:
        # A worker is started by the first submits, and a replacement (max_tasks_per_child)
        # by the pool's manager thread, which submit starts: both inherit the blocked mask.
        with self._group._lock if self._group else contextlib.nullcontext():
            if self._stopped or (self._group is not None and self._group.stopped):
                raise WorkersStopped("the command is stopping; no new work")
            with _sigint_blocked():
                return super().submit(fn, *args, **kwargs)

    def processes(self) -> list[Any]:
        return list((getattr(self, "_processes", None) or {}).values())

    def stop(self) -> None:
        """End every worker now (unfinished tasks fail with BrokenProcessPool) and shut the
        pool down; a no-op for a pool already shut down."""
        self._stopped = True
        with self._closing:
            if self._closed:
                return
            _end(self.processes())
            self.shutdown(wait=True, cancel_futures=True)
            _end(self.processes())  # one the manager thread started meanwhile

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # ProcessPoolExecutor.shutdown run twice at once closes its queues twice (EBADF)
        with self._closing:
            if self._closed:
                return
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
            self._closed = wait


def _end(processes: list[Any]) -> None:
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


class Group:
    """The pools of one command, whichever thread starts them; :meth:`stop` ends them all and
    refuses new ones."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pools: list[WorkerPool] = []
        self.stopped = False

    def _add(self, pool: WorkerPool) -> None:
        with self._lock:
            if self.stopped:
                raise WorkersStopped("the command is stopping; no new workers")
            self._pools.append(pool)

    def stop(self) -> None:
        with self._lock:  # a submit in progress finishes first: its worker is then stopped
            self.stopped = True
            pools = list(self._pools)
        errors = []
        for pool in pools:
            try:
                pool.stop()
            except Exception as exc:  # the others must be stopped all the same
                errors.append(exc)
        if errors:
            raise errors[0]

    @contextlib.contextmanager
    def stopped_on_error(self) -> Iterator[Group]:
        """Stop the group when an exception (Ctrl-C, SIGTERM's SystemExit, a failure) leaves
        the block; put it inside a block that waits for the threads using the group."""
        try:
            yield self
        except BaseException:
            self.stop()
            raise


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class Interrupts:
    """Within the block (main thread): Ctrl-C (SIGINT) and SIGTERM stop ``group``'s workers at
    once, then end the block with KeyboardInterrupt, or SystemExit(143) for SIGTERM.

    The workers are stopped by a thread that the signal wakes (``signal.set_wakeup_fd``),
    not by the Python handler, which runs only when the main thread is back in Python code:
    a framework's compilation or import can keep it away for seconds.  While the main thread
    is importing, the exception waits until the next :meth:`check`: an exception in the
    middle of a framework's import is swallowed by some (torch, sometimes) or leaves them
    half-initialized, and the run would go on.  Call :meth:`check` between units of work."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.pending: int | None = None  # the signal that came
        self._previous: dict[int, Any] = {}
        self._wakeup: tuple[Any, int] | None = None  # (writing socket, the previous fd)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is not threading.main_thread():
            return self
        import socket

        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._wakeup = (writer, previous)
        threading.Thread(target=self._watch, args=(reader,), daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        if self._wakeup is not None:
            writer, previous = self._wakeup
            signal.set_wakeup_fd(previous)
            writer.close()  # the watch thread's read ends
            self._wakeup = None

    def _watch(self, reader: Any) -> None:
        with reader:
            while data := reader.recv(64):
                if {signal.SIGINT, signal.SIGTERM} & set(data):
                    self.group.stop()
                    return

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pending is None:
            self.pending = signum
            threading.Thread(target=self.group.stop, daemon=True).start()  # if not already
        if not _importing(frame):
            self.check()

    def check(self) -> None:
        """Raise the interruption that came while the main thread was importing, if any."""
        if self.pending == signal.SIGINT:
            raise KeyboardInterrupt
        if self.pending is not None:
            raise SystemExit(128 + self.pending)


def run_in_process(
    fn: Callable[..., T],
    *args: Any,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    group: Group | None = None,
) -> T:
    """``fn(*args)`` in a fresh worker process (a :class:`WorkerPool` of one), stopped at once
    if this call is interrupted or its group stopped."""
    pool = WorkerPool(1, initializer, initargs, group=group)
    try:
        result: T = pool.submit(fn, *args).result()
    except BaseException:
        pool.stop()
        raise
    pool.shutdown(wait=True)
    return result
