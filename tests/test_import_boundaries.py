"""What may import what (docs/architecture.md): reference_nn imports no framework and nothing
above it; the registry imports a framework only when it is used."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORK_MODULES = ("torch", "tensorflow", "keras", "jax", "sklearn")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_reference_nn_imports_neither_the_harness_nor_the_experiments_nor_a_framework():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            _imports(path) & {"parity_tests", "experiments", *FRAMEWORK_MODULES}
        )
        for path in (ROOT / "reference_nn").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_harness_imports_nothing_from_the_experiments():
    # parity_tests' own tests may run the experiments; the harness and adapters may not.
    modules = [
        p
        for p in (ROOT / "parity_tests").glob("*.py")
        if not p.name.startswith("test_") and p.name != "conftest.py"
    ]
    offenders = [str(p.relative_to(ROOT)) for p in modules if "experiments" in _imports(p)]
    assert offenders == []


def test_the_import_reader_sees_a_planted_import(tmp_path):
    planted = tmp_path / "bad.py"
    planted.write_text("import numpy\nfrom experiments.cli import main\n")
    assert "experiments" in _imports(planted)


def _modules_loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\nprint(sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])


def test_refnn_housing_with_numpy_alone_imports_no_framework(tmp_path):
    code = (
        "from experiments.cli import main\n"
        f"rc = main(['housing', '--epochs', '1', '--frameworks', 'numpy', '--no-baseline', "
        f"'--out', {str(tmp_path / 'out')!r}])\n"
        "assert rc == 0, rc"
    )
    assert _modules_loaded_after(code) == []
    assert (tmp_path / "out" / "results.json").is_file()


def test_the_registry_and_the_matrix_import_no_framework():
    code = (
        "from parity_tests import cases, registry\n"
        "cs = cases.matrix()\n"
        "assert all(c.frameworks() for c in cs[:20])\n"
        "registry.parse_frameworks('numpy,torch,keras')"
    )
    assert _modules_loaded_after(code) == []


def test_the_probe_sees_a_framework_import():  # negative control for the two tests above
    import pytest

    pytest.importorskip("torch")
    assert "torch" in _modules_loaded_after("import torch")
