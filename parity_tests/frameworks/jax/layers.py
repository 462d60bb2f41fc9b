"""Reference layer kinds in JAX: for each kind, a pure function of the layer's parameters and its
input in ``jax.numpy`` / ``jax.lax``, written from the layer's definition (the docstrings of
``reference_nn/layers/*.py``; no reference NumPy code computes anything here), and how its
parameters translate.  The reference's layouts are kept as they are, so every translation is a
copy: dense ``W (n_in, n_out)``, channels-last tensors and HWIO kernels (``(kh, kw, C, F)``;
``(k, C, F)`` in 1-D), recurrent ``W (D, G*H)``, ``U (H, G*H)`` with the gates in the
reference's column blocks, attention's per-head ``(D, heads, key_dim)``.  A new layer kind is
one entry in ``LAYERS``, a new activation one entry in ``ACTIVATIONS`` (``jax.nn`` /
``jax.numpy`` functions, by reference name); the adapter (:mod:`.adapter`) reports both tables,
so a reference entry missing from either is a gap the completeness test names.

Every kind of the reference runs:

* ``dense``; ``flatten`` (a reshape of the channels-last tensor: the reference's order);
* ``conv1d`` / ``conv2d``: ``lax.conv_general_dilated`` (``NWC/WIO/NWC``, ``NHWC/HWIO/NHWC``)
  with strides, ``rhs_dilation`` and explicit padding pairs: TensorFlow's ``same``, from
  :func:`parity_tests.frameworks.common.padding.tf_padding` (the adapters' own copy of the
  rule, so the parity check tests the reference's);
* ``maxpool2d`` / ``avgpool2d``: ``lax.reduce_window`` (``max`` from ``-inf``: a padded
  position never wins; ``add`` divided by the same window sum over ones, so a ``same`` window
  at the border divides by its count of real inputs, as TensorFlow);
* ``layernorm`` (mean, biased variance, ``1 / sqrt(var + eps)`` over the last axis);
  ``embedding`` (``jnp.take`` of the table rows; ``jax.grad`` scatter-adds repeated rows);
* ``simple_rnn`` / ``lstm`` / ``gru`` (both placements of the reset gate): ``lax.scan`` over
  time from a zero state, the input side ``x @ W + bias`` for every step up front; a torch-
  convention bias ``b (2, G*H)`` enters as ``b[0] + b[1]`` (``gru`` with ``reset_after``: row 0
  on the input side, row 1 inside the recurrent product, as the reference);
* ``attention``: per-head einsums, the scores over ``sqrt(key_dim)`` in the network's dtype,
  the causal mask (``-inf``) before the softmax;
* ``batchnorm``: batch statistics in training, running statistics in inference; the running
  statistics are non-trainable state (``JaxLayer.state_update``: torch's convention, momentum
  the new batch's weight and the unbiased batch variance, or Keras', momentum the old value's
  weight and the biased variance), carried by the adapter beside the parameters;
* ``dropout``: ``x * mask`` with the mask the reference draws for that call
  (:func:`reference_nn.layers.dropout.dropout_mask` from the layer's seed, one draw per
  training forward call), drawn on the host by the adapter (``JaxLayer.host_input``) and passed
  in as an argument, so the step still compiles; identity in inference.

``JaxLayer.refusal`` names what an entry cannot compute (none does today: every kind and
option of the reference runs); the adapter refuses such a spec with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.frameworks.common.padding import tf_padding
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Array
from reference_nn.layers.dropout import dropout_mask

# reference activation name -> (its options -> the function); ``jax.nn`` / ``jax.numpy``,
# looked up when a layer computes, so the names are readable without importing JAX
ACTIVATIONS: dict[str, Callable[[dict[str, float]], Callable[[Any], Any]]] = {
    "identity": lambda options: lambda z: z,
    "sigmoid": lambda options: loaders.jax().nn.sigmoid,
    "tanh": lambda options: loaders.jax().numpy.tanh,
    "relu": lambda options: loaders.jax().nn.relu,
    # the reference's definition, z for z > 0 else alpha z: its derivative at 0 is alpha, as
    # the reference's and torch's; jax.nn.leaky_relu's (where(z >= 0, ...)) is 1.  Random
    # networks reach the tie: dropout zeroes a sample's whole row, a layernorm maps it to
    # beta = 0 and the next dense layer's z to exactly 0
    "leaky_relu": lambda options: (
        lambda z: loaders.jax().numpy.where(z > 0, z, options["alpha"] * z)
    ),
    "elu": lambda options: lambda z: loaders.jax().nn.elu(z, alpha=options.get("alpha", 1.0)),
    "softplus": lambda options: loaders.jax().nn.softplus,
    "softmax": lambda options: lambda z: loaders.jax().nn.softmax(z, axis=-1),
}


def _activation(name: str, options: dict[str, float]) -> Callable[[Any], Any]:
    return ACTIVATIONS[name](options)


Config = dict[str, Any]


def _options(ref: Any) -> Config:
    """What a layer's JAX function reads: its resolved options, its per-sample input shape and
    its dtype (from the built reference layer; no reference computation)."""
    return {**dict(ref.options), "input_shape": tuple(ref.input_shape), "dtype": ref.dtype}


class HostInput:
    """Arrays a layer takes from the host on each training call (dropout's mask): ``draw``
    gives the next call's (advancing the source), ``like`` arrays of the same shapes and dtypes
    without drawing (to compile ahead of time)."""

    def draw(self, batch: int) -> dict[str, Array]:
        raise NotImplementedError

    def like(self, batch: int) -> dict[str, Array]:
        raise NotImplementedError


@dataclass(frozen=True)
class JaxLayer:
    """How one reference layer kind computes in JAX and how its parameters translate."""

    # (config, own arrays by reference name ("W"; state and host inputs too), x, training) -> y
    apply: Callable[[Config, dict[str, Any], Any, bool], Any]
    to_jax: Callable[[str, Array], Array]  # reference name, value -> JAX layout
    from_jax: Callable[[str, Array], Array]
    # built reference layer -> the config ``apply`` reads (options, shapes, dtype)
    configure: Callable[[Any], Config] = _options
    # config -> None, or what this entry cannot compute (the adapter refuses the spec with it)
    refusal: Callable[[Config], str | None] = lambda config: None
    # non-trainable state: config -> initial values by reference name ("running_mean")
    state_init: Callable[[Config], dict[str, Array]] = lambda config: {}
    # (config, own arrays (state included), layer input) -> the state after a training call
    state_update: Callable[[Config, dict[str, Any], Any], dict[str, Any]] | None = None
    # config -> a per-model source of host arrays for each training call (dropout's masks),
    # passed to ``apply`` among the own arrays
    host_input: Callable[[Config], HostInput] | None = None


def _same(name: str, value: Array) -> Array:
    return value.copy()


def _dense(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    z = x @ params["W"]
    if config["use_bias"]:
        z = z + params["b"]
    return _activation(config["activation"], config["activation_options"])(z)


# ---------------------------------------------------------------- windows
def _conv_configure(ref: Any) -> Config:
    config = _options(ref)
    rank = len(ref.kernel)
    kernel, strides, dilation = ref.kernel, ref.windows.strides, ref.windows.dilation
    config.update(
        kernel=tuple(kernel),
        strides=tuple(strides),
        dilation=tuple(dilation),
        pads=tf_padding(config["padding"], ref.input_shape[:-1], kernel, strides, dilation),
        dimension_numbers=("NWC", "WIO", "NWC") if rank == 1 else ("NHWC", "HWIO", "NHWC"),
    )
    return config


def _conv(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    lax = loaders.jax().lax
    z = lax.conv_general_dilated(
        x,
        params["W"],
        window_strides=config["strides"],
        padding=config["pads"],
        rhs_dilation=config["dilation"],
        dimension_numbers=config["dimension_numbers"],
        precision=lax.Precision.HIGHEST,
    )
    if config["use_bias"]:
        z = z + params["b"]
    return _activation(config["activation"], config["activation_options"])(z)


def _pool_configure(ref: Any) -> Config:
    config = _options(ref)
    pool, strides = tuple(ref.pool), tuple(ref.windows.strides)
    config.update(
        pool=pool,
        strides=strides,
        pads=tf_padding(config["padding"], ref.input_shape[:-1], pool, strides, (1, 1)),
    )
    return config


def _window_sum(x: Any, config: Config, init: float, op: Any) -> Any:
    """``op`` over every pooling window of ``x`` (padded with ``init``).  ``init`` is a NumPy
    scalar, a concrete value: with it ``reduce_window`` binds its ``max`` / ``sum``
    primitives, which ``jax.grad`` differentiates (a traced ``init`` makes the generic,
    non-differentiable reduction)."""
    lax = loaders.jax().lax
    return lax.reduce_window(
        x,
        np.asarray(init, x.dtype),
        op,
        window_dimensions=(1, *config["pool"], 1),
        window_strides=(1, *config["strides"], 1),
        padding=((0, 0), *config["pads"], (0, 0)),
    )


def _maxpool(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    return _window_sum(x, config, -np.inf, loaders.jax().lax.max)


def _avgpool(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    jax = loaders.jax()
    total = _window_sum(x, config, 0.0, jax.lax.add)
    ones = np.ones((1, *x.shape[1:-1], 1), x.dtype)
    count = _window_sum(ones, config, 0.0, jax.lax.add)  # real inputs per window
    return total / count


def _flatten(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    return x.reshape(x.shape[0], -1)  # C order of (N, H, W, C): channels fastest


# ---------------------------------------------------------------- normalisation
def _normalise(centred: Any, var: Any, epsilon: float) -> Any:
    """``(x - mean) / sqrt(var + eps)``, as ``centred * inv``; ``epsilon`` a Python float
    (weakly typed: it takes the array's dtype)."""
    jnp = loaders.jax().numpy
    return centred * (1 / jnp.sqrt(var + epsilon))


def _layernorm(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return params["gamma"] * _normalise(centred, var, config["epsilon"]) + params["beta"]


def _channel_axes(x: Any) -> tuple[int, ...]:
    return tuple(range(x.ndim - 1))


def _batch_statistics(x: Any) -> tuple[Any, Any]:
    """Per-channel mean and biased variance over every axis but the last."""
    axes = _channel_axes(x)
    mean = x.mean(axis=axes)
    centred = x - mean
    return mean, (centred * centred).mean(axis=axes)


def _batchnorm_configure(ref: Any) -> Config:
    config = _options(ref)
    default = {"torch": 0.1, "keras": 0.99}[config["convention"]]  # the docstring's defaults
    momentum = config["momentum"]
    config["momentum"] = default if momentum is None else momentum
    return config


def _batchnorm(config: Config, own: dict[str, Any], x: Any, training: bool) -> Any:
    if training:
        mean, var = _batch_statistics(x)
    else:
        mean, var = own["running_mean"], own["running_var"]
    return own["gamma"] * _normalise(x - mean, var, config["epsilon"]) + own["beta"]


def _batchnorm_update(config: Config, own: dict[str, Any], x: Any) -> dict[str, Any]:
    """The running statistics after a training call on ``x`` (module docstring)."""
    lax = loaders.jax().lax
    mean, var = _batch_statistics(lax.stop_gradient(x))
    rm, rv, k = own["running_mean"], own["running_var"], config["momentum"]
    if config["convention"] == "torch":
        m = x.size // x.shape[-1]
        unbiased = var * (m / (m - 1))
        return {"running_mean": (1 - k) * rm + k * mean, "running_var": (1 - k) * rv + k * unbiased}
    return {"running_mean": rm * k + mean * (1.0 - k), "running_var": rv * k + var * (1.0 - k)}


def _batchnorm_init(config: Config) -> dict[str, Array]:
    channels, dtype = config["input_shape"][-1], config["dtype"]
    return {"running_mean": np.zeros(channels, dtype), "running_var": np.ones(channels, dtype)}


# ---------------------------------------------------------------- dropout, embedding
def _dropout(config: Config, own: dict[str, Any], x: Any, training: bool) -> Any:
    return x * own["mask"] if training else x


class DropoutMasks(HostInput):
    """The reference's masks, in order: one generator per model, from the layer's seed."""

    def __init__(self, config: Config) -> None:
        self.seed = config["seed"]
        self.rng = np.random.default_rng(self.seed)
        self.shape, self.rate, self.dtype = config["input_shape"], config["rate"], config["dtype"]

    def draw(self, batch: int) -> dict[str, Array]:
        return {"mask": dropout_mask(self.rng, (batch, *self.shape), self.rate, self.dtype)}

    def like(self, batch: int) -> dict[str, Array]:
        return {"mask": np.zeros((batch, *self.shape), self.dtype)}


def _embedding(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    return loaders.jax().numpy.take(params["W"], x, axis=0)


# ---------------------------------------------------------------- sequences
def _recurrence(x: Any, cell: Callable[[Any, Any], tuple[Any, Any]], carry: Any) -> Any:
    """``lax.scan`` of ``cell(carry, step input) -> (carry, h_t)`` over the time axis of the
    per-step inputs ``x (N, T, ...)``; every step's ``h_t`` as ``(N, T, H)``."""
    jax = loaders.jax()
    _, hs = jax.lax.scan(cell, carry, jax.numpy.swapaxes(x, 0, 1))
    return jax.numpy.swapaxes(hs, 0, 1)


def _input_bias(b: Any) -> Any:
    """``b``, or ``b[0] + b[1]`` for two biases: both enter every step's sum."""
    return b[0] + b[1] if b.ndim == 2 else b


def _output(config: Config, hs: Any) -> Any:
    return hs if config["return_sequences"] else hs[:, -1]


def _zeros_state(x: Any, units: int) -> Any:
    return loaders.jax().numpy.zeros((x.shape[0], units), x.dtype)


def _simple_rnn(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    jnp = loaders.jax().numpy
    U = params["U"]
    xw = x @ params["W"] + _input_bias(params["b"])

    def cell(h: Any, xw_t: Any) -> tuple[Any, Any]:
        h = jnp.tanh(xw_t + h @ U)
        return h, h

    return _output(config, _recurrence(xw, cell, _zeros_state(x, config["units"])))


def _lstm(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    jax = loaders.jax()
    jnp, sigmoid = jax.numpy, jax.nn.sigmoid
    H, U = config["units"], params["U"]
    xw = x @ params["W"] + _input_bias(params["b"])

    def cell(carry: tuple[Any, Any], xw_t: Any) -> tuple[tuple[Any, Any], Any]:
        h, c = carry
        z = xw_t + h @ U  # blocks i, f, g, o
        i, f = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
        g, o = jnp.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    zeros = _zeros_state(x, H)
    return _output(config, _recurrence(xw, cell, (zeros, zeros)))


def _gru(config: Config, params: dict[str, Any], x: Any, training: bool) -> Any:
    jax = loaders.jax()
    jnp, sigmoid = jax.numpy, jax.nn.sigmoid
    H, U, b = config["units"], params["U"], params["b"]
    after = config["reset_after"]
    a = x @ params["W"] + (b[0] if after else b)  # blocks z, r, h

    def cell(h: Any, a_t: Any) -> tuple[Any, Any]:
        if after:  # the reset gate scales the recurrent product, which has its own bias
            q = h @ U + b[1]
            zr = sigmoid(a_t[:, : 2 * H] + q[:, : 2 * H])
            n = jnp.tanh(a_t[:, 2 * H :] + zr[:, H:] * q[:, 2 * H :])
        else:  # the reset gate scales the state before the matmul
            zr = sigmoid(a_t[:, : 2 * H] + h @ U[:, : 2 * H])
            n = jnp.tanh(a_t[:, 2 * H :] + (zr[:, H:] * h) @ U[:, 2 * H :])
        z = zr[:, :H]
        h = z * h + (1 - z) * n
        return h, h

    return _output(config, _recurrence(a, cell, _zeros_state(x, H)))


def _attention(config: Config, p: dict[str, Any], x: Any, training: bool) -> Any:
    jax = loaders.jax()
    jnp = jax.numpy
    q = jnp.einsum("ntd,dhk->nthk", x, p["Wq"]) + p["bq"]
    k = jnp.einsum("ntd,dhk->nthk", x, p["Wk"]) + p["bk"]
    v = jnp.einsum("ntd,dhk->nthk", x, p["Wv"]) + p["bv"]
    scale = jnp.sqrt(jnp.asarray(config["key_dim"], x.dtype))
    scores = jnp.einsum("nthk,nshk->nhts", q, k) / scale
    if config["causal"]:  # before the softmax: query t sees keys s <= t
        T = x.shape[1]
        visible = np.arange(T)[None, :] <= np.arange(T)[:, None]
        scores = jnp.where(visible, scores, -jnp.inf)
    e = jnp.exp(scores - jax.lax.stop_gradient(scores.max(axis=-1, keepdims=True)))
    A = e / e.sum(axis=-1, keepdims=True)
    o = jnp.einsum("nhts,nshk->nthk", A, v)
    y = jnp.einsum("nthk,hkd->ntd", o, p["Wo"]) + p["bo"]
    return y if config["return_sequences"] else y[:, -1]


LAYERS: dict[str, JaxLayer] = {
    "dense": JaxLayer(_dense, _same, _same),
    "conv1d": JaxLayer(_conv, _same, _same, configure=_conv_configure),
    "conv2d": JaxLayer(_conv, _same, _same, configure=_conv_configure),
    "maxpool2d": JaxLayer(_maxpool, _same, _same, configure=_pool_configure),
    "avgpool2d": JaxLayer(_avgpool, _same, _same, configure=_pool_configure),
    "flatten": JaxLayer(_flatten, _same, _same),
    "batchnorm": JaxLayer(
        _batchnorm,
        _same,
        _same,
        configure=_batchnorm_configure,
        state_init=_batchnorm_init,
        state_update=_batchnorm_update,
    ),
    "layernorm": JaxLayer(_layernorm, _same, _same),
    "dropout": JaxLayer(_dropout, _same, _same, host_input=DropoutMasks),
    "embedding": JaxLayer(_embedding, _same, _same),
    "simple_rnn": JaxLayer(_simple_rnn, _same, _same),
    "lstm": JaxLayer(_lstm, _same, _same),
    "gru": JaxLayer(_gru, _same, _same),
    "attention": JaxLayer(_attention, _same, _same),
}
