"""``digits_cnn``: a small CNN on scikit-learn's bundled 8x8 digits, in every framework.

The data: ``sklearn.datasets.load_digits()`` (1,797 images of 8x8 pixels, values 0..16, ten
classes; shipped with scikit-learn, so it works offline), scaled to [0, 1] and laid out
channels-last ``(N, 8, 8, 1)``.  The split is fixed: ``numpy.random.default_rng(0)`` permutes
the images once; the first 800 train, the other 997 test.

The network (spec below): ``conv2d`` (8 filters 3x3, 'same', tanh, no bias) -> ``batchnorm``
(torch's running statistics, eps 1e-5) -> ``maxpool2d`` 2x2 -> ``dropout`` 0.25 (masks from
seed 0: every framework multiplies by the reference's masks) -> ``flatten`` -> ``dense`` 10
logits,
softmax cross-entropy, plain SGD (lr 0.5; the one optimizer whose formulation torch and Keras
share), full batch, 80 steps, from the same initial weights (``init_parameters(0)``).

Accuracy (reported per framework, from that framework's final parameters): inference with the
batch-norm statistics of the whole training set under those parameters (a population pass,
the usual end-of-training estimate), so it depends on the parameters alone; every framework's
own running statistics are compared with the reference's in the parity suite.  No article
published these numbers: the figures are the run's own (train loss, train and test accuracy).

Measured (2026-11-23, torch 2.13, Keras 3 / TF 2.21): final loss 0.1223, train accuracy 0.99125,
test accuracy 0.9689 (966 of 997) in all three.  Final parameters against the reference:
normwise 9.0e-14 (torch) and 3.7e-14 (Keras); scaled by the largest parameter 4.3e-14 and
1.7e-14; elementwise 2.4e-11 and 6.6e-12 (on parameters near zero).  That is above the dense
networks' per-step limits (``refnn examples run digits_cnn`` says EXCEEDS and exits 1) and
inside the batch-norm limits of ``parity_tests/harness/tolerances.py`` (NORMALISATION): the batch
statistics sum 51,200 values per channel, and torch's and TensorFlow's float64 reductions
drift by ~1e-14 there, where the reference's pairwise sums stay within 1e-15 of exactly
rounded ones (``tests/test_layers_norm.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from reference_nn import LayerSpec, NetworkSpec

from .example import Array, Runner, WorkedExample

STEPS = 80
N_TRAIN = 800


@functools.cache
def _data() -> tuple[Array, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float64)[..., None]
    return X, digits.target.astype(np.int64)


def split() -> tuple[Array, np.ndarray, Array, np.ndarray]:
    """``(X_train, labels_train, X_test, labels_test)``: the fixed split of the docstring."""
    X, labels = _data()
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    return X[train], labels[train], X[test], labels[test]


SPEC = NetworkSpec(
    input_shape=(8, 8, 1),
    layers=(
        LayerSpec(
            "conv2d",
            {
                "filters": 8,
                "kernel_size": 3,
                "padding": "same",
                "activation": "tanh",
                "use_bias": False,  # batchnorm's beta is the bias
            },
        ),
        LayerSpec("batchnorm", {"convention": "torch", "epsilon": 1e-5}),
        LayerSpec("maxpool2d", {"pool_size": 2}),
        LayerSpec("dropout", {"rate": 0.25, "seed": 0}),
        LayerSpec("flatten"),
        LayerSpec.dense(10, "identity"),
    ),
    loss="cce_logits",
    optimizer="sgd",
    optimizer_options={"lr": 0.5},
)


def digits_cnn() -> WorkedExample:
    X, labels, _, _ = split()
    return WorkedExample(
        name="digits_cnn",
        title="conv2d-batchnorm-maxpool2d-dropout-flatten-dense on the 8x8 digits, "
        f"{STEPS} full-batch SGD steps",
        source="scikit-learn's bundled digits (sklearn.datasets.load_digits, the UCI optdigits "
        "test set); no published figures: the run's own",
        spec=SPEC,
        X=X,
        y=np.eye(10)[labels],
        params=SPEC.init_parameters(0),
        steps=STEPS,
        report_every=10,
        figures=figures,
    )


def accuracy(params: dict[str, Array], X_train: Array, X: Array, labels: np.ndarray) -> float:
    """Accuracy on ``X`` in inference mode, with the batch-norm statistics of ``X_train`` under
    ``params`` (torch momentum 1: the running values become that one batch's statistics)."""
    population = SPEC.with_changes(
        layers=tuple(
            LayerSpec(lay.kind, {**lay.options, "momentum": 1.0})
            if lay.kind == "batchnorm"
            else lay
            for lay in SPEC.layers
        )
    ).build_network()
    population.set_parameters(params)
    population.forward(X_train)  # one training pass: sets the running statistics
    return float(np.mean(population.predict(X).argmax(axis=1) == labels))


def figures(example: WorkedExample, run: Runner) -> dict[str, Any]:
    """Train in the framework (BLAS on one thread, as every framework here), then the final
    loss and the train and test accuracy of its final parameters."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        traj = run(example)
        X_train, labels_train, X_test, labels_test = split()
        final = traj.final_params
        return {
            "loss_before_training": traj.losses[0],
            "final_loss": traj.losses[traj.steps],
            "train_accuracy": accuracy(final, X_train, X_train, labels_train),
            "test_accuracy": accuracy(final, X_train, X_test, labels_test),
        }
