"""The worked examples in PyTorch and Keras, from the same weights as the NumPy reference.

* gradients and one step: the parity harness itself (``parity_tests.harness.parity.compare_on``)
  with the example's full batch;
* the published figures, reproduced in each framework;
* the whole runs -- xor_3_4_1's 10,000 and fixed_2_3_2's 50,001 steps in full -- compared
  tensor by tensor at the end (``experiments.worked_examples.compare``);
* Keras' compiled loop against eager Keras;
* negative controls: a planted wrong constant is caught by each kind of comparison.

Wall times (2 cores, shared machine): fixed_2_3_2 in torch ~18 s (eager, ~360 us a step),
in Keras ~1 s (XLA loop) + compile; xor_3_4_1 ~3 s torch, ~1 s Keras.
"""

import functools

import numpy as np
import pytest

from experiments.worked_examples import EXAMPLES, get_example, mismatches, reproduce, run
from experiments.worked_examples.compare import compare_trajectories
from parity_tests.harness import registry
from parity_tests.harness.compare import failures, tensor_error
from parity_tests.harness.parity import compare_on, failing
from parity_tests.harness.tolerances import tolerance

pytestmark = pytest.mark.frameworks

SHORT = ("hand_2_1_1", "numeric_3_2_1", "logistic_l2_4_layer")
LONG = ("xor_3_4_1", "fixed_2_3_2")


@functools.cache
def reproduction(name: str, framework: str):
    """(figures, trajectory) of the example's full run; cached per worker process."""
    return reproduce(get_example(name), framework)


def one_step(name: str, framework: str, example=None):
    ex = example or get_example(name)
    batches = [np.arange(len(ex.X))]  # full batch, one step
    return compare_on(name, framework, ex.spec, ex.params, ex.X, ex.y, batches)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_forward_gradients_and_one_step_agree(name, fw):
    reason = registry.get(fw).refusal(get_example(name).spec)
    if reason:  # declared, with its reason (the completeness test holds every adapter to it)
        pytest.skip(f"{fw} does not run {name}: {reason}")
    comparisons = one_step(name, fw)
    assert {c.quantity for c in comparisons} == {"forward", "loss", "grads", "step_1"}
    assert failures(comparisons) == []


@pytest.mark.parametrize("name", SHORT)
def test_short_examples_reproduce_the_published_figures_and_agree(name, fw):
    ex = get_example(name)
    figures, traj = reproduction(name, fw)
    assert mismatches(ex, figures) == []
    _, reference = reproduction(name, "numpy")
    bad = [r.message() for r in compare_trajectories(reference, traj) if not r.passed]
    assert bad == []


@pytest.mark.slow  # torch: xor ~3 s, fixed ~18 s; Keras ~1-2 s each incl. XLA compilation
@pytest.mark.parametrize("name", LONG)
def test_long_runs_in_full_reproduce_the_published_figures_and_agree(name, fw):
    ex = get_example(name)
    figures, traj = reproduction(name, fw)
    assert traj.steps == ex.steps  # in full: 10,000 / 50,001 steps
    assert mismatches(ex, figures) == []
    _, reference = reproduction(name, "numpy")
    rows = compare_trajectories(reference, traj)
    assert {r.quantity for r in rows} >= {"grads", "step_1", f"step_{ex.steps}", "loss_history"}
    assert [r.message() for r in rows if not r.passed] == []


def test_logistic_biases_are_not_penalised_in_either_framework(fw):
    # The frameworks' bias gradients equal the reference's *unregularised* ones, and their
    # weight gradients the unregularised ones plus (lambda / m) W.
    ex = get_example("logistic_l2_4_layer")
    lam, m = ex.spec.regularizer["lam"], len(ex.X)
    plain = ex.with_changes(spec=ex.spec.with_changes(regularizer=None))
    _, g_plain = plain.network().loss_and_gradients(ex.X, ex.y)
    grads = run(fw, ex, steps=0).grads
    limit = tolerance("float64", "grads")
    for name, g in grads.items():
        expected = g_plain[name] + (0 if name.endswith(".b") else lam / m * ex.params[name])
        assert tensor_error(expected, g).normwise_rel <= limit, name
        if name.endswith(".W"):  # and the penalty term is visible: far above the limit
            assert tensor_error(g_plain[name], g).normwise_rel > 1e3 * limit, name


