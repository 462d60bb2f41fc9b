"""Bad input, table by table: each is refused with one clear line, never a traceback, a silent
wrong result or a half-written folder.

* the library: each call raises the named exception with the named message;
* the output folders (``parity_tests/harness/output.py``): each bad ``--out`` is refused before
work;
* the ``refnn`` command: every invocation runs as the real command does (``sys.exit(main())``)
  in a child forked from one helper process (one interpreter start for the whole table), and
  must exit 2 with one line on stderr (argparse's own errors: usage plus one line) and no
  traceback, leaving nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from parity_tests.harness.output import OutputError, check_target
from reference_nn import LayerSpec, NetworkSpec, epoch_orders, fit, gradcheck
from reference_nn._checks import AllocationError, DTypeError, NonFiniteError, ShapeError
from reference_nn.activations import get_activation
from reference_nn.losses import get_loss

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------ the library


def _net(loss: str = "mse", out: str = "sigmoid", units: int = 1) -> Any:
    spec = NetworkSpec(
        input_shape=(2,),
        layers=(LayerSpec.dense(3, "tanh"), LayerSpec.dense(units, out)),
        loss=loss,
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    return net, spec.build_optimizer()


X4, Y4 = np.ones((4, 2)), np.full((4, 1), 0.5)
X0, Y0 = np.ones((0, 2)), np.ones((0, 1))
INF, NAN = np.inf, np.nan


def _fit(**kw: Any) -> Callable[[], Any]:
    def call() -> Any:  # callable any number of times (kw is not consumed)
        net, opt = _net()
        rest = {k: v for k, v in kw.items() if k not in ("X", "y")}
        return fit(net, opt, kw.get("X", X4), kw.get("y", Y4), **rest)

    return call


def _net_call(method: str, *args: Any) -> Callable[[], Any]:
    return lambda: getattr(_net()[0], method)(*args)


def _softmax(z: list[list[float]]) -> Callable[[], Any]:
    return lambda: get_activation("softmax")(np.array(z))


def _loss(name: str, p: Any, y: Any, part: str = "value", **options: Any) -> Callable[[], Any]:
    return lambda: getattr(get_loss(name, **options), part)(np.array(p), np.array(y))


LIBRARY: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    # empty batches
    ("forward 0 rows", _net_call("forward", X0), ShapeError, "0 rows"),
    ("predict 0 rows", _net_call("predict", X0), ShapeError, "0 rows"),
    ("loss_value 0 rows", _net_call("loss_value", X0, Y0), ShapeError, "0 rows"),
    ("loss_and_gradients 0 rows", _net_call("loss_and_gradients", X0, Y0), ShapeError, "0 rows"),
    ("gradcheck 0 rows", lambda: gradcheck(_net()[0], X0, Y0), ShapeError, "0 rows"),
    ("fit 0 rows", _fit(X=X0, y=Y0), ShapeError, "0 rows"),
    # softmax rows with no probabilities, categorical cross-entropy rows that are empty
    ("softmax all -inf row", _softmax([[0, 1], [-INF, -INF]]), NonFiniteError, "row (1,) is -inf"),
    ("softmax +inf entry", _softmax([[INF, 1.0]]), NonFiniteError, "holds +inf"),
    ("softmax NaN entry", _softmax([[1.0, NAN]]), NonFiniteError, "holds NaN"),
    ("softmax 3-D -inf", _softmax([[[-INF, -INF]]]), NonFiniteError, "row (0, 0)"),  # type: ignore[list-item]
    (
        "cce keras zero prediction row",
        _loss("cce", [[0.0, 0.0], [0.5, 0.5]], [[1, 0], [1, 0]], convention="keras"),
        ValueError,
        "row 0 sums to 0",
    ),
    (
        "cce keras zero prediction row (gradient)",
        _loss("cce", [[0.5, 0.5], [0, 0]], [[1, 0], [1, 0]], "gradient", convention="keras"),
        ValueError,
        "row 1 sums to 0",
    ),
    (
        "cce keras zero target row",
        _loss("cce", [[0.2, 0.8]], [[0, 0]], convention="keras"),
        ValueError,
        "target row 0 is all zeros",
    ),
    (
        "cce zero target row",
        _loss("cce", [[0.2, 0.8], [0.5, 0.5]], [[0, 1], [0, 0]]),
        ValueError,
        "target row 1 is all zeros",
    ),
    (
        "cce_logits zero target row",
        _loss("cce_logits", [[2.0, -1.0]], [[0, 0]], "gradient"),
        ValueError,
        "all zeros",
    ),
    ("cce negative prediction", _loss("cce", [[-0.1, 1.1]], [[0, 1]]), ValueError, "non-negative"),
    ("cce none zero prediction", _loss("cce", [[0.0, 1.0]], [[0, 1]]), ValueError, "> 0"),
    ("bce prediction above 1", _loss("bce", [[1.5]], [[1.0]]), ValueError, "[0, 1]"),
    ("bce target above 1", _loss("bce", [[0.5]], [[2.0]]), ValueError, "targets must lie"),
    ("bce none saturated", _loss("bce", [[1.0]], [[1.0]]), ValueError, "strictly inside"),
    ("mse (N,) target", _loss("mse", [[1.0], [2.0]], [1.0, 2.0]), ShapeError, "reshape"),
    # counts: refused, not rounded or parsed
    (
        "fit batch_size 2.7",
        _fit(batch_size=2.7),
        TypeError,
        "batch_size must be an int, got float 2.7",
    ),
    ("fit batch_size '4'", _fit(batch_size="4"), TypeError, "got str '4'"),
    ("fit batch_size True", _fit(batch_size=True), TypeError, "got bool True"),
    ("fit batch_size np.float64", _fit(batch_size=np.float64(2)), TypeError, "got float64"),
    ("fit batch_size 0", _fit(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    ("fit batch_size -3", _fit(batch_size=-3), ValueError, "got -3"),
    ("fit epochs 1.5", _fit(epochs=1.5), TypeError, "epochs must be an int, got float 1.5"),
    ("fit epochs '3'", _fit(epochs="3"), TypeError, "got str '3'"),
    ("fit epochs False", _fit(epochs=False), TypeError, "got bool False"),
    ("fit epochs None", _fit(epochs=None), TypeError, "got NoneType"),
    ("fit epochs 0", _fit(epochs=0), ValueError, "epochs must be >= 1, got 0"),
    ("fit epochs -2", _fit(epochs=-2), ValueError, "got -2"),
    ("fit epochs too many", _fit(epochs=10**15), AllocationError, "GiB, more than this machine"),
    # data
    ("fit float32 X", _fit(X=X4.astype(np.float32)), DTypeError, "astype"),
    ("fit (N,) y", _fit(y=Y4.ravel()), ShapeError, "reshape"),
    ("fit NaN in X", _fit(X=np.array([[1.0, NAN]] * 4)), NonFiniteError, "non-finite"),
    ("fit inf in y", _fit(y=np.array([[INF]] * 4)), NonFiniteError, "non-finite"),
    ("fit 3 features", _fit(X=np.ones((4, 3))), ShapeError, "network expects (2,)"),
    ("fit rows differ", _fit(y=np.ones((3, 1))), ShapeError, "4 rows but y has 3"),
    ("fit strings", _fit(X=[["a", "b"]] * 4), DTypeError, "cannot be read"),
    ("fit orders not permutation", _fit(orders=[[0, 0, 1, 2]]), ValueError, "not a permutation"),
    ("fit orders shape", _fit(orders=[[0, 1]]), ShapeError, "(epochs, 4)"),
    ("fit orders vs epochs", _fit(orders=[[0, 1, 2, 3]] * 2), ShapeError, "2 rows for 1 epochs"),
    ("fit orders floats", _fit(orders=[[0.0, 1.0, 2.0, 3.0]]), ShapeError, "integer array"),
    # epoch orders
    ("epoch_orders 0 samples", lambda: epoch_orders(0, 1), ValueError, "n_samples must be >= 1"),
    ("epoch_orders 2.5 epochs", lambda: epoch_orders(3, 2.5), TypeError, "epochs must be an int"),
    ("epoch_orders shuffled, no seed", lambda: epoch_orders(3, 1, "shuffled"), ValueError, "seed"),
    ("epoch_orders unknown order", lambda: epoch_orders(3, 1, "random"), ValueError, "valid:"),
    ("epoch_orders too large", lambda: epoch_orders(10**6, 10**9), AllocationError, "GiB"),
    # names and options
    ("unknown activation", lambda: get_activation("relu6"), ValueError, "valid: elu"),
    ("leaky_relu without alpha", lambda: get_activation("leaky_relu"), ValueError, "alpha"),
    ("unknown activation option", lambda: get_activation("elu", beta=1), ValueError, "beta"),
    ("unknown loss", lambda: get_loss("hinge"), ValueError, "unknown loss 'hinge'"),
    ("unknown loss option", lambda: get_loss("mse", clip="x"), ValueError, "unknown option"),
    ("bce unknown clip", lambda: get_loss("bce", clip="tf"), ValueError, "valid:"),
    ("set_parameters missing", lambda: _net()[0].set_parameters({}), KeyError, "missing"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [c[1:] for c in LIBRARY], ids=[c[0] for c in LIBRARY]
)
def test_the_library_refuses(call: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
    assert "\n" not in str(info.value)  # one line


def test_the_library_tables_are_many_and_distinct() -> None:
    names = [c[0] for c in LIBRARY]
    assert len(set(names)) == len(names) >= 55


def test_softmax_keeps_a_row_with_some_minus_inf() -> None:  # control: masking is allowed
    a = get_activation("softmax")(np.array([[0.0, -INF, 0.0]]))
    assert a.tolist() == [[0.5, 0.0, 0.5]]


# ------------------------------------------------------------------------------ --out


@pytest.fixture()
def unwritable(tmp_path: Path):
    """A place this process cannot write in: a read-only folder, or for root (whom
    permissions do not stop) an immutable one."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    immutable = False
    if os.access(folder, os.W_OK):
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.fail(f"root, and chattr +i failed: no unwritable place ({done.stderr!r})")
        immutable = True
    yield folder / "out"
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o700)


