"""``refnn check-model`` and the ``assert_parity`` fixture on what a user may wrongly give: each
bad model file, module, option or data file is refused with one line on stderr and exit status
2 (the fixture: one :class:`CheckModelError` line), never a traceback, before any model runs."""

import math
import textwrap
import zipfile

import numpy as np
import pytest

from experiments.cli import main
from parity_tests.harness import loaders
from parity_tests.tools.check_model import CheckModelError, check_models
from parity_tests.tools.testing import load_or_skip

pytestmark = pytest.mark.frameworks


@pytest.fixture(scope="module")
def torch():
    load_or_skip("torch")
    return loaders.torch()


@pytest.fixture(scope="module")
def keras():
    load_or_skip("keras")
    return loaders.keras("tensorflow")


GOOD = """
import torch

def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))

def softmax_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=-1))

def sigmoid_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid())
"""

# file name -> its text: the user's Python files, each wrong in its own way
FILES = {
    "good.py": GOOD,
    "raises.py": "def net():\n    raise RuntimeError('no weights downloaded')\n",
    "syntax.py": "def net(:\n    return None\n",
    "import_raises.py": "raise ValueError('configure me first')\n",
    "exits.py": "import sys\nsys.exit(3)\n",
    "returns_int.py": "def net():\n    return 42\n",
    "needs_args.py": "def net(width, depth=2):\n    return None\n",
    "custom.py": """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(x)
""",
    "mismatch.py": """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(5, 1))
""",
    "conv.py": """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 1))
""",
    "no_weights.py": """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Flatten())
""",
    "empty_seq.py": "import torch\n\ndef net():\n    return torch.nn.Sequential()\n",
    "half.py": """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Linear(3, 2)).to(torch.float16)
""",
    "nan_weights.py": """
import torch

def net():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight[1, 2] = float("nan")
    return model
""",
    "mixed.py": """
import torch

def net():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1).double())
""",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, torch):
    d = tmp_path_factory.mktemp("check_model_inputs")
    for name, text in FILES.items():
        (d / name).write_text(textwrap.dedent(text))
    (d / "text.keras").write_text("not a model\n")
    (d / "empty.keras").write_bytes(b"")
    (d / "folder.keras").mkdir()
    (d / "text.h5").write_text("not a model either\n")
    (d / "package.py").mkdir()
    (d / "folder.npz").mkdir()
    (d / "empty.npz").write_bytes(b"")
    (d / "text.npz").write_text("X,y\n1,2\n")
    np.save(d / "single.npy", np.zeros((4, 3)))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    np.savez(d / "no_y.npz", X=X)
    np.savez(d / "X_shape.npz", X=rng.normal(size=(5, 4)), y=y)
    np.savez(d / "y_shape.npz", X=X, y=rng.normal(size=(5, 3)))
    np.savez(d / "X_nan.npz", X=np.where(X > 1, np.nan, X), y=y)
    np.savez(d / "X_text.npz", X=np.array([["a", "b", "c"]] * 5), y=y)
    np.savez(d / "X_object.npz", X=np.array([{"a": 1}] * 5, dtype=object), y=y)
    np.savez(d / "zero_rows.npz", X=np.zeros((0, 3)), y=np.zeros((0, 2)))
    np.savez(d / "X_flat.npz", X=np.zeros(3), y=np.zeros(2))
    np.savez(d / "cce_empty_row.npz", X=X, y=np.eye(2)[[0, 1, 0, 1, 0]] * [[1], [1], [0], [1], [1]])
    np.savez(d / "bce_targets.npz", X=X, y=np.full((5, 2), 2.0))
    return d


@pytest.fixture(scope="module")
def keras_files(workdir, keras):
    """Saved Keras models: one without weights, one with a layer the reference lacks."""
    f32 = {"dtype": "float32"}
    inputs = keras.Input((3,), **f32)
    keras.Model(inputs, keras.layers.Dense(2, **f32)(inputs)).save(workdir / "functional.keras")
    with zipfile.ZipFile(workdir / "other_zip.keras", "w") as archive:
        archive.writestr("notes.txt", "not a model")
    half = {"dtype": "float16"}
    keras.Sequential([keras.Input((3,), **half), keras.layers.Dense(2, **half)]).save(
        workdir / "half.keras"
    )
    keras.Sequential([keras.Input((4, 4, 1), **f32), keras.layers.Conv2D(2, 3, **f32)]).save(
        workdir / "conv_output.keras"
    )
    weightless = keras.Sequential([keras.Input((3,), **f32), keras.layers.Flatten(**f32)])
    weightless.save(workdir / "weightless.keras")
    dropout = keras.Sequential(
        [
            keras.Input((3,), **f32),
            keras.layers.Dense(4, **f32),
            keras.layers.Dropout(0.5, **f32),
            keras.layers.Dense(1, **f32),
        ]
    )
    dropout.save(workdir / "dropout.keras")
    plain = keras.Sequential([keras.Input((3,), **f32), keras.layers.Dense(2, **f32)])
    plain.save(workdir / "plain.keras")
    return workdir


