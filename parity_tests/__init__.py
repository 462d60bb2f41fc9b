"""The cross-validation harness: mirror a reference_nn spec in PyTorch and Keras, run the same
steps in all three, compare every tensor against a written tolerance policy.

Modules: ``frameworks`` (lazy imports, thread settings), ``runs`` (the common result type and
the NumPy run), ``torch_mirror``, ``keras_mirror``, ``compare`` (error metrics, mismatch
reports), ``tolerances`` (the policy, in one place), ``cases`` (the parity matrix),
``report`` (the ``refnn parity-report`` command).
"""


def __getattr__(name: str) -> object:
    """``parity_tests.from_torch`` / ``from_keras`` (:mod:`.convert`), loaded on first use so
    that importing the package imports no framework."""
    if name in ("from_torch", "from_keras"):
        from parity_tests.tools import convert

        return getattr(convert, name)
    raise AttributeError(f"module 'parity_tests' has no attribute {name!r}")