def test_bad_out_folders_are_refused_before_work(tmp_path: Path, monkeypatch) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.chdir(tmp_path)
    cases = [
        ("", "is empty"),
        ("   ", "is empty"),
        (str(afile), "a file of that name exists"),
        (str(afile / "sub"), "is a file, so nothing can be made under it"),
        (str(afile / "a" / "b"), "is a file"),
        ("/", "filesystem root"),
        (".", "current or home folder"),
        (str(tmp_path.parent), "current or home folder"),
        ("~", "current or home folder"),
    ]
    for path, message in cases:
        with pytest.raises(OutputError, match=message) as info:
            check_target(path)
        assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing was made
    assert check_target("fresh/deeper") == tmp_path / "fresh" / "deeper"  # a new folder is fine


def test_an_unwritable_place_is_refused(unwritable: Path) -> None:

    target = unwritable
    with pytest.raises(OutputError, match="permission denied"):
        check_target(target)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="no /sys (not Linux)")
def test_a_place_that_refuses_writing_is_refused_when_claimed() -> None:
    from parity_tests.harness.output import claim

    # /sys takes no new files even from root, though os.access may say it can be written
    with pytest.raises(OutputError, match="cannot write /sys/refnn-out"):
        claim("/sys/refnn-out").close()


# ------------------------------------------------------------------------------ the command

