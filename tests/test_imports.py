"""The package's import structure, read off its source with ast: no cycles; the simulation stands alone; only the
generations registry names a generation."""

from __future__ import annotations

import ast
from pathlib import Path

import mockserver

PACKAGE_DIR = Path(mockserver.__file__).parent
GENERATION_NAMES = {"beta", "v0.1", "v1"}


def module_name(path: Path) -> str:
    parts = ("mockserver", *path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement except those under `if TYPE_CHECKING:` (their else branch does run)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def imported_modules(module: str) -> set[str]:
    """The absolute names a module imports at run time (`from x import y` counts x.y when y is a module)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    names: set[str] = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = _package_of(module)
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        names.add(target)
        names.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES)
    return names


def internal_graph() -> dict[str, set[str]]:
    return {module: {name for name in imported_modules(module) if name in MODULES and name != module}
            for module in MODULES}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_the_graph_is_read_correctly():
    graph = internal_graph()
    assert "mockserver.simulation.clock" in graph["mockserver.simulation.engine"]  # from .clock import ...
    assert "mockserver.ids" in graph["mockserver.simulation.engine"]  # from ..ids import ...
    assert "mockserver.backend" in graph["mockserver.accounts"]
    # store.py imports deliveries only for type checking: not a run-time edge
    assert "mockserver.deliveries" not in graph["mockserver.simulation.store"]


def test_find_cycles_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    assert find_cycles(internal_graph()) == []


def test_the_simulation_imports_no_http_and_no_outer_module():
    simulation = [name for name in MODULES if name.startswith("mockserver.simulation")]
    assert "mockserver.simulation.engine" in simulation
    offending = {}
    for module in simulation:
        bad = sorted(name for name in imported_modules(module)
                     if name.split(".")[0] == "aiohttp"
                     or (name.startswith("mockserver") and not name.startswith("mockserver.simulation")
                         and name != "mockserver.ids"))
        if bad:
            offending[module] = bad
    assert offending == {}


def generation_comparisons(path: Path, root: Path = PACKAGE_DIR) -> list[str]:
    """Comparisons (==, !=, in, not in) with a generation's name as a string constant, alone or in a tuple/list/set."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        constants = [item for operand in (node.left, *node.comparators)
                     for item in (operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand])]
        if any(isinstance(item, ast.Constant) and item.value in GENERATION_NAMES for item in constants):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_generation_comparison_is_detected(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("if api == 'v1' or x in ('beta', 'other'):\n    pass\nif y == 'v2' or z != 'v0.1':\n    pass\n"
                     "label = 'v1'\n")
    assert generation_comparisons(probe, tmp_path) == [
        "probe.py:1: api == 'v1'", "probe.py:1: x in ('beta', 'other')", "probe.py:3: z != 'v0.1'"]


def test_no_generation_name_compared_outside_the_generations_registry():
    found = []
    for path in MODULES.values():
        if path == PACKAGE_DIR / "api" / "generations.py":
            continue
        found.extend(generation_comparisons(path))
    assert found == []
