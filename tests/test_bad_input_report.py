"""``refnn parity-report`` given what a user may type: each bad input is refused with one
line (argparse's own errors: its usage line, then one line) and exit status 2, before any
work: no framework imported, no case built past the selection, nothing written.

Every invocation runs the real command's entry (``experiments.cli.main``) in a child forked
from one helper process, so the table costs one interpreter start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.holders import held_by_another_run

ROOT = Path(__file__).resolve().parent.parent

# In each child: the command, then what it printed on stderr, its exit status, and whether it
# imported a framework or reached the report's work (which a refused run must not start: a
# child that gets past the checks says so and ends, rather than running the matrix).
_DRIVER = r"""
import io, json, os, sys
import experiments.cli
from parity_tests.tools import report
FRAMEWORKS = ("torch", "tensorflow", "jax", "keras")

def work_started(*args, **kwargs):
    print("(work started)", file=sys.stderr)
    sys.stderr.flush()
    os._exit(3)

report.write_report = work_started
results = []
for argv in json.load(sys.stdin):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
        try:
            code = experiments.cli.main(argv)
        except SystemExit as exc:
            code = exc.code
        if any(name in sys.modules for name in FRAMEWORKS):
            print("(imported a framework)", file=sys.stderr)
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        err = f.read().decode(errors="replace")
    results.append([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err])
print(json.dumps(results))
"""


def _run(argvs: list[list[str]], cwd: Path, home: Path) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


def _cases(tmp: Path, busy: Path) -> list[tuple[list[str], str, bool]]:
    """(arguments after ``parity-report``, what stderr must say, argparse's error or ours)."""
    afile, loop, out = tmp / "afile", tmp / "loop", str(tmp / "out")
    o = ["--out", out]
    cases = [
        # --out: places a report cannot go
        (["--out", ""], "--out is empty; name an output folder", False),
        (["--out", "   "], "--out is empty", False),
        (["--out", str(afile)], "a file of that name exists; name a folder", False),
        (["--out", str(afile / "sub")], "is a file, so nothing can be made under it", False),
        (["--out", str(afile / "a\nb")], "is a file, so nothing can be made under it", False),
        (["--out", "/"], "is the filesystem root", False),
        (["--out", "."], "is the current or home folder", False),
        (["--out", ".."], "is the current or home folder (or holds it)", False),
        (["--out", "~"], "is the current or home folder", False),
        (["--out", str(tmp / ("x" * 300))], "File name too long", False),
        (["--out", str(loop / "sub")], f"--out {loop / 'sub'}:", False),
        (["--out", "/dev/null"], "a file of that name exists", False),
        # a second run into a folder that a run is writing
        (["--out", str(busy)], "is being written by another run (PID", False),
        # --random
        ([*o, "--random", "-1"], "--random must be >= 0, got -1", False),
        ([*o, "--random", "1001"], "--random 1001 is more than 1,000", False),
        ([*o, "--random", "1000000000"], "more than 1,000 random architectures", False),
        ([*o, "--random", "1000000000", "--filter", "zzz"], "more than 1,000", False),
        ([*o, "--random", "two"], "argument --random: invalid int value: 'two'", True),
        ([*o, "--random", "2.5"], "invalid int value: '2.5'", True),
        ([*o, "--random", "1e3"], "invalid int value: '1e3'", True),
        ([*o, "--random", ""], "invalid int value: ''", True),
        # --filter
        ([*o, "--filter", ""], "--filter is empty; leave it out to run every case", False),
        ([*o, "--filter", "   "], "--filter '   ' selects no case", False),
        ([*o, "--filter", "zzz"], "--filter 'zzz' selects no case", False),
        ([*o, "--filter", "zzz", "--random", "1000"], "selects no case", False),
        ([*o, "--filter", "tanh\nmse"], "selects no case", False),
        ([*o, "--filter", "Tanh-MSE"], "selects no case", False),
        # flags
        ([*o, "--bogus"], "unrecognized arguments: --bogus", True),
        (["--out"], "argument --out: expected one argument", True),
        ([*o, "--random"], "argument --random: expected one argument", True),
        ([*o, "--explain=yes"], "ignored explicit argument 'yes'", True),
    ]
    if Path("/sys/kernel").is_dir():  # Linux: a filesystem nobody may write
        cases.append((["--out", "/sys/refnn-out"], "cannot write /sys/refnn-out", False))
    return [(["parity-report", *argv], message, ours) for argv, message, ours in cases]


@pytest.fixture
def busy(tmp_path):
    """An output folder that another run holds (a process that claimed it and waits)."""
    target = tmp_path / "busy"
    with held_by_another_run(target):
        yield target


def test_parity_report_refuses_bad_input_with_one_line_and_exit_2(tmp_path, busy):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "home").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    cases = _cases(tmp_path, busy)
    results = _run([argv for argv, _, _ in cases], cwd=work, home=tmp_path / "home")
    problems = []
    for (argv, message, by_argparse), (code, err) in zip(cases, results, strict=True):
        lines = err.strip().splitlines()
        why = []
        if code != 2:
            why.append(f"exit {code}")
        if "Traceback" in err or "(imported a framework)" in err or "(work started)" in err:
            why.append("traceback or work started")
        if message not in err:
            why.append(f"no {message!r}")
        if by_argparse and not (len(lines) >= 2 and lines[0].startswith("usage:")):
            why.append("no usage line")
        if by_argparse and not lines[-1].startswith("refnn"):
            why.append("argparse's message is not its last line")
        ours = len(lines) == 1 and lines[0].startswith("refnn parity-report: ")
        if not by_argparse and not ours:
            why.append(f"{len(lines)} lines")
        if why:
            problems.append(f"{argv!r}: {', '.join(why)}: {err!r}")
    assert not problems, "\n".join(problems)
    assert len(cases) >= 30
    # nothing written: no report, no lock or temporary folder, nothing in the work folder
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list(work.iterdir()) == [] and list((tmp_path / "home").iterdir()) == []
    assert not busy.exists()


def test_good_input_passes_the_same_checks(tmp_path):
    """The control: the checks refuse what is bad, not everything.  The good neighbours of
    the inputs above pass them (the selection, then the output folder's claim)."""
    from parity_tests.harness.output import claim
    from parity_tests.tools.report import MAX_RANDOM, random_case, select_cases

    assert len(select_cases(None, 0)) == 1078
    assert len(select_cases(None, MAX_RANDOM)) == 1078 + 2 * MAX_RANDOM + 20
    assert len(select_cases("tanh-mse-sgd", MAX_RANDOM)) == 2
    assert [c.name for c in select_cases("random7-", 10)] == [
        random_case(7, "float64").name,
        random_case(7, "float32").name,
    ]
    (tmp_path / "existing").mkdir()
    for place in ("new", "existing", "new/deeper", "x" * 200):
        with claim(tmp_path / place) as folder:
            assert folder.target == tmp_path / place
