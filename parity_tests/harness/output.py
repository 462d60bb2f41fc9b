"""Output folders: checked before any work, one run at a time, written whole or not at all.

Every command that writes a folder (``refnn housing``, ``refnn parity-report``, the seed
study) goes through :func:`claim`::

    try:
        out = claim(args.out)        # checks the path and locks it: OutputError otherwise
    except OutputError as exc:
        print(f"refnn housing: {exc}", file=sys.stderr)
        return 2
    with out:                        # the lock is held until the end of the block
        ...the long work...
        paths = out.write(lambda tmp: write_files(tmp))

* :func:`check_target` refuses, before any work, an empty path, an existing file, a path under
  a file, a place that cannot be written, the filesystem root, the home folder and the current
  folder (or one of its parents): each with one line.
* The lock is ``.NAME.lock`` beside the folder, held with ``fcntl.flock`` (non-blocking): a
  second run into the same folder is refused at once, naming the first run's PID.  The kernel
  drops the lock when its process ends, however it ends.
* :meth:`OutputFolder.write` fills ``.NAME.tmp-PID`` beside the folder, then swaps it in with
  two renames (the old folder aside, the new one in) while SIGINT and SIGTERM are held back,
  and deletes the old one.  Entries of the old folder that this run does not write (another
  command's subfolder, say) are carried over as hard links.  A run that fails or is
  interrupted before the swap leaves the previous folder as it was; leftovers of a run killed
  outright (SIGKILL) are cleaned up, or the old folder put back, by the next run.
* While a folder is claimed, SIGTERM raises ``SystemExit(143)`` in the main thread, so that
  ``finally`` blocks run: temporary folders are removed and worker processes stopped (how
  workers die with their command, whatever the signal: :mod:`parity_tests.harness.workers`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None  # type: ignore[assignment]


class OutputError(Exception):
    """An output folder that cannot be used; the message is one line."""


class OutputBusy(OutputError):
    """Another run holds the output folder."""


# ---------------------------------------------------------------------------------- checks


def check_target(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """The folder ``path`` as an absolute path, if a run may write it; OutputError otherwise.

    Nothing is created.  The folder need not exist; its nearest existing ancestor must be a
    folder this process can write in."""
    text = os.fspath(path)
    if not text.strip():
        raise OutputError(f"{option} is empty; name an output folder")
    try:
        return _check_target(text, option)
    except OSError as exc:  # a name too long...
        raise OutputError(f"{option} {_shown(text)}: {exc.strerror or exc}") from None
    except RuntimeError as exc:  # Path.resolve on a loop of symbolic links (Python < 3.13)
        raise OutputError(f"{option} {_shown(text)}: {exc}") from None


def _shown(text: str) -> str:
    """``text`` as a message shows it: quoted when it holds a line break or other control
    character, so the message stays one line."""
    return text if text.isprintable() else repr(text)


def _check_target(text: str, option: str) -> Path:
    target = Path(os.path.abspath(os.path.expanduser(text)))
    text = _shown(text)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{option} {text}: a file of that name exists; name a folder")
    if target == Path(target.anchor):
        raise OutputError(f"{option} {text} is the filesystem root; name a folder of its own")
    home, cwd = Path.home().resolve(), Path.cwd().resolve()
    resolved = target.resolve()
    if resolved == home or resolved == cwd or resolved in cwd.parents:
        raise OutputError(
            f"{option} {text} is the current or home folder (or holds it): it would be "
            "replaced; name a folder of its own"
        )
    ancestor = target.parent
    while not ancestor.exists():
        if ancestor == ancestor.parent:
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputError(
            f"{option} {text}: {_shown(str(ancestor))} is a file, so nothing can be made under it"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(
            f"{option} {text}: cannot write in {_shown(str(ancestor))} (permission denied)"
        )
    return target


# ---------------------------------------------------------------------------------- signals


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` (main thread only; elsewhere
    nothing changes), so cleanup code runs before the process ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (then they are delivered)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# ---------------------------------------------------------------------------------- the folder

# Folders this process holds: claiming one again shares the lock (counted).
_HELD: dict[Path, OutputFolder] = {}


def _sidecar(target: Path, what: str) -> Path:
    return target.parent / f".{target.name}.{what}"


class OutputFolder:
    """A claimed (checked and locked) output folder; see the module's documentation.  Made
    by :func:`claim`; ``close()`` (or leaving its ``with`` block) releases it."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.lock_path = _sidecar(target, "lock")
        self._fd: int | None = None
        self._refs = 0
        self._tmp: Path | None = None
        self._sigterm = contextlib.ExitStack()

    # -- locking
    def _acquire(self) -> None:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # what os.access cannot foresee: a read-only filesystem...
            raise OutputError(
                f"cannot write {_shown(str(self.target))}: {exc.strerror or exc} "
                f"({_shown(str(self.lock_path.parent))})"
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise OutputBusy(
                    f"{_shown(str(self.target))} is being written by another run (PID {other}); "
                    "wait for it to finish or choose another output folder"
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        self._recover()

    def _release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def _recover(self) -> None:
        """Leftovers of runs killed outright (we hold the lock, so none is live): put the old
        folder back if a swap was cut between its two renames, delete temporary folders."""
        parent, name = self.target.parent, self.target.name
        olds = sorted(parent.glob(f".{name}.old-*"), key=lambda p: p.stat().st_mtime)
        if olds and not self.target.exists():
            os.replace(olds.pop(), self.target)
        for leftover in [*olds, *parent.glob(f".{name}.tmp-*")]:
            shutil.rmtree(leftover, ignore_errors=True)

    # -- context
    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release this claim; the last release removes a temporary folder left by an
        interrupted write and drops the lock."""
        self._refs -= 1
        if self._refs > 0:
            return
        try:
            self._discard_tmp()
        finally:
            _HELD.pop(self.target, None)
            self._sigterm.close()
            self._release()

    # -- writing
    def _discard_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def write(
        self,
        fill: Callable[[Path], Iterable[Path] | None],
        keep: Callable[[Path], bool] | None = None,
    ) -> list[Path]:
        """Run ``fill(folder)`` on a fresh temporary folder, then put it in place of the
        target at once.  Returns the written paths (``fill``'s, or every file) in the target.
        If ``fill`` raises, the target is untouched and the temporary folder removed.
        ``keep(entry)``: which entries of the old folder may be carried over (default all)."""
        if self._refs < 1:
            raise RuntimeError("write() on a released output folder")
        tmp = _sidecar(self.target, f"tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self._tmp = tmp
        try:
            written = fill(tmp)
            paths = sorted(tmp.rglob("*")) if written is None else [Path(p) for p in written]
            self._carry_over(tmp, keep)
            self._swap(tmp)
        finally:
            self._discard_tmp()
        return [self.target / p.relative_to(tmp) for p in paths]

    def _carry_over(self, tmp: Path, keep: Callable[[Path], bool] | None = None) -> None:
        """Hard-link what the old folder holds and the new one does not (another command's
        results kept in the same folder, such as a seed study's) into the new one."""
        if not self.target.is_dir():
            return
        for entry in self.target.iterdir():
            dest = tmp / entry.name
            if dest.exists() or dest.is_symlink() or (keep is not None and not keep(entry)):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, dest, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, dest)

    def _swap(self, tmp: Path) -> None:
        old = _sidecar(self.target, f"old-{os.getpid()}")
        with signals_held():
            moved = False
            if self.target.exists():
                os.replace(self.target, old)
                moved = True
            try:
                os.replace(tmp, self.target)
            except BaseException:
                if moved:
                    os.replace(old, self.target)
                raise
        if moved:
            shutil.rmtree(old, ignore_errors=True)


def _link_or_copy(src: Any, dst: Any) -> None:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def claim(path: str | os.PathLike[str], option: str = "--out") -> OutputFolder:
    """Check ``path`` (:func:`check_target`) and lock it: OutputError, or OutputBusy when
    another run holds it.  Use the result in a ``with`` block (or ``close()`` it)."""
    target = check_target(path, option)
    folder = _HELD.get(target)
    if folder is None:
        folder = OutputFolder(target)
        folder._acquire()
        _HELD[target] = folder
        folder._sigterm.enter_context(sigterm_as_exit())
    folder._refs += 1
    return folder


def refuse(command: str, exc: BaseException) -> int:
    """Print ``command: message`` on stderr and return 2 (the usage-error exit status)."""
    print(f"{command}: {exc}", file=sys.stderr)
    return 2