def test_keras_compiled_loops_agree_with_eager_keras(keras):
    # 300 steps of xor_3_4_1.  Measured: the TF-graph loop equals eager bit for bit; the
    # XLA loop differs by ~4e-16 (fused elementwise ops round differently): within "steps".
    ex = get_example("xor_3_4_1")
    eager = run("keras", ex, steps=300, loop="eager")
    for loop in ("graph", "xla"):
        compiled = run("keras", ex, steps=300, loop=loop)
        for name, p in eager.final_params.items():
            err = tensor_error(p, compiled.final_params[name]).normwise_rel
            assert err <= tolerance("float64", "step_300"), (loop, name, err)
            if loop == "graph":
                np.testing.assert_array_equal(p, compiled.final_params[name])
        assert tensor_error(eager.losses, compiled.losses).normwise_rel <= tolerance(
            "float64", "loss"
        )


# ---------------------------------------------------------------- negative controls
def test_one_step_comparison_catches_a_planted_wrong_learning_rate(fw):
    ex = get_example("numeric_3_2_1")
    wrong = ex.with_changes(spec=ex.spec.with_changes(optimizer_options={"lr": 0.5 * (1 + 1e-9)}))
    batches = [np.arange(1)]
    comparisons = compare_on(
        "control", fw, ex.spec, ex.params, ex.X, ex.y, batches, reference_spec=wrong.spec
    )
    bad = failing(comparisons)
    # the step moves by 1e-9 relative: far outside "step_1" (3e-14), nothing else changes
    assert bad == {("step_1", "0.W"), ("step_1", "1.W")}


def test_trajectory_comparison_catches_a_planted_wrong_learning_rate(fw):
    # A learning rate off by one part in 1e9, over the 1,000 steps of logistic_l2_4_layer:
    # the gradients and the first step stay inside tolerance, the end of the run does not.
    ex = get_example("logistic_l2_4_layer")
    wrong = ex.with_changes(spec=ex.spec.with_changes(optimizer_options={"lr": 1.0 * (1 + 1e-9)}))
    _, reference = reproduction("logistic_l2_4_layer", "numpy")
    rows = compare_trajectories(reference, run(fw, wrong))
    failed = {r.quantity for r in rows if not r.passed}
    assert f"step_{ex.steps}" in failed and "grads" not in failed
    assert all(r.framework in r.message() and r.tensor in r.message() for r in rows)


def test_published_figure_check_catches_a_planted_wrong_input(fw):
    ex = get_example("hand_2_1_1")
    wrong = ex.with_changes(X=np.array([[0.1, 0.31]]))
    bad = mismatches(wrong, reproduce(wrong, fw)[0])
    # x2 enters h = x.w_ih: the output error term and Delta w_ih leave their printed digits
    named = {m.split(":")[0] for m in bad}
    assert {"output error term", "Delta w_ih"} <= named, bad


def test_compiled_loop_check_catches_a_planted_wrong_learning_rate(keras):
    ex = get_example("xor_3_4_1")
    eager = run("keras", ex, steps=50, loop="eager")
    wrong = ex.with_changes(spec=ex.spec.with_changes(optimizer_options={"lr": 1.0 + 1e-9}))
    compiled = run("keras", wrong, steps=50, loop="xla")
    worst = max(
        tensor_error(p, compiled.final_params[n]).normwise_rel
        for n, p in eager.final_params.items()
    )
    assert worst > tolerance("float64", "step_50")