# (what is wrong, arguments after check-model, a phrase the one line must hold)
CASES = [
    # ---------------------------------------------------------------- models: what is loaded
    ("a function that needs arguments", ["json:loads"], "needs argument(s) s"),
    ("a file's function that needs arguments", ["{d}/needs_args.py:net"], "argument(s) width"),
    ("a factory that raises", ["{d}/raises.py:net"], "net() raised RuntimeError"),
    ("a file with a syntax error", ["{d}/syntax.py:net"], "line 1: syntax error"),
    ("a file that raises when imported", ["{d}/import_raises.py:net"], "raised ValueError"),
    ("a file that exits when imported", ["{d}/exits.py:net"], "raised SystemExit"),
    ("a text file named .keras", ["{d}/text.keras"], "is not a saved Keras model"),
    ("an empty .keras file", ["{d}/empty.keras"], "empty.keras is empty"),
    ("a directory named .keras", ["{d}/folder.keras"], "is a directory"),
    ("a text file named .h5", ["{d}/text.h5"], "(a .h5 file is HDF5)"),
    ("an absent .keras file", ["{d}/absent.keras"], "no such file"),
    ("neither a file nor module:attr", ["mynet"], "module:attr"),
    ("an empty module name", [":net"], "module:attr"),
    ("an empty attribute", ["{d}/good.py:"], "module:attr"),
    ("an absent module", ["no_such_module_refnn:net"], "cannot import no_such_module_refnn"),
    ("an absent .py file", ["{d}/absent.py:net"], "no such file"),
    ("a directory named .py", ["{d}/package.py:net"], "is a directory"),
    ("an absent attribute", ["{d}/good.py:nothing"], "has no attribute 'nothing'"),
    ("a number, not a model", ["math:pi"], "pi is a float, not a torch module"),
    ("a factory returning a number", ["{d}/returns_int.py:net"], "net() returned builtins.int"),
    (
        "a torch module that is not a Sequential",
        ["{d}/custom.py:Net"],
        "nn.Sequential, got Net: give the same modules as torch.nn.Sequential",
    ),
    (
        "layers that do not fit together",
        ["{d}/mismatch.py:net"],
        "torch position 1 (Linear(in_features=5, out_features=1, bias=True)) holds W of shape "
        "(5, 1)",
    ),
    ("a torch layer the reference lacks", ["{d}/conv.py:net"], "Conv2d has no reference layer"),
    (
        "a torch model without weights",
        ["{d}/no_weights.py:net", "--input-shape", "3"],
        "the model has no weights (Flatten)",
    ),
    ("an empty torch Sequential", ["{d}/empty_seq.py:net"], "the Sequential is empty"),
    ("float16 weights", ["{d}/half.py:net"], "float16"),
    ("weights of two dtypes", ["{d}/mixed.py:net"], "share one dtype, got ['float32', 'float64']"),
    (
        "a weight that is NaN",
        ["{d}/nan_weights.py:net"],
        "parameter 0.W holds nan at (2, 1): the model's weights must be finite",
    ),
    # ---------------------------------------------------------------- options
    ("an unknown loss", ["{d}/good.py:net", "--loss", "hinge"], "unknown loss"),
    (
        "cce on a sigmoid output",
        ["{d}/good.py:sigmoid_net", "--loss", "cce"],
        "loss 'cce' needs an output layer with activation 'softmax'",
    ),
    (
        "a logits loss on a softmax output",
        ["{d}/good.py:softmax_net", "--loss", "cce_logits"],
        "use --loss cce",
    ),
    ("bce on an identity output", ["{d}/good.py:net", "--loss", "bce"], "activation 'sigmoid'"),
    ("an unknown optimizer", ["{d}/good.py:net", "--optimizer", "sdg"], "unknown optimizer"),
    ("a negative learning rate", ["{d}/good.py:net", "--lr", "-1"], "lr"),
    ("a NaN learning rate", ["{d}/good.py:net", "--lr", "nan"], "lr"),
    ("no samples", ["{d}/good.py:net", "--samples", "0"], "samples must be a whole number >= 1"),
    ("more samples than memory", ["{d}/good.py:net", "--samples", "10000000000000"], "GiB"),
    ("a negative seed", ["{d}/good.py:net", "--seed", "-1"], "seed must be a whole number >= 0"),
    ("an input shape that is not numbers", ["{d}/good.py:net", "--input-shape", "a,b"], "comma"),
    ("an input shape of 0", ["{d}/good.py:net", "--input-shape", "0"], "positive whole numbers"),
    # ---------------------------------------------------------------- data
    ("an absent data file", ["{d}/good.py:net", "--data", "{d}/absent.npz"], "no such file"),
    ("a directory as data", ["{d}/good.py:net", "--data", "{d}/folder.npz"], "is a directory"),
    ("an empty data file", ["{d}/good.py:net", "--data", "{d}/empty.npz"], "empty.npz is empty"),
    ("a text data file", ["{d}/good.py:net", "--data", "{d}/text.npz"], "is not an .npz file"),
    ("a single .npy array", ["{d}/good.py:net", "--data", "{d}/single.npy"], "holds one array"),
    ("data without y", ["{d}/good.py:net", "--data", "{d}/no_y.npz"], "it holds ['X']"),
    ("X of the wrong shape", ["{d}/good.py:net", "--data", "{d}/X_shape.npz"], "the model takes"),
    ("y of the wrong shape", ["{d}/good.py:net", "--data", "{d}/y_shape.npz"], "the model takes"),
    ("X with NaN", ["{d}/good.py:net", "--data", "{d}/X_nan.npz"], "X holds NaN or infinity"),
    ("X of text", ["{d}/good.py:net", "--data", "{d}/X_text.npz"], "X must hold real numbers"),
    ("X of objects", ["{d}/good.py:net", "--data", "{d}/X_object.npz"], "pickled"),
    ("data of 0 samples", ["{d}/good.py:net", "--data", "{d}/zero_rows.npz"], "0 samples"),
    ("X without a sample axis", ["{d}/good.py:net", "--data", "{d}/X_flat.npz"], "the model takes"),
    (
        "a one-hot target row of zeros",
        ["{d}/good.py:softmax_net", "--loss", "cce", "--data", "{d}/cce_empty_row.npz"],
        "target row 2 is all zeros",
    ),
    (
        "bce targets outside [0, 1]",
        ["{d}/good.py:sigmoid_net", "--loss", "bce", "--data", "{d}/bce_targets.npz"],
        "targets must lie in [0, 1]",
    ),
]

