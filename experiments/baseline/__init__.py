"""Numerics baselines: every compared tensor, per framework, recorded once and checked later.

* :mod:`.items`: what is recorded (parity cases, worked examples, the housing run) and how
  each item is rebuilt and run;
* :mod:`.store`: the folder on disk (recording it locked and whole, reading it safely);
* :mod:`.check`: the check, gated on each framework's error against the reference;
* :mod:`.kernel_paths`: other CPUs emulated through the libraries' kernel switches, and the
  measurement of the check's envelope over them;
* :mod:`.cli`: ``refnn baseline record|check``.
"""

from .check import Change, CheckResult, check, explain
from .cli import register
from .items import HOUSING_EPOCHS, SEP, BaselineError, Item, all_items, installed, select
from .store import INDEX, PLATFORMS, load_index, platform_info, record

__all__ = [
    "HOUSING_EPOCHS", "INDEX", "PLATFORMS", "SEP", "BaselineError", "Change", "CheckResult",
    "Item", "all_items", "check", "explain", "installed", "load_index", "platform_info",
    "record", "register", "select",
]  # fmt: skip
