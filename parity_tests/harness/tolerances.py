"""The tolerance policy: the one place where "agree" gets a number.

Metric: normwise relative error per tensor, ``||ref - fw|| / max(||ref||, ||fw||)`` (see
``compare``).  Each limit is the worst value measured over the parity matrix (1,008 cases)
plus 60 seeded random architectures, reference vs torch 2.13.0 and Keras 3.15.1 / TF 2.21.0,
with ``refnn parity-report`` on 2026-11-23, times a margin of about 10, rounded up:

=========  ==========  =========  ==========  ==========================================
dtype      quantity    measured   tolerance   worst case (and why it is the worst)
=========  ==========  =========  ==========  ==========================================
float64    forward     5.7e-16    5e-15
float64    loss        4.1e-16    5e-15
float64    grads       6.9e-15    5e-14       tanh-bce_logits-rmsprop_torch, ``0.b``: a bias
                                              gradient summed over the batch with
                                              cancellation, so a small norm
float64    step_1      3.2e-15    3e-14       identity-mse-rmsprop_keras, ``0.b``
float64    steps (20)  3.3e-15    3e-14       identity-cce-adam_torch, ``1.b``
float32    forward     3.6e-07    4e-06
float32    loss        2.4e-07    3e-06
float32    grads       1.2e-06    1.5e-05     tanh-bce-momentum_torch, ``0.b``
float32    step_1      6.9e-06    7e-05       sigmoid-bce-adam_keras: Adam's first step is
                                              ~sign(g), so tiny g carry full float32 noise
float32    steps (20)  1.3e-05    1.5e-04     elu-cce-adam_keras, ``0.b``
=========  ==========  =========  ==========  ==========================================

Why a margin of 10: the measured figure is the extreme of ~1,000 cases, and a new seed or
architecture lands somewhat beyond it; the errors the suite exists to catch (a wrong
derivative, a missing 1/N or transpose, a wrong constant) are 1e-4 and larger, orders above
any limit here, as the negative controls show.  Never raise a limit to make a test pass:
find out why the error moved.

Per framework (``tolerance(dtype, quantity, framework)``; ``FRAMEWORK_TOLERANCES`` holds a
framework's own limits where its measured errors need them, each with its cause in a comment
beside it).  Measured on 2026-11-23 over the same matrix plus 60 random
architectures, jax 0.10.2 / optax 0.2.8, Keras 3.15.1 on JAX and on torch 2.13:

=============  =======  =======  =======  =======  =======  =======  =====================
framework      dtype    forward  loss     grads    step_1   steps    note
=============  =======  =======  =======  =======  =======  =======  =====================
keras-torch    float64  4.0e-16  4.6e-16  1.2e-15  6.5e-15  3.8e-15  594 cases
keras-torch    float32  2.2e-07  2.6e-07  9.2e-07  4.7e-06  3.5e-06
keras-jax      float64  4.2e-16  4.4e-16  1.3e-15  6.5e-15  8.0e-15  594 cases
keras-jax      float32  1.8e-07  2.9e-07  1.1e-06  1.0e-05  3.9e-06
jax            float64  4.2e-16  6.2e-16  4.6e-15  (steps)  7.1e-15  1,128 cases (note)
jax            float32  2.6e-07  6.8e-07  1.2e-06  (steps)  1.0e-05
=============  =======  =======  =======  =======  =======  =======  =====================

Note (jax): that run found 8 failing cases, all relu with bce_logits: the JAX loss was written
with ``jnp.maximum(s, 0)``, whose autodiff derivative at the tie s = 0 is 0, not 1/2; now
``jax.nn.softplus`` (exact derivative), and every bce_logits and random case passes; the
whole-matrix figures for jax were re-measured on 2026-12-01 (the jax rows above: the 1,008
matrix cases and 120 random architectures, less what JAX refuses; step_1 and step_20 together
under "steps"): worst float64 grads 4.6e-15 (tanh-bce_logits-rmsprop_torch, ``0.b``, the same
case as torch's and Keras's worst), steps 7.1e-15; float32 steps 1.0e-05
(softplus-bce_logits-rmsprop_keras, ``1.b``).

So no framework needs limits of its own: the default table holds for all of them.  That is
because the Keras adapter avoids the Keras ops that compute float64 in float32 on JAX and
torch (Keras 3.15's ``result_type`` maps float64 to float32 there: ``ops.matmul`` so
``Dense`` and ``ops.maximum`` on torch, ``ops.tanh`` on JAX, ``ops.mean`` so every loss
class on both; see ``frameworks/keras/backends.py`` and ``test_backends.py``).  Used as they are,
they would have needed float64 limits of ~1e-7 (forward) to ~1e-6 (steps) on those backends: float32
grade, which would hide every error between 1e-14 and 1e-7.

``TRAJECTORY`` is for long per-sample runs (the housing experiment): the largest elementwise
relative parameter difference between two frameworks.  1e-12 is the housing run's target for
the final parameters of the 670,000-step run.  Measured (float64, sequential order): after 2 epochs
(the CI test) 1.1e-14; after 100 epochs 6.9e-14.  At two intermediate epochs (~27 and ~87) the
elementwise figure peaks at 1.7e-12: a weight passes near zero there (``0.W[1, 1]`` = 0.0019 at
epoch 87), so an absolute error of ~1e-17 is a large relative one (see housing.png); scaled by
the largest parameter instead, the difference stays below 6e-15 at every epoch.
"""

