"""The code's own shape: no import cycle among diary's modules (function-level imports included)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "diary"


def module_imports():
    """{module: the diary modules it imports anywhere in its source}."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in names.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def cycles(graph):
    """Every group of modules that import each other, directly or round a loop (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_sees_a_lazy_import_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_module_of_diary_imports_itself_round_a_loop():
    graph = module_imports()
    assert "diary.cli_common" in graph["diary.reports.cli"]
    assert cycles(graph) == []


def test_every_clinician_route_of_one_patient_goes_through_the_one_decorator(app):
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/patients/<patient_id>")]
    assert len(routes) >= 20
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "clinic_patient_action"), f"{rule.rule} checks its patient by hand"
        # Every read of patient data is audited; writes audit what they change, if anything.
        if rule.methods & {"GET"}:
            assert view.clinic_patient_action, f"GET {rule.rule} is not audited"
