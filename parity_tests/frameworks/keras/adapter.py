"""The Keras 3 adapter, one for every backend, registered three times: ``keras`` (TensorFlow),
``keras-jax`` and ``keras-torch``.  Keras reads ``KERAS_BACKEND`` once, at import, so each runs
only in a process with that backend (``tox -e full`` / ``keras-jax`` / ``keras-torch``);
elsewhere ``load`` raises ``loaders.OtherBackendProcess`` and the parity tests skip it.

What it implements is its tables (:mod:`.layers`, :mod:`.losses`, :mod:`.optimizers`); what
it declines on purpose, per backend, is :mod:`.backends`' data; the options it cannot compute
are :meth:`KerasAdapter.option_refusal`.  The model is :mod:`.model`; a user's Keras model
converts through :mod:`.converters`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from parity_tests.frameworks.keras import backends, losses, optimizers
from parity_tests.frameworks.keras.layers import ACTIVATIONS, LAYERS
from parity_tests.frameworks.keras.model import KerasModel
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Adapter, Params, Resolved
from reference_nn import NetworkSpec


class KerasAdapter(Adapter):
    """Keras on ``backend``; registered once per backend (``keras``, ``keras-jax``,
    ``keras-torch``).  Available only in a process whose Keras backend is ``backend``."""

    model_noun = "a Keras model"

    name = "keras"
    backend = "tensorflow"

    def load(self) -> None:
        loaders.keras(self.backend)

    def versions(self) -> dict[str, str]:
        keras = loaders.keras(self.backend)
        out = {"keras": keras.__version__}
        if self.backend == "tensorflow":
            out["tensorflow"] = loaders.tensorflow().__version__
        elif self.backend == "jax":
            out["jax"] = loaders.jax().__version__
        else:
            out["torch"] = loaders.torch().__version__
        return out

    def tables(self) -> Mapping[str, Collection[str]]:
        return {
            "layer kind": LAYERS,
            "activation": ACTIVATIONS,
            "loss": losses.LOSSES,
            "optimizer": optimizers.OPTIMIZERS,
        }

    def refusals(self) -> Mapping[tuple[str, str], str]:
        return {**self.REFUSALS, **backends.refusals(self.backend)}

    def option_refusal(self, resolved: Resolved) -> str | None:
        """A layer option Keras' layer refuses, a loss convention this backend does not
        compute, an optimizer formulation or option Keras has no form of, a loss option."""
        for lay in resolved.layers:
            reason = LAYERS[lay.kind].refusal(lay.options)
            if reason:
                return reason
        spec = resolved.spec
        return (
            losses.convention_refusal(spec, self.backend)
            or optimizers.option_refusal(spec.optimizer, resolved.optimizer_options)
            or losses.option_refusal(spec)
        )

    def build(self, spec: NetworkSpec | Resolved, params: Params, **options: Any) -> KerasModel:
        resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        self.check_supported(resolved)
        self.load()
        return KerasModel(resolved, params, **options)

    # ------------------------------------------------------------------ a user's model
    def owns(self, obj: Any) -> bool:
        """A Keras model, when this process's Keras backend is this adapter's."""
        modules = [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]
        return (
            any(m.startswith(("keras", "tf_keras")) for m in modules)
            and loaders.keras_backend() == self.backend
        )

    def convert(self, obj: Any, **spec_options: Any) -> Any:
        from parity_tests.frameworks.keras.converters import from_keras
        from parity_tests.harness.conversion import ConversionError

        shape = spec_options.pop("input_shape", None)
        converted = from_keras(obj, **spec_options)
        if shape is not None and tuple(shape) != converted.spec.input_shape:
            raise ConversionError(
                f"the Keras model takes inputs of shape {converted.spec.input_shape}, not the "
                f"input shape given, {tuple(shape)}"
            )
        return converted

    def wrap(self, obj: Any, converted: Any) -> KerasModel:
        km = KerasModel(converted.spec, converted.params, loop="eager")
        km.model = obj
        km.slots = [(name, holder, attr) for name, (_, holder, attr) in converted.slots.items()]
        km.layers = [group[0] for group in converted.groups]  # one per reference layer
        km.groups = converted.groups
        km.variables = [v for _, v in km.named_variables()]
        return km

    def loss_options(self, spec: NetworkSpec) -> dict[str, str]:
        """Keras on TensorFlow reads the logits behind a sigmoid or softmax output
        (``logits``); Keras on the other backends clips the probabilities (``keras``)."""
        return losses.conventions(spec, self.backend)


class KerasJaxAdapter(KerasAdapter):
    name = "keras-jax"
    backend = "jax"


class KerasTorchAdapter(KerasAdapter):
    name = "keras-torch"
    backend = "torch"