from __future__ import annotations

TOLERANCES: dict[str, dict[str, float]] = {
    "float64": {"forward": 5e-15, "loss": 5e-15, "grads": 5e-14, "step_1": 3e-14, "steps": 3e-14},
    "float32": {"forward": 4e-6, "loss": 3e-6, "grads": 1.5e-5, "step_1": 7e-5, "steps": 1.5e-4},
}


# framework -> dtype -> limits that differ from TOLERANCES, each measured, its cause named
# beside it; a framework and dtype not listed use the default table.
FRAMEWORK_TOLERANCES: dict[str, dict[str, dict[str, float]]] = {}  # measured: none needed

TRAJECTORY: dict[str, float] = {"float64": 1e-12}


def tolerance(
    dtype: str,
    quantity: str,
    framework: str | None = None,
    kinds: set[str] | frozenset[str] = frozenset(),
    case: str = "",
) -> float:
    """The limit for ``quantity`` (forward, loss, grads, step_1, step_N) in ``dtype``, for
    ``framework`` (None, or a framework without its own entry: the default table), in a
    network with these layer ``kinds`` (a batchnorm or layernorm raises the forward, gradient
    and step limits to NORMALISATION's, see below); a ``case`` named in CASE_TOLERANCES
    (measured there, with its cause) has its own."""
    own = CASE_TOLERANCES.get(case, {}).get(dtype, {})
    key = "steps" if quantity.startswith("step_") and quantity not in own else quantity
    if key in own:
        return own[key]
    if NORMALISATION_KINDS & set(kinds):
        return layer_tolerance(dtype, quantity, kinds, framework)
    if dtype not in TOLERANCES:
        raise KeyError(f"no tolerances for dtype {dtype!r}; have {sorted(TOLERANCES)}")
    table = FRAMEWORK_TOLERANCES.get(framework or "", {}).get(dtype, TOLERANCES[dtype])
    if quantity in table:
        return table[quantity]
    if quantity.startswith("step_"):
        return table["steps"]
    raise KeyError(f"no tolerance for quantity {quantity!r}")


