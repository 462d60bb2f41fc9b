"""Runnable studies built on reference_nn and the parity harness: the housing experiment and
the worked examples.  Their commands are registered on ``refnn`` by ``experiments.commands``."""
