"""What may import what (docs/architecture.md): reference_nn imports no framework and nothing
above it; inside parity_tests a folder imports only from the folders below it (harness <
frameworks < cases < tools), a framework's folder from no other framework's, and no module
imports itself back through others; the registry imports a framework only when it is used."""

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
        for p in (ROOT / "parity_tests").rglob("*.py")
        if not p.name.startswith("test_") and p.name != "conftest.py"
    ]
    offenders = [str(p.relative_to(ROOT)) for p in modules if "experiments" in _imports(p)]
    assert offenders == []


PACKAGES = ("reference_nn", "parity_tests", "experiments")  # lowest first
FOLDERS = ("harness", "frameworks", "cases", "tools")  # inside parity_tests, lowest first


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _project_imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules ``path`` (module ``name``) imports, anywhere in it (a lazy import
    inside a function counts: it is an edge all the same)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # "from pkg import sub" is an edge to the submodule; other names are pkg's own
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            found = subs | ({base} if len(subs) < len(node.names) else set())
        else:
            continue
        out |= {m for m in found if m in known}
    return out - {name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {_module_name(p, root): p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    return {name: _project_imports(path, name, set(paths)) for name, path in paths.items()}


def _rank(module: str) -> tuple[int, int]:
    parts = module.split(".")
    folder = FOLDERS.index(parts[1]) if len(parts) > 2 and parts[1] in FOLDERS else -1
    return PACKAGES.index(parts[0]), folder


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for module, imported in sorted(graph.items()):
        for other in sorted(imported):
            if _rank(other) > _rank(module) and _rank(module)[1] != -1:
                out.append(f"{module} imports {other}, a higher folder")
            elif other.split(".")[0] != module.split(".")[0] and _rank(other) > _rank(module):
                out.append(f"{module} imports {other}, a higher package")
            fw_a, fw_b = (
                m.split(".")[2]
                if m.startswith("parity_tests.frameworks.") and m.count(".") >= 3
                else None
                for m in (module, other)
            )
            if fw_a and fw_b and fw_b not in (fw_a, "common"):
                out.append(f"{module} imports {other}, another framework's folder")
    return out


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    path: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_folders_import_only_downwards_and_frameworks_not_each_other():
    assert layering_violations(import_graph()) == []


def test_no_import_cycles():
    assert import_cycles(import_graph()) == []


def test_the_layering_and_cycle_checks_see_planted_imports():  # negative controls
    graph = {
        "parity_tests.harness.registry": {"parity_tests.tools.report"},
        "parity_tests.tools.report": {"parity_tests.harness.registry"},
        "parity_tests.frameworks.torch.adapter": {"parity_tests.frameworks.keras.layers"},
        "parity_tests.frameworks.keras.layers": set(),
        "reference_nn.spec": {"parity_tests.harness.protocol"},
        "parity_tests.harness.protocol": set(),
    }
    assert layering_violations(graph) == [
        "parity_tests.frameworks.torch.adapter imports parity_tests.frameworks.keras.layers, "
        "another framework's folder",
        "parity_tests.harness.registry imports parity_tests.tools.report, a higher folder",
        "reference_nn.spec imports parity_tests.harness.protocol, a higher package",
    ]
    assert import_cycles(graph) == [
        [
            "parity_tests.harness.registry",
            "parity_tests.tools.report",
            "parity_tests.harness.registry",
        ]
    ]


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
        "from parity_tests.cases import matrix\n"
        "from parity_tests.harness import registry\n"
        "cs = matrix.matrix()\n"
        "assert all(c.refusal_by_framework() for c in cs[:20])\n"
        "registry.parse_frameworks('numpy,torch,keras')"
    )
    assert _modules_loaded_after(code) == []


def test_the_probe_sees_a_framework_import():  # negative control for the two tests above
    import pytest

    pytest.importorskip("torch")
    assert "torch" in _modules_loaded_after("import torch")