# ---------------------------------------------------------------- layer kinds beyond dense
# Measured with the layer-kind cases (parity_tests/cases/matrix.py: layer_cases(), one or more per
# kind, float64 and float32) and 30 seeded random CNNs per dtype (random_layer_case), against
# torch 2.13 and Keras 3 / TF 2.21, on 2026-11-23: the worst normwise relative error over
# every tensor, framework and step (steps: step_1 and step_20); re-measured after the
# reference's per-channel sums became pairwise (reference_nn/layers/_reduce.py).
#
# ==================  ===============================  ===============================
# kind (cases)        float64  forward / grads / steps  float32  forward / grads / steps
# ==================  ===============================  ===============================
# conv2d              1.7e-16 / 1.2e-15 / 2.7e-16       1.1e-07 / 3.4e-07 / 5.4e-07
# conv1d              1.4e-16 / 5.0e-16 / 5.3e-16       1.1e-07 / 2.9e-07 / 1.3e-07
# maxpool2d           1.4e-16 / 6.4e-16 / 1.3e-15       1.1e-07 / 3.2e-07 / 2.4e-07
# avgpool2d           1.3e-16 / 1.2e-15 / 4.2e-16       1.1e-07 / 3.8e-07 / 2.7e-07
# flatten             1.6e-16 / 7.2e-16 / 5.4e-16       9.1e-08 / 2.1e-07 / 1.7e-07
# batchnorm           1.8e-16 / 3.1e-15 / 1.9e-14       1.4e-07 / 3.3e-06 / 1.1e-05
# layernorm           2.0e-16 / 9.1e-16 / 9.5e-16       1.3e-07 / 1.7e-06 / 7.7e-07
# dropout             1.5e-16 / 4.0e-16 / 4.0e-16       1.2e-07 / 4.2e-07 / 1.2e-07
# embedding           1.2e-16 / 8.4e-16 / 2.8e-16       1.1e-07 / 3.7e-07 / 1.3e-07
# random CNNs         6.2e-16 / 1.6e-15 / 1.8e-15       3.6e-07 / 7.3e-07 / 1.0e-06
#   without a norm
# random CNNs with    3.2e-15 / 2.8e-13 / 1.6e-12       9.5e-07 / 7.1e-05 / 9.3e-04
#   batchnorm or
#   layernorm
# ==================  ===============================  ===============================
#
#
# Sequence kinds: the 11 sequence variants of LAYER_VARIANTS, each with 10 seeds (1000-1009) per
# dtype, against torch 2.13 (140 cases) and Keras 3.15 / TF 2.21 (160 cases), 2026-12-01;
# the worst over both frameworks, forward / loss / grads / steps:
#
# ==========  =========================================  =========================================
# kind        float64                                    float32
# ==========  =========================================  =========================================
# simple_rnn  1.4e-16 / 2.4e-16 / 7.9e-16 / 6.4e-16      1.3e-07 / 1.1e-07 / 5.0e-07 / 4.9e-07
# lstm        1.6e-16 / 2.0e-16 / 8.3e-16 / 4.1e-16      1.1e-07 / 1.8e-07 / 7.6e-07 / 2.2e-07
# gru         1.5e-16 / 2.7e-16 / 9.6e-16 / 6.3e-16      1.2e-07 / 1.8e-07 / 6.4e-07 / 2.8e-07
# attention   1.5e-16 / 2.9e-16 / 8.9e-16 / 9.7e-16      1.2e-07 / 2.2e-07 / 5.0e-07 / 4.6e-07
# ==========  =========================================  =========================================
#
# All inside the dense limits by a factor of 30 or more, so the sequence kinds use TOLERANCES
# unchanged.  Two effects that are not tolerances: Keras' attention scale is cast through
# float32 on TensorFlow unless given as a NumPy float64, as the adapter gives it (4.7e-10 in
# float64 otherwise; test_sequence_known_differences shows it), and attention's key bias has a
# gradient that is zero by the mathematics (its computed value is rounding noise, ~1e-17), so
# it is measured against the norm of the whole gradient (Layer.zero_gradient_names,
# compare_runs' ``noise``), not against itself.  Its planted errors (the sequence negative
# controls) are 1e-2 and larger.
#
# JAX (jax 0.10.2, every kind since 2026-12-01, parity_tests/frameworks/jax/layers.py), over the
# same layer cases and the 10 random CNNs per dtype: every kind case and every random CNN without a
# normalisation layer inside the dense limits (float64 worst: maxpool2d steps 1.9e-15, batchnorm
# grads 3.9e-15 / steps 8.9e-15; float32 worst: batchnorm grads 5.4e-06 / steps 7.1e-06); the
# random CNNs with a normalisation layer inside NORMALISATION (float64 grads 1.3e-13, steps
# 2.4e-12, random-layers0, where torch measures 1.6e-12; float32 grads 5.2e-05, steps 1.6e-03).
#
# Every kind case and every random CNN without a normalisation layer stays inside the dense
# limits above (TOLERANCES, unchanged) by a factor of 10 or more.  Random CNNs with a batchnorm
# or layernorm do not, for a reason of conditioning, not of formula: a normalisation layer's
# input gradient is a difference of nearly equal terms,
# ``dx = gamma * inv / M * (M g - sum(g) - xhat * sum(g * xhat))``, so everything before it
# gets its gradient with a relative error of eps times that cancellation (worst measured
# 2.8e-13 in float64: random-layers0, a single-channel batchnorm whose gradients have norm
# 1e-4 against weights of 0.5), and RMSprop's and Adam's first steps, ~lr * sign(g), pass it on
# undamped (1.6e-12 after 20 steps, 9.3e-04 in float32, same case).  The forward output of a
# float64 batchnorm network reached 3.2e-15 (random-layers28, Keras: TF's float64 reductions
# for the batch statistics), within the dense 5e-15 but by less than 2x.  NORMALISATION holds
# those measured figures times a margin of about 10 for networks with a normalisation layer
# (the loss keeps the dense limit); the planted errors of
# the layer negative controls (tests/parity/test_layer_negative_controls.py) are 1e-3 and larger.
# The digits worked example (51,200 values per channel) is larger still: its figures are in
# experiments/worked_examples/digits_cnn.py.

