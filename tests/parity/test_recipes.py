"""The recipes of docs/architecture.md, carried out by a test: each adds something new touching
only the files its recipe names, and each runs through the matrix.

* a framework: one folder (written here under ``tmp_path``) plus one registry line
  (``registry.register``, what the line in ``registry.FRAMEWORKS`` does); its planted error is
  caught, its declared refusals reach the catalog, and a refusal left out is a gap;
* an activation: the reference's class and registry line, plus one line in each framework's
  activation table (4 files): until the tables have it, each framework is a gap;
* a layer kind: the reference's module and its ``LAYER_KINDS`` line, its variants, one entry
  in a framework's layer table and a declared refusal in the others.
"""

from __future__ import annotations

import textwrap

import pytest

from parity_tests.cases import catalog
from parity_tests.cases.completeness import coverage_gaps, parity_cases
from parity_tests.cases.matrix import matrix_case
from parity_tests.harness import registry
from parity_tests.harness.compare import failures
from parity_tests.harness.parity import compare_case

# A framework that computes with NumPy through the reference's own layers (the simplest
# framework there is), dense networks only, with a planted error it can switch on: every dense
# kernel's gradient scaled by 1 + 1e-6, far below what a plot would show, far above float64's
# tolerance.
DUMMY_ADAPTER = '''
"""A dummy framework: dense networks in NumPy, an error planted on request."""

from reference_nn import LAYER_KINDS

from parity_tests.harness.protocol import Adapter, Model, Resolved


class DummyModel(Model):
    def __init__(self, resolved, params, planted):
        self.network = resolved.spec.build_network()
        self.network.set_parameters(params)
        self.optimizer = resolved.spec.build_optimizer()
        self.planted = planted

    def parameters(self):
        return self.network.get_parameters()

    def set_parameters(self, params):
        self.network.set_parameters(params)

    def _gradients(self, X, y):
        loss, grads = self.network.loss_and_gradients(X, y)
        if self.planted:
            grads = {k: g * (1 + 1e-6) if k.endswith(".W") else g for k, g in grads.items()}
        return loss, grads

    def forward_backward(self, X, y):
        loss, grads = self._gradients(X, y)
        return self.network.last_output.copy(), loss, grads

    def step(self, X, y):
        loss, grads = self._gradients(X, y)
        self.optimizer.step(self.network.parameters, grads)
        return float(loss)


class DummyAdapter(Adapter):
    name = "dummy"
    planted = False
    leave_out = ()  # refusals this dummy forgets to declare

    def versions(self):
        return {"dummy": "0"}

    def tables(self):
        return {"layer kind": ("dense",)}

    def refusals(self):
        return {
            ("layer kind", kind): "layers other than dense (the dummy computes dense only)"
            for kind in LAYER_KINDS
            if kind != "dense" and kind not in self.leave_out
        }

    def build(self, spec, params, **options):
        resolved = Resolved.of(spec)
        self.check_supported(resolved)
        return DummyModel(resolved, params, self.planted)
'''


@pytest.fixture
def dummy_framework(tmp_path, monkeypatch):
    """The recipe: one folder, one registry line."""
    folder = tmp_path / "dummy_framework"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "adapter.py").write_text(textwrap.dedent(DUMMY_ADAPTER))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("dummy", "dummy_framework.adapter:DummyAdapter")
    yield registry.get("dummy")
    registry.unregister("dummy")


CASES = [matrix_case("tanh", "mse", opt, "float64") for opt in ("sgd", "adam_torch")]


def test_a_new_framework_runs_through_the_matrix(dummy_framework):
    for case in CASES:
        # the matrix picks the new framework up from the registry
        assert case.refusal_by_framework()["dummy"] is None
        assert failures(compare_case(case, "dummy")) == []


def test_the_new_frameworks_planted_error_is_caught(dummy_framework, monkeypatch):
    monkeypatch.setattr(type(dummy_framework), "planted", True)
    for case in CASES:
        bad = failures(compare_case(case, "dummy"))
        assert any("grads" in line and "0.W" in line for line in bad), bad


def test_the_new_frameworks_refusals_reach_the_catalog_and_completeness(dummy_framework):
    conv = catalog.entry("layer kind", "conv2d")
    assert conv.refusals(["dummy"]) == {
        "dummy": "layers other than dense (the dummy computes dense only)"
    }
    assert catalog.entry("layer kind", "dense").refusals(["dummy"]) == {}
    assert coverage_gaps(parity_cases(), ["dummy"]) == []


def test_a_refusal_the_new_framework_forgets_is_a_gap(dummy_framework, monkeypatch):
    monkeypatch.setattr(type(dummy_framework), "leave_out", ("lstm",))
    assert catalog.entry("layer kind", "lstm").refusals(["dummy"]) == {
        "dummy": "neither implemented nor refused"
    }
    gaps = coverage_gaps(parity_cases(), ["dummy"])
    assert gaps == [
        "dummy neither implements nor refuses layer kind 'lstm': add it to the tables of "
        "parity_tests/frameworks/dummy/ or declare a refusal with its reason"
    ]