KERAS_CASES = [
    ("a Keras functional model", ["{d}/functional.keras"], "as keras.Sequential([...])"),
    ("a zip that is not a model", ["{d}/other_zip.keras"], "Keras cannot load it"),
    ("Keras float16 weights", ["{d}/half.keras"], "dtype float16 is not supported"),
    (
        "a Keras output that is not a vector",
        ["{d}/conv_output.keras"],
        "the model's output has shape (2, 2, 2) per sample",
    ),
    ("a Keras model without weights", ["{d}/weightless.keras"], "the model has no weights"),
    ("a Keras layer the reference lacks", ["{d}/dropout.keras"], "Dropout has no reference"),
    (
        "an input shape a Keras model does not take",
        ["{d}/plain.keras", "--input-shape", "4"],
        "takes inputs of shape (3,), not the input shape given, (4,)",
    ),
]


def _run(args, d, capsys, monkeypatch):
    monkeypatch.chdir(d)
    code = main(["check-model", *[a.format(d=d) for a in args]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_refused(code, out, err, phrase):
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.startswith("refnn check-model: ") and err.count("\n") == 1, err
    assert phrase in err, err
    assert out == ""


@pytest.mark.parametrize(("what", "args", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_and_exit_2(what, args, phrase, workdir, capsys, monkeypatch):
    _assert_refused(*_run(args, workdir, capsys, monkeypatch), phrase)


@pytest.mark.parametrize(("what", "args", "phrase"), KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_a_bad_keras_input_is_one_line_and_exit_2(
    what, args, phrase, keras_files, capsys, monkeypatch
):
    _assert_refused(*_run(args, keras_files, capsys, monkeypatch), phrase)


def test_the_cases_are_many_and_distinct():
    names = [c[0] for c in CASES + KERAS_CASES]
    assert len(names) == len(set(names)) >= 30


def test_the_good_file_passes(workdir, capsys, monkeypatch):
    # the negative control: the same file and options, nothing wrong
    code, out, err = _run(["{d}/good.py:net"], workdir, capsys, monkeypatch)
    assert code == 0 and "vs the NumPy reference: ok" in out and err == ""


# ---------------------------------------------------------------- the fixture
def _net(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))


@pytest.mark.parametrize(
    ("what", "call", "phrase"),
    [
        ("no model", lambda net: check_models([]), "no model given"),
        ("a dict", lambda net: check_models([("m", {"W": 1})]), "neither a torch module"),
        ("an unknown loss", lambda net: check_models([("m", net)], loss="hinge"), "unknown loss"),
        ("X without y", lambda net: check_models([("m", net)], np.zeros((4, 3))), "without y"),
        (
            "X of the wrong shape",
            lambda net: check_models([("m", net)], np.zeros((4, 2)), np.zeros((4, 2))),
            "the model takes",
        ),
        (
            "ragged X",
            lambda net: check_models([("m", net)], [[1.0, 2.0, 3.0], [1.0]], np.zeros((2, 2))),
            "X is not an array",
        ),
        ("samples of 1.5", lambda net: check_models([("m", net)], samples=1.5), "samples"),
        (
            "a learning rate of text",
            lambda net: check_models([("m", net)], optimizer_options={"lr": "fast"}),
            "lr must be a real number",
        ),
        (
            "infinite y",
            lambda net: check_models([("m", net)], np.zeros((2, 3)), np.full((2, 2), math.inf)),
            "y holds NaN or infinity",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_fixture_raises_one_line(what, call, phrase, torch):
    with pytest.raises(CheckModelError) as info:
        call(_net(torch))
    assert phrase in str(info.value) and "\n" not in str(info.value)