NORMALISATION_KINDS = frozenset({"batchnorm", "layernorm"})
NORMALISATION: dict[str, dict[str, float]] = {
    "float64": {"forward": 3e-14, "grads": 3e-12, "step_1": 5e-13, "steps": 2e-11},
    "float32": {"forward": 1e-5, "grads": 7e-4, "step_1": 3e-4, "steps": 1e-2},
}


def layer_tolerance(
    dtype: str, quantity: str, kinds: set[str] | frozenset[str], framework: str | None = None
) -> float:
    """The limit for ``quantity`` in a network with these layer kinds: the dense limit, or for
    the forward, gradient and step quantities of a network with a batchnorm or layernorm, the
    larger NORMALISATION limit (measured, see the table above)."""
    base = tolerance(dtype, quantity, framework)
    if not NORMALISATION_KINDS & set(kinds):
        return base
    table = NORMALISATION[dtype]
    key = quantity if quantity in table else ("steps" if quantity.startswith("step_") else "")
    return max(base, table[key]) if key else base


# ---------------------------------------------------------------- named cases
# Cases whose size puts them beyond the limits above, each measured, its cause named.
#
# digits_cnn (experiments/worked_examples/digits_cnn.py): a batchnorm over 800 samples of 8x8,
# 51,200 values per channel, far more than the random CNNs behind NORMALISATION.  torch's and
# TensorFlow's float64 reductions over that many values drift by ~1e-14 (the reference's
# pairwise sums stay within 1e-15 of exactly rounded ones: tests/test_layers_norm.py).
# Measured, one full-batch step from the example's weights (torch / Keras): forward 3.2e-14 /
# 8.7e-15, loss 1.5e-14 / 1.9e-15, gradients 8.7e-14 / 2.7e-14, step_1 6.0e-14 / 2.1e-14; after
# the 80-step run the parameters 9.0e-14 / 3.7e-14.  Limits: about 10x the worst.
CASE_TOLERANCES: dict[str, dict[str, dict[str, float]]] = {
    "digits_cnn": {
        "float64": {
            "forward": 3e-13,
            "loss": 2e-13,
            "grads": 1e-12,
            "step_1": 6e-13,
            "steps": 1e-12,
        }
    },
}


