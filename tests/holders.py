"""Another run holding an output folder, for the tests of what a second run does."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from parity_tests.harness.workers import kill_with_parent

ROOT = Path(__file__).resolve().parent.parent

_HOLD = (
    "import sys\nfrom parity_tests.harness.output import claim\nc = claim(sys.argv[1])\n"
    "print('held', flush=True)\nsys.stdin.read()\n"
)


@contextlib.contextmanager
def held_by_another_run(target: Path) -> Iterator[subprocess.Popen[str]]:
    """``target`` claimed (``parity_tests.harness.output.claim``) by another process until the block
    ends, when that process is killed (the kernel drops its lock); yields the process."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(target)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=kill_with_parent,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
