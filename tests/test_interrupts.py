"""Nothing lost: a run interrupted while it writes, or failing, leaves the previous results
complete and unmixed; two runs into one folder cannot both write; worker processes stop with
their parent.  (``parity_tests/harness/output.py``, ``experiments/housing/run.py``)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from experiments.cli import main
from parity_tests.harness.output import OutputBusy, claim
from tests.holders import held_by_another_run

ROOT = Path(__file__).resolve().parent.parent
HOUSING = ["housing", "--frameworks", "numpy", "--jobs", "1", "--no-baseline"]


def _as_at_a_terminal() -> None:
    """In a child before it starts: Ctrl-C at its default.  A shell starts background jobs
    (``cmd &`` without job control, as CI runners may) with SIGINT ignored, and children
    inherit that; the command rightly honours it, so a test of Ctrl-C must undo it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _leftovers(folder: Path) -> list[str]:
    """Everything beside ``folder`` that is not the folder or its lock file."""
    return sorted(
        p.name
        for p in folder.parent.iterdir()
        if p.name not in {folder.name, f".{folder.name}.lock"}
    )


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """A complete housing result (1 epoch), copied afresh for each test."""
    out = tmp_path_factory.mktemp("previous") / "out"
    assert main([*HOUSING, "--epochs", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture
def out(previous: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "out"
    shutil.copytree(previous, target)
    (target / "seeds_0-1").mkdir()  # another command's results in the same folder
    (target / "seeds_0-1" / "study.json").write_text("{}")
    return target


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_a_failure_while_writing_leaves_the_previous_results(out, monkeypatch, capsys, failure):
    from experiments.housing import report

    before = _snapshot(out)

    def broken_figure(payload, path):  # results.json and summary.md are written by now
        assert (path.parent / "results.json").is_file()
        raise failure("stopped while writing")

    monkeypatch.setattr(report, "_figure", broken_figure)
    if failure is KeyboardInterrupt:
        assert main([*HOUSING, "--epochs", "2", "--out", str(out)]) == 130
        assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"
    else:
        with pytest.raises(RuntimeError):
            main([*HOUSING, "--epochs", "2", "--out", str(out)])
    assert _snapshot(out) == before  # every file of the previous run, byte for byte
    assert (out / "seeds_0-1" / "study.json").read_text() == "{}"
    assert _leftovers(out) == []  # no temporary folder left
    assert json.loads((out / "results.json").read_text())["settings"]["epochs"] == 1


def test_a_new_run_replaces_the_folder_whole_and_keeps_other_results(out, capsys):
    assert main([*HOUSING, "--epochs", "2", "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["settings"]["epochs"] == 2
    assert "epochs=2" in (out / "summary.md").read_text()
    assert (out / "seeds_0-1" / "study.json").read_text() == "{}"  # carried over
    assert _leftovers(out) == []


def test_leftovers_of_a_killed_run_are_recovered(out):
    """SIGKILL between the two renames of a swap: the folder is aside, a temporary folder
    beside it.  The next claim puts the previous folder back and removes the rest."""
    before = _snapshot(out)
    aside = out.parent / ".out.old-999999"
    os.replace(out, aside)
    (out.parent / ".out.tmp-999999").mkdir()
    with claim(out):
        assert _snapshot(out) == before
    assert _leftovers(out) == []


def test_a_second_claim_is_refused_at_once_naming_the_first(tmp_path):
    target = tmp_path / "out"
    with held_by_another_run(target) as holder:
        start = time.monotonic()
        with pytest.raises(OutputBusy, match=f"another run \\(PID {holder.pid}\\)"):
            claim(target)
        assert time.monotonic() - start < 1
    with claim(target):  # the kernel dropped the killed holder's lock
        pass


# Runs the command in children forked from one interpreter; a child may first patch the
# report writer to send itself a signal in the middle of writing.
_DRIVER = r"""
import io, json, os, signal, sys, time
import experiments.cli
from experiments.housing import report
results = []
for argv, signame in json.load(sys.stdin):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
        if signame:
            def figure(payload, path, signum=getattr(signal, signame)):
                os.kill(os.getpid(), signum)
                time.sleep(5)
            report._figure = figure
        try:
            code = experiments.cli.main(argv)
        except SystemExit as exc:
            code = exc.code
        sys.stderr.flush()
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        err = f.read().decode()
    results.append([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err])
print(json.dumps(results))
"""


def test_sigint_and_sigterm_in_the_write_phase_of_the_real_command(out):
    before = _snapshot(out)
    argv = [*HOUSING, "--epochs", "2", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps([[argv, "SIGINT"], [argv, "SIGTERM"]]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        preexec_fn=_as_at_a_terminal,
    )
    assert done.returncode == 0, done.stderr
    (int_code, int_err), (term_code, term_err) = json.loads(done.stdout.splitlines()[-1])
    assert int_code == 130 and int_err.strip().splitlines()[-1] == "interrupted"
    assert term_code == 143
    for err in (int_err, term_err):
        assert "Traceback" not in err
    assert _snapshot(out) == before
    assert _leftovers(out) == []


def test_two_runs_into_one_folder_one_refused_none_lost(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "experiments.cli", *HOUSING, "--out", str(out)]
    first = subprocess.Popen(
        [*command, "--epochs", "12"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lock = tmp_path / ".out.lock"
    deadline = time.monotonic() + 60
    while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
        assert time.monotonic() < deadline and first.poll() is None, "the first run took no lock"
        time.sleep(0.05)
    second = subprocess.run([*command, "--epochs", "3"], cwd=ROOT, capture_output=True, text=True)
    first_out, first_err = first.communicate(timeout=300)
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"refnn housing: {out} is being written by another run (PID {first.pid}); wait for it "
        "to finish or choose another output folder"
    )
    assert first.returncode == 0, first_err
    assert b"wrote" in first_out and "wrote" not in second.stdout
    assert sorted(p.name for p in out.iterdir()) == ["housing.png", "results.json", "summary.md"]
    assert json.loads((out / "results.json").read_text())["settings"]["epochs"] == 12
    assert _leftovers(out) == []


# ------------------------------------------------------------------------------ workers

# Every command that starts workers: its arguments, how many spawned workers it has once under
# way, and the frameworks it needs.
WORKER_COMMANDS = {
    "housing": (
        [*HOUSING[:2], "numpy,torch", "--jobs", "2", "--epochs", "40", "--no-baseline"],
        2,
        ("torch",),
    ),
    "seed-study": (["housing", "--seeds", "0..63", "--jobs", "2"], 2, ()),
    # keras-jax and keras-torch, each in a process of its own
    "parity-report": (
        ["parity-report", "--random", "0", "--filter", "tanh-mse-sgd"],
        2,
        ("torch", "jax", "keras"),
    ),
}
WITHIN = 2.0  # seconds: the promise, from the signal to the last worker gone
# how each signal is sent: Ctrl-C goes to the terminal's whole foreground process group
SIGNALS = {
    "SIGINT": (signal.SIGINT, False),
    "Ctrl-C": (signal.SIGINT, True),
    "SIGTERM": (signal.SIGTERM, False),
    "SIGKILL": (signal.SIGKILL, False),
}


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _ready_worker(pid: int) -> bool:
    """A spawned worker that has run its start (parity_tests.harness.workers): it ignores SIGINT,
    which it does only after its parent watch is in place.  Read from /proc, so the test
    waits on the worker's own state, not on a sleep."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    if b"spawn_main" not in cmdline:  # multiprocessing's resource tracker is not a worker
        return False
    ignored = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _gone_within(pids: set[int], seconds: float) -> set[int]:
    """``pids`` still alive after ``seconds`` (polling; an empty set as soon as all are gone)."""
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _alive(pids)


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("how", list(SIGNALS))
@pytest.mark.parametrize("command", list(WORKER_COMMANDS))
def test_workers_stop_with_their_parent(out, command, how):
    """The real command, once its workers are under way, gets SIGINT (alone, or as Ctrl-C
    to its whole process group), SIGTERM or SIGKILL: its workers are gone within 2 s of the
    signal, the rest (multiprocessing's resource tracker) within 2 s of the parent; no
    traceback, 'interrupted' and 130 for Ctrl-C, 143 for SIGTERM; the previous results in
    the output folder are intact, and nothing else is left beside it."""
    argv, n_workers, needs = WORKER_COMMANDS[command]
    for module in needs:
        pytest.importorskip(module)
    signum, to_group = SIGNALS[how]
    before = _snapshot(out)
    err = tempfile.TemporaryFile()  # a pipe could fill up and stall the command
    parent = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *argv, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_as_at_a_terminal,
    )

    def stderr() -> str:
        err.seek(0)
        return err.read().decode(errors="replace")

    try:
        deadline = time.monotonic() + 120  # generous: starting interpreters under load
        while len({p for p in _descendants(parent.pid) if _ready_worker(p)}) < n_workers:
            assert parent.poll() is None, stderr()
            assert time.monotonic() < deadline, "the workers never became ready"
            time.sleep(0.05)
        everything = _alive(_descendants(parent.pid))  # workers and the resource tracker
        workers = {p for p in everything if _ready_worker(p)}
        (os.killpg if to_group else os.kill)(parent.pid, signum)
        assert _gone_within(workers, WITHIN) == set(), f"workers alive {WITHIN} s after {how}"
        parent.wait(timeout=60)
        assert _gone_within(everything, WITHIN) == set(), "processes outlived their parent"
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
        for pid in _alive(_descendants(parent.pid)):
            os.kill(pid, signal.SIGKILL)
    text = stderr()
    err.close()
    assert "Traceback" not in text, text
    expected = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[signum]
    assert parent.returncode == expected, text
    if signum == signal.SIGINT:
        assert text.strip().splitlines()[-1] == "interrupted"
    if signum != signal.SIGKILL:  # after SIGKILL the tracker cleans up for the parent, and says so
        assert "leaked" not in text, text
    assert _snapshot(out) == before
    if signum == signal.SIGKILL:  # a temporary folder may be left: the next claim removes it
        with claim(out):
            pass
    assert _leftovers(out) == []


def test_a_side_job_gives_its_result_and_stops_at_once():
    # the Keras-defaults baseline runs as a SideJob beside the training: its result comes
    # back, and an interrupted run ends it at once instead of waiting for it
    import operator
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool

    from experiments.housing.run import SideJob

    job = SideJob(operator.add, 2, 3)
    assert job.result() == 5
    job.stop()
    slow = SideJob(time.sleep, 120)
    start = time.monotonic()
    slow.stop()
    assert time.monotonic() - start < 10
    with pytest.raises((BrokenProcessPool, CancelledError)):  # ended, never finished
        slow.result()


_STARTING = r"""
import contextlib, os, signal, sys
from parity_tests.harness import workers
if sys.argv[1] == "unmasked":  # the control: a worker started with SIGINT as it comes
    workers._sigint_blocked = contextlib.nullcontext
pool = workers.WorkerPool(1)
future = pool.submit(os.getpid)
(worker,) = pool.processes()  # started by submit, still starting its interpreter now
os.kill(worker.pid, signal.SIGINT)
try:
    print("result", future.result() == worker.pid)
except Exception as exc:
    print("failed", type(exc).__name__)
pool.shutdown()
"""


@pytest.mark.parametrize("start", ["masked", "unmasked"])
def test_a_worker_interrupted_while_it_starts(start):
    """Ctrl-C reaches the workers too (the terminal signals the whole group), and may come
    while one is still starting, before it can ignore SIGINT: a worker is started with SIGINT
    blocked, so one that comes then is discarded when it starts ignoring it.  The signal is
    sent right after the worker is started, so it always lands during its start.  The
    control, started without the mask, dies of it (or prints a KeyboardInterrupt)."""
    done = subprocess.run(
        [sys.executable, "-c", _STARTING, start],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_as_at_a_terminal,
    )
    assert done.returncode == 0, done.stderr
    if start == "masked":
        assert done.stdout.split() == ["result", "True"]
        assert done.stderr == ""
    else:
        assert done.stdout.split() == ["failed", "BrokenProcessPool"] or "KeyboardInterrupt" in (
            done.stderr
        )


def test_a_stopped_group_ends_its_work_and_refuses_more():
    """The main thread stops a pool that another thread is waiting on (parity-report's other
    Keras backends): the waiting call ends at once with BrokenProcessPool (both threads stop
    the same pool; done twice at once it closed its queues twice: OSError EBADF), and the
    stopped group starts nothing more, so a thread that comes late cannot start workers."""
    import threading
    from concurrent.futures.process import BrokenProcessPool

    from parity_tests.harness.workers import Group, WorkerPool, WorkersStopped, run_in_process

    group, outcome = Group(), []

    def wait_on_a_worker() -> None:
        try:
            run_in_process(time.sleep, 120, group=group)
        except BaseException as exc:  # the test looks at which
            outcome.append(exc)

    thread = threading.Thread(target=wait_on_a_worker)
    thread.start()
    deadline = time.monotonic() + 120
    while not any(_ready_worker(p) for p in _descendants(os.getpid())):
        assert time.monotonic() < deadline and thread.is_alive(), outcome
        time.sleep(0.02)
    group.stop()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], BrokenProcessPool), outcome
    assert not any(_ready_worker(p) for p in _alive(_descendants(os.getpid())))
    with pytest.raises(WorkersStopped):
        WorkerPool(1, group=group)