# ---------------------------------------------------------------- the baseline check's envelope
# ``refnn baseline check`` (experiments/baseline/check.py) fails a framework's tensor when its
# normwise relative error against the reference grew, since the recording, by more than this;
# the reference's own tensors when they moved by more than ``reference``.  Per dtype and item
# kind (parity: 20 steps; example: up to 10,000 full-batch steps; housing: 2 epochs of
# per-sample steps; examples and housing are float64 only).
#
# Measured 2026-12-04 (torch 2.13.0, Keras 3.15.1 / TF 2.21.0, NumPy 2.4.6; 51 items, 1,816
# tensors), as the largest growth over every tensor:
#   * three kernel paths emulated on this AVX-512 EPYC (experiments/baseline/kernel_paths.py:
#     "avx2", "sse4", "tf-eigen"), against the recording made here;
#   * two real CPUs: the recordings of an EPYC without AVX-512 (baselines/pinned) and of this
#     one (baselines/pinned/platforms/avx512), each against the other.
#
# =========  =========  ==========  ==========  ========  =======================================
# dtype      kind       emulated    two CPUs    envelope  worst (emulated)
# =========  =========  ==========  ==========  ========  =======================================
# float64    parity     2.8e-16     1.6e-16     2e-14     tanh-half_sse-sgd [keras] step_20 1.b
# float64    example    4.1e-15     2.2e-15     5e-13     logistic_l2_4_layer [torch] final 0.b
# float64    housing    6.1e-16     (0)         5e-14     epochs2 [keras] epoch_2 1.b
# float64    reference  5.0e-15     4.0e-15     5e-13     logistic_l2_4_layer final 0.b
# float32    parity     4.0e-07     1.4e-07     2e-05     sigmoid-bce-nesterov_keras step_1 0.b
# float32    reference  5.1e-07     1.1e-07     5e-05     sigmoid-bce-nesterov_keras step_1 0.b
# =========  =========  ==========  ==========  ========  =======================================
#
# Envelope: about 50x the worst, rounded up to the next 1-2-5 step (so 50x to 120x).  Why 50
# and not the tolerance table's 10: three
# emulated paths and two real CPUs are few, and an Intel Xeon (AVX-512 FP16, AMX) moved torch's
# float64 tensors by up to 2,718 ulp against the EPYC recordings, 8x the widest emulated path
# (344 ulp), so a real CPU can drift further than measured here.  What it still catches: in
# float64 a change of 2e-14 normwise in a parity item, 5e-13 in a worked example (a framework
# change of one part in a million is 10^7 times these); in float32 a change of about 2e-5
# normwise, i.e. some 170 ulp: below that, another CPU's kernels move float32 results as much
# as a real change would.
BASELINE_ENVELOPE: dict[str, dict[str, float]] = {
    "float64": {"parity": 2e-14, "example": 5e-13, "housing": 5e-14, "reference": 5e-13},
    "float32": {"parity": 2e-5, "reference": 5e-5},
}


def baseline_envelope(dtype: str, kind: str, reference: bool = False) -> float:
    """How far a baseline tensor's error against the reference may grow across CPUs (for the
    reference itself, ``reference=True``: how far it may move).  ValueError for a dtype and
    kind nobody measured."""
    key = "reference" if reference else kind
    try:
        return BASELINE_ENVELOPE[dtype][key]
    except KeyError:
        raise ValueError(
            f"no baseline envelope measured for {dtype} {key} items: measure one with "
            "'python -m experiments.baseline.kernel_paths DIR' (parity_tests/harness/tolerances.py)"
        ) from None
