"""housing_2_3_1 as the notebook wrote it (experiments/housing/as_published.py) and the seed study.

The notebook's rule is checked against an independent transcription of its methods written
below (its own statements on NumPy scalars, ``np.e ** -x``), the control rule (the derivative
fixed, nothing else) against the project's true-gradient loop, and the command's end figure
(test MSE 0.028668 from the seed-0 weights) against the issue's number.
"""

import json
import os

import numpy as np
import pytest

from experiments.cli import main
from experiments.housing import seed_study
from experiments.housing.as_published import NotebookSGD, train_rule
from experiments.housing.protocol import make_problem
from parity_tests.frameworks.numpy.per_sample import PerSampleSGD


class Notebook:
    """The notebook's SimpleNeuralNetwork, transcribed statement by statement."""

    def __init__(self, initial):
        W1, W2 = initial["0.W"], initial["1.W"][:, 0]
        self.w1, self.w2, self.w3 = W1[0, 0], W1[1, 0], W1[0, 1]
        self.w4, self.w5, self.w6 = W1[1, 1], W1[0, 2], W1[1, 2]
        self.w7, self.w8, self.w9 = W2
        self.b_n1, self.b_n2, self.b_n3 = initial["0.b"]
        self.b_y_hat = initial["1.b"][0]

    def sigmoid(self, x):
        return 1 / (1 + np.e**-x)

    def sigmoid_der(self, x):
        return self.sigmoid(x) * (1 - self.sigmoid(x))

    def feedforward(self, x):
        self.n1 = self.sigmoid(x[0] * self.w1 + x[1] * self.w2 + self.b_n1)
        self.n2 = self.sigmoid(x[0] * self.w3 + x[1] * self.w4 + self.b_n2)
        self.n3 = self.sigmoid(x[0] * self.w5 + x[1] * self.w6 + self.b_n3)
        self.y_hat = self.sigmoid(
            self.n1 * self.w7 + self.n2 * self.w8 + self.n3 * self.w9 + self.b_y_hat
        )

    def backpropagation(self, x, y):
        y_hat_der = -2 * (y - self.y_hat) * self.sigmoid_der(self.y_hat)
        z_w7_der = self.w7 * self.sigmoid_der(self.n1)
        z_w8_der = self.w8 * self.sigmoid_der(self.n2)
        z_w9_der = self.w9 * self.sigmoid_der(self.n3)
        self.b_n1 -= self.lr * y_hat_der * z_w7_der
        self.b_n2 -= self.lr * y_hat_der * z_w8_der
        self.b_n3 -= self.lr * y_hat_der * z_w9_der
        self.b_y_hat -= self.lr * y_hat_der
        self.w7 -= self.lr * y_hat_der * self.n1
        self.w8 -= self.lr * y_hat_der * self.n2
        self.w9 -= self.lr * y_hat_der * self.n3
        self.w1 -= self.lr * y_hat_der * z_w7_der * x[0]
        self.w2 -= self.lr * y_hat_der * z_w7_der * x[1]
        self.w3 -= self.lr * y_hat_der * z_w8_der * x[0]
        self.w4 -= self.lr * y_hat_der * z_w8_der * x[1]
        self.w5 -= self.lr * y_hat_der * z_w9_der * x[0]
        self.w6 -= self.lr * y_hat_der * z_w9_der * x[1]


@pytest.fixture(scope="module")
def problem():
    return make_problem(seed=0, epochs=100)


def params_of(nb):
    return np.array(
        [
            nb.w1,
            nb.w2,
            nb.w3,
            nb.w4,
            nb.w5,
            nb.w6,
            nb.w7,
            nb.w8,
            nb.w9,
            nb.b_n1,
            nb.b_n2,
            nb.b_n3,
            nb.b_y_hat,
        ],
        dtype=np.float64,
    )


def flat(p):
    W1, W2 = p["0.W"], p["1.W"][:, 0]
    return np.array(
        [W1[0, 0], W1[1, 0], W1[0, 1], W1[1, 1], W1[0, 2], W1[1, 2], *W2, *p["0.b"], *p["1.b"]]
    )


def test_notebook_rule_equals_the_notebook_transcription(problem):
    s = problem.split
    nb = Notebook(problem.initial)
    nb.lr = 0.05
    order = list(range(3000))
    for j in order:
        nb.feedforward(s.X_train[j])
        nb.backpropagation(s.X_train[j], s.y_train[j][0])
    loop = NotebookSGD(problem.initial, s.X_train, s.y_train, 0.05)
    loop.train(order)
    np.testing.assert_array_equal(flat(loop.parameters()), params_of(nb))  # bit for bit


