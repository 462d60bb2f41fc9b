"""The float64 referee: float32 runs are measured against the float64 reference run; a planted
float32 error makes that framework the farthest, and the report gets its section."""

import json

import pytest

from parity_tests.cases.matrix import matrix_case
from parity_tests.frameworks.torch import adapter as torch_mirror
from parity_tests.harness import registry
from parity_tests.tools import report
from parity_tests.tools.referee import closest, referee_errors, referee_markdown

pytestmark = pytest.mark.frameworks

CASE = matrix_case("tanh", "mse", "sgd", "float32")

# Above any float32 run's error against the exact answer (worst measured over the default
# selection: 1.0e-3), below an error that says the runs measure different things (~1).
REFEREE_BOUND = 1e-2


def test_float32_runs_are_close_to_the_float64_referee_but_not_equal(torch, keras):
    errors = referee_errors(CASE)
    assert set(errors) >= {"numpy", "torch", "keras"}
    assert all(1e-9 < e < 1e-4 for e in errors.values()), errors
    assert referee_errors(matrix_case("tanh", "mse", "sgd", "float64")) is None


def test_a_planted_float32_error_is_the_farthest_from_the_referee(torch, keras, monkeypatch):
    original = torch_mirror.TorchModel.forward_backward

    def off(self, X, y):
        out, loss, grads = original(self, X, y)
        return out * (1 + 1e-4), loss, grads

    monkeypatch.setattr(torch_mirror.TorchModel, "forward_backward", off)
    errors = referee_errors(CASE)
    assert errors["torch"] > 5e-5 and max(errors, key=errors.get) == "torch"
    assert "torch" not in closest(errors)


def test_the_report_has_the_referee_section(tmp_path, torch, keras, monkeypatch):
    # the frameworks of this process only (a Keras backend may need a process of its own)
    three = {k: v for k, v in registry.FRAMEWORKS.items() if k in ("numpy", "torch", "keras")}
    monkeypatch.setattr(registry, "FRAMEWORKS", three)
    report.write_report(tmp_path, [CASE])
    md = (tmp_path / "parity.md").read_text()
    assert "## float32 against the float64 referee" in md
    assert "| tanh-mse-sgd-float32 |" in md.split("float64 referee")[1]
    data = json.loads((tmp_path / "parity.json").read_text())
    assert set(data["float32_vs_float64_referee"]["tanh-mse-sgd-float32"]) >= {"numpy", "torch"}


def test_the_section_counts_who_is_closest():
    md = referee_markdown(
        {"a": {"numpy": 1e-7, "torch": 2e-7}, "b": {"numpy": 3e-7, "torch": 1e-7}}
    )
    assert "numpy 1/2, torch 1/2" in md and "| a | 1.00e-07 | 2.00e-07 | numpy |" in md
    assert referee_markdown({}) == ""


def one_case_per_layer_kind(framework: str) -> list:
    """Float32 cases that ``framework`` runs, together holding every layer kind it runs
    (greedy: the case with the most kinds not yet held, first by name on a tie)."""
    from parity_tests.cases.matrix import layer_cases

    runs = [
        c
        for c in layer_cases()
        if c.spec.dtype == "float32" and not c.refusal_by_framework()[framework]
    ]
    runs.append(matrix_case("tanh", "mse", "sgd", "float32"))  # dense, which every one runs
    kinds = {c.name: {layer.kind for layer in c.spec.layers} for c in runs}
    left, chosen = set().union(*kinds.values()), []
    while left:
        best = max(runs, key=lambda c: (len(kinds[c.name] & left), c.name))
        chosen.append(best)
        left -= kinds[best.name]
    return chosen


LAYER_KINDS = [
    (fw, case.name)
    for fw in registry.names(include_reference=False)
    for case in one_case_per_layer_kind(fw)
]


@pytest.mark.parametrize(("framework", "name"), LAYER_KINDS, indirect=["framework"])
def test_one_case_per_layer_kind_against_the_referee(framework, name, monkeypatch):
    """The referee's float64 run of every layer kind, embedding's integer indices included
    (they were cast to float64 and the report crashed), and each framework's float32 run of
    it: close to the referee, not equal to it.  Attention's key bias, whose gradient is zero
    by the mathematics, is measured against its whole gradient (alone, ~1 for everyone)."""
    only = {k: v for k, v in registry.FRAMEWORKS.items() if k in ("numpy", framework)}
    monkeypatch.setattr(registry, "FRAMEWORKS", only)
    (case,) = [c for c in one_case_per_layer_kind(framework) if c.name == name]
    errors = referee_errors(case)
    assert set(errors) == {"numpy", framework}
    assert all(0 < e < REFEREE_BOUND for e in errors.values()), errors


def test_the_cases_hold_every_layer_kind_each_framework_runs():
    from parity_tests.cases.matrix import layer_cases

    for fw in registry.names(include_reference=False):
        runs = [c for c in layer_cases() if not c.refusal_by_framework()[fw]]
        chosen = [c for f, name in LAYER_KINDS if f == fw for c in layer_cases() if c.name == name]
        kinds = {layer.kind for c in runs for layer in c.spec.layers} | {"dense"}
        assert {layer.kind for c in chosen for layer in c.spec.layers} | {"dense"} == kinds
    assert len({name for fw, name in LAYER_KINDS if fw == "torch"}) >= 9


def test_a_zero_gradient_measured_alone_is_an_error_of_one(monkeypatch):
    """The control for the bound above: attention's key-bias gradient measured against its
    own norm (the referee without its floor) makes the reference's own float32 run ~1 off."""
    from parity_tests.cases.matrix import layer_case
    from parity_tests.tools import referee

    only = {k: v for k, v in registry.FRAMEWORKS.items() if k == "numpy"}
    monkeypatch.setattr(registry, "FRAMEWORKS", only)
    case = layer_case("attention-last", "float32")
    assert referee_errors(case)["numpy"] < 1e-5
    monkeypatch.setattr(referee, "zero_gradient_parameters", lambda spec: frozenset())
    assert referee_errors(case)["numpy"] > REFEREE_BOUND
