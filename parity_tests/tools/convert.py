"""Your own model as a reference spec: ``from_torch(module)``, ``from_keras(model)``, or
``convert(model)`` for either.

Each returns a :class:`~parity_tests.harness.conversion.Converted`: the ``NetworkSpec`` (loss
and optimizer given by the caller: a model object does not carry them), the parameters in the
reference's names and layout (``"0.W"`` is ``(n_in, n_out)``), and ``slots``: which object of
*your* model holds each parameter, so that :mod:`.check_model` can run your model itself, not
a copy.  Conversion goes through the registry: the adapter that owns the model
(:meth:`Adapter.owns`) converts it with its own tables (``frameworks/<name>/converters.py``).
Anything not in a table is refused with one line naming the position and the class.
"""

from __future__ import annotations

from typing import Any

from parity_tests.harness import registry
from parity_tests.harness.conversion import ConversionError, Converted
from parity_tests.harness.protocol import Adapter

__all__ = ["ConversionError", "Converted", "convert", "from_keras", "from_torch", "owner"]


def owner(obj: Any) -> Adapter:
    """The adapter of the framework ``obj`` is a model of (in this process), or
    ConversionError naming what ``obj`` is."""
    for name in registry.names(include_reference=False):
        adapter = registry.get(name)
        if adapter.owns(obj):
            return adapter
    nouns = list(dict.fromkeys(registry.get(n).model_noun for n in registry.names()))
    raise ConversionError(
        f"{type(obj).__module__}.{type(obj).__name__} is neither "
        + " nor ".join(noun for noun in nouns if noun)
    )


def convert(obj: Any, **spec_options: Any) -> Converted:
    """``obj`` as a reference spec and parameters.  Without ``loss_options``, a cross-entropy
    takes the convention ``obj``'s framework computes (:meth:`Adapter.loss_options`)."""
    adapter = owner(obj)
    converted = adapter.convert(obj, **spec_options)
    if spec_options.get("loss_options") is None:
        options = adapter.loss_options(converted.spec)
        if options:
            converted.spec = converted.spec.with_changes(loss_options=options)
    return converted


def from_torch(module: Any, **spec_options: Any) -> Converted:
    """A ``torch.nn.Sequential`` of supported modules -> spec, parameters and slots."""
    return registry.get("torch").convert(module, **spec_options)


def from_keras(model: Any, **spec_options: Any) -> Converted:
    """A Keras ``Sequential`` (built: it knows its input shape) -> spec, parameters, slots;
    converted by the Keras adapter of this process's backend."""
    from parity_tests.harness import loaders

    return registry.get(registry.keras_of_backend(loaders.keras_backend())).convert(
        model, **spec_options
    )
