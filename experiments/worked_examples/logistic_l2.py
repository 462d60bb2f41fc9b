"""``logistic_l2_4_layer``: the 4-layer classifier with the regularised logistic cost of seed 002.

The article (after the Coursera machine-learning course) has no runnable code, only the cost
and its gradient: for ``m`` samples and ``K`` sigmoid outputs ``h``,

    J = -1/m sum_i sum_k [y log h + (1 - y) log(1 - h)]  +  lambda / (2m) sum_l sum W_l^2

with the bias weights left out of the penalty, and ``dJ/dW_l = backprop_l + (lambda/m) W_l``,
``dJ/db_l = backprop_l`` (no penalty term).  In reference_nn that is loss ``logistic``
(``BinaryCrossEntropy(clip="none", reduction="batch_mean")``: summed over the K outputs,
averaged over the m rows) plus ``L2(lam, convention="course")`` (``penalty`` =
``lam / (2m) sum W^2`` over parameters named ``*.W`` only).

The article names no data set, so this one is ours: 30 samples of 3 features in three
Gaussian clusters (10 per class, ``default_rng(2002)``), one-hot targets; network
3-5-5-3, sigmoid everywhere, biases; weights and biases from ``torch_linear``
(U(-1/sqrt(fan_in), 1/sqrt(fan_in))) so the biases are not zero and their (unpenalised)
gradients are a real test.  ``lambda = 0.3``; 1,000 full-batch steps of gradient descent with
learning rate 1: the cost falls monotonically from 2.337 to 1.042 and all 30 samples end up
classified right.  (With ``lambda >= 1`` the penalty wins and every sample gets one class;
with learning rate 3 the cost jumps up around step 220, and such an unstable stretch
amplifies rounding differences between frameworks from 1e-16 to 1e-5: not a parity test.)
"""

from __future__ import annotations

import numpy as np

from reference_nn import LayerSpec, NetworkSpec

from .example import Runner, WorkedExample

SEED = 2002
LAMBDA = 0.3
N_PER_CLASS = 10
CENTRES = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """30 x 3 inputs around three centres (noise sd 0.4), and their one-hot classes."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), N_PER_CLASS)
    X = CENTRES[labels] + rng.normal(scale=0.4, size=(len(labels), 3))
    return X, np.eye(3)[labels]


def spec(lam: float = LAMBDA) -> NetworkSpec:
    return NetworkSpec(
        input_shape=3,
        layers=(
            LayerSpec.dense(5, "sigmoid"),
            LayerSpec.dense(5, "sigmoid"),
            LayerSpec.dense(3, "sigmoid"),
        ),
        loss="logistic",
        optimizer="sgd",
        optimizer_options={"lr": 1.0},
        regularizer={"lam": lam, "convention": "course"},
        weight_init="torch_linear",
        bias_init="torch_linear",
    )


def logistic_l2_4_layer() -> WorkedExample:
    s = spec()
    X, y = data()
    return WorkedExample(
        name="logistic_l2_4_layer",
        title="3-5-5-3 sigmoid classifier, logistic cost + lambda/(2m) sum W^2 (biases exempt)",
        source="Everything you need to know about neural networks and backpropagation, "
        "https://towardsdatascience.com/everything-you-need-to-know-about-neural-networks-and-"
        "backpropagation-machine-learning-made-easy-e5285bc2be3a",
        spec=s,
        X=X,
        y=y,
        params=s.init_parameters(SEED),
        steps=1000,
        report_every=100,
        figures=figures,
    )


def figures(example: WorkedExample, run: Runner) -> dict[str, object]:
    """The cost before and after training, training accuracy, and the gradient norms."""
    traj = run(example)
    final = traj.outputs[traj.steps]
    return {
        "initial_cost": float(traj.losses[0]),
        "final_cost": float(traj.losses[traj.steps]),
        "train_accuracy": float(np.mean(final.argmax(1) == example.y.argmax(1))),
        **{f"|dJ/d{name}|": float(np.linalg.norm(g)) for name, g in traj.grads.items()},
    }