def test_control_fixing_only_the_derivative_gives_the_true_gradient(problem):
    s, order = problem.split, problem.orders[0]
    control = NotebookSGD(problem.initial, s.X_train, s.y_train, 0.05, derivative="pre-activation")
    true = PerSampleSGD(problem.initial, s.X_train, s.y_train, 0.05)
    quirk = NotebookSGD(problem.initial, s.X_train, s.y_train, 0.05)
    for loop in (control, true, quirk):
        loop.train(order)
    a, b, c = flat(control.parameters()), flat(true.parameters()), flat(quirk.parameters())
    np.testing.assert_allclose(a, b, rtol=1e-11)
    assert np.max(np.abs(c - b) / np.abs(b)) > 1e-3  # negative control: the quirk is visible


def test_refnn_housing_as_published_ends_at_0_028668(tmp_path, capsys):
    out = tmp_path / "h"
    args = ["housing", "--frameworks", "numpy", "--as-published", "--no-baseline"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "as published (the notebook's rule, NumPy): test MSE 0.028668" in text
    assert "true gradient (numpy, above): test MSE 0.027934" in text
    assert "cause: the notebook applies sigmoid_der to the activations" in text
    results = json.loads((out / "results.json").read_text())
    ap = results["as_published"]
    assert round(ap["test_mse"], 6) == 0.028668
    assert round(results["final"]["numpy"]["test_mse"], 6) == 0.027934
    assert ap["difference"]["test_mse"] == pytest.approx(ap["test_mse"] - 0.02793417726872669)
    assert len(ap["history"]["test_mse"]) == 100
    assert "As published" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["--seeds", "5..2"],
        ["--seeds", "abc"],
        ["--seeds", "1..x"],
        ["--as-published", "--dtype", "float32"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, capsys, tmp_path):
    assert main(["housing", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("refnn housing: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_parse_seeds():
    assert seed_study.parse_seeds("0..19") == range(0, 20)
    assert seed_study.parse_seeds(" 3 .. 3 ") == range(3, 4)
    for bad in ("", "3", "-1..2", "2..1", "a..b", "0...3"):
        with pytest.raises(ValueError):
            seed_study.parse_seeds(bad)


def test_seed_study_rows_match_single_runs_and_outputs_are_atomic(problem, tmp_path, monkeypatch):
    s = problem.split
    rows = seed_study.run_study(s, [0, 1], ["true", "notebook"], epochs=2, jobs=2)
    assert [(r["rule"], r["seed"]) for r in rows] == [
        ("true", 0),
        ("notebook", 0),
        ("true", 1),
        ("notebook", 1),
    ]
    one = train_rule("notebook", problem.initial, s, problem.orders[:2], 0.05)
    assert rows[1]["test_mse"] == one["test_mse"]
    assert rows[1]["printed_train_mse"] == one["printed_train_mse"]  # after 1 of 2 epochs
    payload = {
        "settings": {"seeds": "0..1", "n_seeds": 2, "epochs": 2, "order": "sequential"},
        "summary": seed_study.summarise(rows),
        "rows": rows,
    }
    target = tmp_path / "seeds_0-1"
    paths = seed_study.write_atomically(target, payload)
    assert all(p.exists() for p in paths)
    assert sorted(os.listdir(tmp_path)) == ["seeds_0-1"]
    before = (target / "study.json").read_text()

    def broken(*_):
        raise KeyboardInterrupt  # interrupted while writing the plot

    monkeypatch.setattr(seed_study, "figure", broken)
    with pytest.raises(KeyboardInterrupt):
        seed_study.write_atomically(target, {**payload, "rows": []})
    assert sorted(os.listdir(tmp_path)) == ["seeds_0-1"]  # no temporary folder left behind
    assert (target / "study.json").read_text() == before  # the old outputs, untouched


def test_summarise_counts_printed_figure_matches():
    base = {"train_mse": 0.0}
    rows = [
        {
            "seed": 0,
            "rule": "true",
            "test_mse": 0.02836,
            "test_r2": 0.4971,
            "printed_train_mse": 0.02852,
            **base,
        },
        {
            "seed": 1,
            "rule": "true",
            "test_mse": 0.02790,
            "test_r2": 0.5050,
            "printed_train_mse": 0.02820,
            **base,
        },
        {
            "seed": 0,
            "rule": "notebook",
            "test_mse": 0.02866,
            "test_r2": 0.4918,
            "printed_train_mse": 0.02882,
            **base,
        },
    ]
    s = seed_study.summarise(rows)
    assert s["rules"]["true"]["all_three"] == [0]
    assert s["rules"]["notebook"]["all_three"] == []
    assert s["rules"]["true"]["matches"]["test_mse"] == [0, 1]
    assert s["consistent_with"] == ["true"]
    assert s["verdict"].startswith("consistent with the text's rule (true gradient) only")
