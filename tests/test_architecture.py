"""The tree tells the architecture: imports flow one way and nothing imports in a circle.

Every ``import`` in the package counts, also those inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency. ARCHITECTURE.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).parent.parent / "confidante"

# What each part may import besides itself. Parts not named here are the foundation
# (errors, config, records, database, encryption), which imports only the foundation.
FOUNDATION = {"errors", "config", "records", "database", "encryption"}
MAY_IMPORT: dict[str, set[str]] = {
    "llm": set(),
    "memory": set(),
    "graph": {"memory"},
    "extraction": {"graph", "llm"},
    "training": {"memory", "llm"},
    "blocking": set(),
    "agent": {"llm", "extraction", "memory", "graph", "training", "blocking"},
    "serving": {"agent", "llm", "training", "memory"},
    "client": {"blocking", "serving"},
    "retriever": set(),
    "testing": {"llm"},
    "cli": {"agent", "llm", "memory", "training", "serving", "blocking"},
    "__main__": {"cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every confidante module ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from confidante.serving import protocol": the submodule is the dependency.
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "confidante"}


def module_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        graph.add_node(name)
        for imported in imports_of(path):
            if imported in modules and imported != name:
                graph.add_edge(name, imported)
    return graph


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "confidante"


def test_no_module_imports_in_a_circle():
    graph = module_graph()
    # The package's own __init__ re-exports lazily and imports errors only; it is no part.
    graph.remove_node("confidante")
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], cycles


def test_imports_flow_one_way():
    upward = []
    for module, imported in module_graph().edges:
        source, target = part(module), part(imported)
        if source == "confidante" or source == target or target in FOUNDATION:
            continue
        allowed = set() if source in FOUNDATION else MAY_IMPORT[source]
        if target not in allowed:
            upward.append(f"{module} -> {imported}")
    assert upward == [], upward


def test_every_part_is_placed():
    parts = {part(m) for m in module_graph().nodes} - {"confidante"}
    assert parts <= FOUNDATION | set(MAY_IMPORT), parts - FOUNDATION - set(MAY_IMPORT)