# Each child runs the command as its entry point does and reports (exit code, stderr).
_DRIVER = r"""
import io, json, os, sys, traceback
import experiments.cli, experiments.housing.cli, experiments.housing.dataset
import parity_tests.harness.output
import parity_tests.harness.registry, parity_tests.tools.report, numpy
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
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        err = f.read().decode()
    _, status = os.waitpid(pid, 0)
    results.append([os.waitstatus_to_exitcode(status), err])
print(json.dumps(results))
"""


def run_commands(argvs: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REFNN_HOUSING_DATA": ""}
    env.pop("REFNN_HOUSING_DATA")
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


def _cli_cases(tmp: Path) -> list[tuple[list[str], str, bool]]:
    """(argv, message on stderr, argparse's error (usage + one line) or ours (one line))."""
    afile = tmp / "afile"
    garbage = tmp / "garbage.data"
    out = str(tmp / "out")
    h = ["housing", "--frameworks", "numpy", "--jobs", "1", "--epochs", "1", "--no-baseline"]
    return [
        # housing: options
        ([*h, "--epochs", "0", "--out", out], "--epochs must be >= 1", False),
        ([*h, "--epochs", "-3", "--out", out], "--epochs must be >= 1", False),
        ([*h, "--epochs", "1000000000000", "--out", out], "GiB, more than this machine", False),
        ([*h, "--epochs", "2.5"], "invalid int value: '2.5'", True),
        ([*h, "--epochs", "many"], "invalid int value", True),
        ([*h, "--jobs", "0", "--out", out], "--jobs must be >= 1, got 0", False),
        ([*h, "--jobs", "-5", "--out", out], "--jobs must be >= 1, got -5", False),
        ([*h, "--seed", "-1", "--out", out], "--seed must be >= 0, got -1", False),
        ([*h, "--seed", "x"], "invalid int value", True),
        ([*h, "--frameworks", "", "--out", out], "framework", False),
        ([*h, "--frameworks", "tensorflow", "--out", out], "unknown framework", False),
        ([*h, "--frameworks", "numpy,numpy", "--out", out], "numpy", False),
        ([*h, "--dtype", "float16"], "invalid choice: 'float16'", True),
        ([*h, "--order", "random"], "invalid choice: 'random'", True),
        ([*h, "--seeds", "5..2", "--out", out], "must not exceed", False),
        ([*h, "--seeds", "x", "--out", out], "--seeds must look like A..B", False),
        ([*h, "--as-published", "--dtype", "float32", "--out", out], "float64 only", False),
        ([*h, "--bogus"], "unrecognized arguments: --bogus", True),
        # housing: --out
        ([*h, "--out", ""], "--out is empty", False),
        ([*h, "--out", str(afile)], "a file of that name exists", False),
        ([*h, "--out", str(afile / "sub")], "is a file, so nothing can be made under it", False),
        ([*h, "--out", "/"], "filesystem root", False),
        ([*h, "--out", "."], "current or home folder", False),
        ([*h, "--seeds", "0..1", "--out", str(afile)], "a file of that name exists", False),
        # housing: --data
        ([*h, "--data", str(tmp / "missing.gz"), "--out", out], "missing.gz", False),
        ([*h, "--data", str(garbage), "--out", out], "garbage.data", False),
        ([*h, "--data", str(tmp), "--out", out], str(tmp.name), False),
        # demo
        (["demo", "--epochs", "0"], "--epochs must be >= 1, got 0", False),
        (["demo", "--epochs", "-4"], "--epochs must be >= 1, got -4", False),
        (["demo", "--epochs", "1000000000000"], "GiB, more than this machine", False),
        (["demo", "--seed", "-1"], "--seed must be >= 0, got -1", False),
        (["demo", "--epochs", "1e3"], "invalid int value", True),
        # examples
        (["examples", "run", "housing_2_3_1"], "run it with refnn housing", False),
        (["examples", "run", "nope", "--frameworks", "numpy"], "unknown worked example", False),
        (["examples", "run", "hand_2_1_1", "--steps", "0"], "--steps must be >= 1", False),
        (["examples", "run", "hand_2_1_1", "--steps", "-2"], "--steps must be >= 1", False),
        (
            ["examples", "run", "hand_2_1_1", "--frameworks", "numpy", "--steps", "100000000000"],
            "GiB, more than this machine",
            False,
        ),
        (["examples", "run", "hand_2_1_1", "--every", "-1"], "--every must be >= 0", False),
        (["examples", "run", "hand_2_1_1", "--frameworks", "tf"], "unknown framework", False),
        (["examples", "run", "hand_2_1_1", "--keras-loop", "jit"], "invalid choice", True),
        (["examples", "run"], "the following arguments are required: name", True),
        # parity-report
        (["parity-report", "--out", str(afile)], "a file of that name exists", False),
        (["parity-report", "--out", str(afile / "x")], "is a file", False),
        (["parity-report", "--out", ""], "--out is empty", False),
        (["parity-report", "--filter", "no-such-case", "--out", out], "selects no case", False),
        (["parity-report", "--random", "-1", "--out", out], "--random must be >= 0", False),
        (["parity-report", "--random", "two"], "invalid int value", True),
        # bench
        (["bench", "--epochs", "0"], "must be >= 1", False),
        (["bench", "--repeat", "0"], "must be >= 1", False),
        (["bench", "--frameworks", "tensorflow"], "unknown framework", False),
        (["bench", "--json", str(tmp)], "must name a file", False),
        (["bench", "--json", str(afile / "b.json")], "cannot write in", False),
        (["bench", "--json", str(tmp / "no" / "b.json")], "cannot write in", False),
        # places the filesystem refuses (Linux): unwritable, read-only for everyone
        *(
            [
                ([*h, "--out", "/proc/1/refnn-out"], "permission denied", False),
                ([*h, "--out", "/sys/refnn-out"], "cannot write /sys/refnn-out", False),
                (["parity-report", "--out", "/sys/refnn-out"], "cannot write", False),
            ]
            if Path("/sys/kernel").is_dir()
            else []
        ),
        # the command itself
        (["train"], "invalid choice: 'train'", True),
        ([], "the following arguments are required: command", True),
    ]


def test_the_command_refuses_bad_input_with_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "garbage.data").write_text("this is not the housing data\n" * 3)
    work = tmp_path / "work"
    work.mkdir()
    cases = _cli_cases(tmp_path)
    results = run_commands([argv for argv, _, _ in cases], cwd=work)
    problems = []
    for (argv, message, by_argparse), (code, err) in zip(cases, results, strict=True):
        lines = err.strip().splitlines()
        why = []
        if code != 2:
            why.append(f"exit {code}")
        if "Traceback" in err or "Error:" in err.split(":", 1)[0]:
            why.append("traceback")
        if message not in err:
            why.append(f"no {message!r}")
        if not by_argparse and len(lines) != 1:
            why.append(f"{len(lines)} lines")
        if by_argparse and not (lines and lines[0].startswith("usage:")):
            why.append("no usage line")
        if why:
            problems.append(f"{' '.join(argv)}: {', '.join(why)}: {err!r}")
    assert not problems, "\n".join(problems)
    assert not (tmp_path / "out").exists()  # nothing written by a refused run
    assert sorted(p.name for p in work.iterdir()) == []
    assert len(cases) >= 50