# The activation and layer-kind recipes in a fresh process: the lines each recipe file gains are
# made before anything reads the tables (the matrix derives its hidden activations, and the
# converters their inverse tables, at import), as editing those files would.  A real activation
# the reference lacks (softsign, z / (1 + |z|)) and a dummy layer kind (scale: x * g, g per
# feature) are added.
RECIPES = """
import json

import numpy as np

# reference_nn/activations.py: the class and its registry line
from reference_nn import LayerSpec, activations


class Softsign(activations.Activation):
    name = "softsign"

    def forward(self, z):
        return z / (1 + np.abs(z))

    def derivative(self, z, a):
        return (1 - np.abs(a)) ** 2  # 1 / (1 + |z|)^2


activations.ACTIVATIONS["softsign"] = Softsign

# reference_nn/layers/scale.py and its LAYER_KINDS line: y = x * g, g per feature
from reference_nn.layers import LAYER_KINDS, base


class Scale(base.Layer):
    kind = "scale"
    weight_names = ("g",)

    def build(self):
        self.params = {"g": np.zeros(self.input_shape[-1], self.dtype)}
        return self.input_shape

    def fans(self, name):
        return self.input_shape[-1], self.input_shape[-1]

    def forward(self, x, training=True):
        self.x = x
        return x * self.params["g"]

    def backward(self, grad_out):
        # dL/dg = sum over the samples of dL/dy * x; dL/dx = dL/dy * g
        self.grads = {"g": (grad_out * self.x).reshape(-1, len(self.params["g"])).sum(axis=0)}
        return grad_out * self.params["g"]


LAYER_KINDS["scale"] = Scale

# parity_tests/cases/layer_variants.py: the kind's variants
from parity_tests.cases import layer_variants

layer_variants.LAYER_VARIANTS["scale-dense"] = (
    (4,), (LayerSpec("scale", {}), layer_variants.HEAD), "sgd"
)

from parity_tests.cases.completeness import coverage_gaps, parity_cases
from parity_tests.cases.matrix import layer_case, matrix_case
from parity_tests.harness.compare import failures
from parity_tests.harness.parity import compare_case
from parity_tests.harness import registry

FRAMEWORKS = ["torch", "keras", "jax"]
out = {"gaps_before": coverage_gaps(parity_cases(), FRAMEWORKS)}

# one line in each framework's activation table
from parity_tests.frameworks.jax import layers as jax_layers
from parity_tests.frameworks.keras import layers as keras_layers
from parity_tests.frameworks.torch import layers as torch_layers
from parity_tests.harness import loaders

torch_layers.ACTIVATIONS["softsign"] = torch_layers.TorchActivation("Softsign")
keras_layers.ACTIVATIONS["softsign"] = keras_layers.KerasActivation("softsign")
jax_layers.ACTIVATIONS["softsign"] = lambda options: loaders.jax().nn.soft_sign

# the layer kind: an entry in torch's layer table, a declared refusal in Keras' and JAX's
torch = loaders.torch()


class ScaleModule(torch.nn.Module):
    def __init__(self, n, dtype, error=1.0):
        super().__init__()
        self.g = torch.nn.Parameter(torch.zeros(n, dtype=dtype))
        self.error = error

    def forward(self, x):
        return x * self.g * self.error


def build(torch_, layer, dtype):
    return [ScaleModule(layer.input_shape[-1], dtype)]


same = lambda name, value: value
torch_layers.LAYERS["scale"] = torch_layers.TorchLayer(build, same, same, {"g": "g"})
for name in ("keras", "jax"):
    reason = f"scale ({name} has no layer for it yet)"
    type(registry.get(name)).REFUSALS = {("layer kind", "scale"): reason}

out["gaps_after"] = coverage_gaps(parity_cases(), FRAMEWORKS)
runs = {}
for dtype in ("float64", "float32"):
    for fw in FRAMEWORKS:
        case = matrix_case("softsign", "mse", "sgd", dtype)
        runs[f"softsign-{fw}-{dtype}"] = failures(compare_case(case, fw))
    scale = layer_case("scale-dense", dtype)
    runs[f"scale-torch-{dtype}"] = failures(compare_case(scale, "torch"))
    refusals = scale.refusal_by_framework()
    out["scale-refusals"] = {k: v for k, v in refusals.items() if k in FRAMEWORKS}
out["runs"] = runs

# negative controls: the wrong torch activation in the table, a planted error in the kind's entry
torch_layers.ACTIVATIONS["softsign"] = torch_layers.TorchActivation("Tanh")
planted = matrix_case("softsign", "mse", "sgd", "float64")
out["planted_activation"] = failures(compare_case(planted, "torch"))
torch_layers.LAYERS["scale"] = torch_layers.TorchLayer(
    lambda t, layer, dtype: [ScaleModule(layer.input_shape[-1], dtype, 1 + 1e-6)],
    same,
    same,
    {"g": "g"},
)
out["planted_layer"] = failures(compare_case(layer_case("scale-dense", "float64"), "torch"))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def recipes() -> dict:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run(
        [sys.executable, "-c", RECIPES],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.frameworks
def test_a_new_activation_and_layer_kind_are_gaps_until_each_framework_has_them(recipes):
    assert recipes["gaps_before"] == [
        f"{fw} neither implements nor refuses {category} {name!r}: add it to the tables of "
        f"parity_tests/frameworks/{fw}/ or declare a refusal with its reason"
        for category, name in (("layer kind", "scale"), ("activation", "softsign"))
        for fw in ("torch", "keras", "jax")
    ]
    assert recipes["gaps_after"] == []


@pytest.mark.frameworks
def test_the_new_activation_and_layer_kind_run_through_the_matrix(recipes):
    assert recipes["runs"] == {name: [] for name in recipes["runs"]}
    assert len(recipes["runs"]) == 8  # softsign in 3 frameworks and scale in torch, 2 dtypes
    assert recipes["scale-refusals"] == {
        "torch": None,
        "keras": "scale (keras has no layer for it yet)",
        "jax": "scale (jax has no layer for it yet)",
    }


@pytest.mark.frameworks
def test_the_recipes_negative_controls_are_caught(recipes):
    assert any("forward" in line for line in recipes["planted_activation"])
    assert any("grads" in line and "0.g" in line for line in recipes["planted_layer"])
