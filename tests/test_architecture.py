"""The shape of the tree: dependencies point one way, no import cycles, small modules and functions.

Layers, lowest first (a package may import its own layer's modules and any lower layer):

    core          nothing of the project
    models        the machine-learning model
    triage        pure rules: routing, urgency policy, SLA maths, incident clustering
    store         schema, sessions, SQL, reports
    tickets       the domain: what happens to tickets; it records work (rows, outbox, effects)
    integrations  Slack and the platforms
    ingest        the mention intake
    standins, service, workers   entry points and local stand-ins (service may enqueue workers' jobs)

A package's `__main__` (`python -m models …`) is an entry point too: it may import any layer, and
nothing imports it.

Imports inside functions count: a lazy import is still a dependency.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANK = {"core": 0, "models": 1, "triage": 2, "store": 3, "tickets": 4, "integrations": 5, "ingest": 6,
        "standins": 7, "service": 7, "workers": 7}  # fmt: skip
ALLOWED_SIDEWAYS = {("service", "workers")}  # the web process enqueues jobs; workers never import service
FREE = ("tools", "bench", "tests")  # may import anything; nothing imports them but themselves
TOP_LEVEL = ("launcher", "wsgi", "gunicorn.conf")
MODULE_LINES = 300
FUNCTION_LINES = 60
LONG_MODULE_REASON = re.compile(r"longer than 300 lines", re.IGNORECASE)


def _sources(packages=None):
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or "migrations" in relative.parts:
            continue
        if packages is not None and relative.parts[0] not in packages:
            continue
        if len(relative.parts) == 1 and relative.stem not in TOP_LEVEL:
            continue
        yield relative


def _module(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(relative: Path, root: Path = ROOT) -> set[str]:
    """Every project module `relative` imports, at any depth of the file."""
    tree = ast.parse((root / relative).read_text(), filename=str(relative))
    package = _module(relative).split(".")
    if relative.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import name`: name is a submodule or an attribute of pkg; _resolve tells which
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in RANK or name.split(".")[0] in FREE}


def _resolve(imported: str, modules) -> str:
    """The module an imported dotted name lives in: itself, or the nearest package or module above it."""
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported


def _graph() -> dict[str, set[str]]:
    modules = {_module(relative): relative for relative in _sources()}
    graph = {}
    for name, relative in modules.items():
        targets = {_resolve(imported, modules) for imported in _imports(relative)}
        graph[name] = targets - {"", name}
    return graph


def _layer_violations(graph) -> list[str]:
    bad = []
    for source, targets in graph.items():
        top = source.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if target.endswith(".__main__") and top not in FREE:
                bad.append(f"{source} imports {target} (a command's entry point)")
                continue
            if top == other or top in FREE or top not in RANK or source.endswith(".__main__"):
                continue  # `python -m <package>` is an entry point like launcher.py
            if other in FREE:
                bad.append(f"{source} imports {target} ({other}/ is for tools and tests)")
            elif (top, other) not in ALLOWED_SIDEWAYS and RANK[other] >= RANK[top]:
                bad.append(f"{source} imports {target}: {top}/ may not depend on {other}/")
    return sorted(bad)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_dependencies_point_one_way():
    assert _layer_violations(_graph()) == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_checks_see_a_violation_and_a_cycle():
    graph = {"core.a": {"workers.b"}, "workers.b": {"core.a"}, "tickets.c": {"service.d"}, "service.d": set(),
             "service.e": {"workers.b"}, "workers.f": {"service.e"}, "models.__main__": {"triage.g"},
             "triage.g": {"models.__main__"}}  # fmt: skip
    assert _layer_violations(graph) == [
        "core.a imports workers.b: core/ may not depend on workers/",
        "tickets.c imports service.d: tickets/ may not depend on service/",
        "triage.g imports models.__main__ (a command's entry point)",
        "workers.f imports service.e: workers/ may not depend on service/",
    ]
    assert _cycles(graph) == [["core.a", "workers.b"], ["models.__main__", "triage.g"]]


def test_lazy_and_relative_imports_are_seen(tmp_path):
    (tmp_path / "tickets").mkdir()
    (tmp_path / "tickets" / "thing.py").write_text(
        "from . import lifecycle\nfrom .outbox import queue\n\n\ndef later():\n    import workers.sla\n"
        "    from service import api\n    return workers.sla, api\n"
    )
    assert _imports(Path("tickets/thing.py"), tmp_path) >= {
        "tickets.lifecycle", "tickets.outbox.queue", "workers.sla", "service.api"}  # fmt: skip
    modules = {"tickets", "tickets.outbox", "workers", "workers.sla"}
    assert _resolve("tickets.outbox.queue", modules) == "tickets.outbox"
    assert _resolve("workers.sla", modules) == "workers.sla"
    assert _resolve("tickets.lifecycle", modules) == "tickets"  # an attribute of the package
    assert set(RANK) <= {name.split(".")[0] for name in _graph()}


def test_modules_stay_small_unless_they_say_why():
    too_long = []
    for relative in _sources(packages=set(RANK)):
        text = (ROOT / relative).read_text()
        lines = len(text.splitlines())
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > MODULE_LINES and not LONG_MODULE_REASON.search(docstring):
            too_long.append(f"{relative}: {lines} lines")
    assert too_long == []


def test_functions_stay_short():
    too_long = []
    for relative in _sources(packages=set(RANK) | set(FREE)):
        for node in ast.walk(ast.parse((ROOT / relative).read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_LINES:
                    too_long.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_readme_layout_table_matches_the_tree():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_]+)/` \|", readme, flags=re.MULTILINE))
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert listed == packages
