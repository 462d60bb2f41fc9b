"""The cross-validation harness: build a reference_nn spec in each framework from the same
weights, run the same steps, compare every tensor against one written tolerance policy.

Folders, lowest first (a folder imports only from those before it; tests/test_import_boundaries.py
reads every import):

* ``harness/``: the adapter protocol (``protocol``), the framework registry, the lazy framework
  imports (``loaders``), the comparison and the tolerance policy, the parity run (``parity``),
  the first divergence, what a converted model is (``conversion``), the output writer and the
  worker processes;
* ``frameworks/<name>/``: one folder per framework, the same modules in each (``adapter``,
  ``layers``, ``losses``, ``optimizers``, ``trace``, ``converters``), shared code in
  ``frameworks/common/``;
* ``cases/``: the catalog (one entry per layer kind, activation, loss and optimizer), the
  variants tables, the matrix, the optimizer options, the completeness check;
* ``tools/``: ``refnn parity-report``, ``refnn check-model``, the converters' public face
  (``from_torch`` / ``from_keras``), the float32 referee, the pytest plugin.
"""


def __getattr__(name: str) -> object:
    """``parity_tests.from_torch`` / ``from_keras`` (:mod:`.convert`), loaded on first use so
    that importing the package imports no framework."""
    if name in ("from_torch", "from_keras"):
        from parity_tests.tools import convert

        return getattr(convert, name)
    raise AttributeError(f"module 'parity_tests' has no attribute {name!r}")
