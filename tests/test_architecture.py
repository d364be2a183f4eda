"""The shape of the code, checked: no import cycle between packages, small modules, simple functions.

The import graph is built from the source with `ast`: every `import app.x…` / `from app.x… import`
in a module of app/, at the top of the module AND inside functions (an import moved into a
function to dodge a cycle is still a dependency), counted between packages (app/<package>/…;
a top-level module such as app/extensions.py is its own node). A function-level import of another
package must say why it is deferred with a comment `# deferred: <why>` (on its line or the line
above) and still counts.

Every allow-list below is explicit and commented; it names what other engineers are fixing in
their own areas. The lead shrinks the lists as their work is merged. Run this file as a script
(`python -m tests.test_architecture`) to print the package import graph.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
MAX_LINES = 400

# Edges that close a package cycle and are left for now (source package → target package).
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}

# Function-level imports of another package without a `# deferred:` comment, by file.
ALLOWED_UNMARKED_DEFERRED = {
    # The factory: its named register_* steps import each feature when the app is built, so
    # that create_app stays the one wiring place and importing `app` loads nothing else.
    "app/__init__.py": "the application factory's steps",
}

# Modules over MAX_LINES lines: none at present.
ALLOWED_LONG_MODULES: dict[str, str] = {}

# Features use each other's public services, never their views (the factory, app/__init__.py,
# mounts every blueprint and is exempt): none at present.
ALLOWED_VIEW_IMPORTS: dict[tuple[str, str], str] = {}

# Functions over ruff's C901 limit (pyproject: max-complexity = 15): none at present. A file
# listed here must also be in pyproject's per-file-ignores for C901, and only then.
ALLOWED_COMPLEX_FILES: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    """One import of an app package found in a module."""

    source: str  # the importing package
    target: str  # the imported package
    module: str  # the imported module
    path: str  # file, relative to the repository
    line: int
    in_function: bool
    marked: bool  # has a `# deferred:` comment


def package_of(module: str) -> str | None:
    """The graph node of a dotted module name under app ("app.events.models" → "events")."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    if len(parts) == 1:
        return "app"
    return parts[1]


def is_views_module(module: str) -> bool:
    """A feature's pages: app.<feature>.views, .manage_views, or anything in a views package."""
    return any(part.endswith("views") for part in module.split(".")[2:])


def _node_of_file(path: Path) -> str:
    relative = path.relative_to(APP).parts
    if len(relative) == 1:
        return "app" if relative[0] == "__init__.py" else relative[0].removesuffix(".py")
    return relative[0]


def _imported_modules(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative import: resolve against the file's package
        package = list(path.relative_to(ROOT).with_suffix("").parts)[: -node.level]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base == "app":  # `from app import models`: each name is a module of its own
        return [f"app.{alias.name}" for alias in node.names]
    return [base]


def _function_imports(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            ids |= {id(n) for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom)}
    return ids


def _type_checking_imports(tree: ast.AST) -> set[int]:
    """Imports under `if TYPE_CHECKING:` are for annotations only: no run-time dependency."""
    ids: set[int] = set()
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            ids |= {id(n) for n in ast.walk(block) if isinstance(n, ast.Import | ast.ImportFrom)}
    return ids


def app_imports() -> list[Import]:
    """Every import between two different packages of app/, top-level and function-level."""
    found: list[Import] = []
    for path in sorted(APP.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        in_function = _function_imports(tree)
        annotations_only = _type_checking_imports(tree)
        source = _node_of_file(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in annotations_only:
                continue
            nearby = " ".join(lines[max(node.lineno - 2, 0): node.end_lineno or node.lineno])
            for module in _imported_modules(node, path):
                target = package_of(module)
                if target is None or target == source:
                    continue
                found.append(Import(source, target, module, str(path.relative_to(ROOT)), node.lineno,
                                    id(node) in in_function, "# deferred:" in nearby))
    return found


def import_graph(imports: list[Import]) -> dict[str, set[str]]:
    """Package → the packages it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        graph[item.source].add(item.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
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
                found.append(sorted(component))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


def _where(imports: list[Import], source: str, target: str) -> str:
    return ", ".join(f"{i.path}:{i.line}" for i in imports if i.source == source and i.target == target)


def test_no_import_cycle_between_packages():
    imports = app_imports()
    graph = import_graph(imports)
    for source, target in ALLOWED_CYCLE_EDGES:
        graph[source].discard(target)
    problems = []
    for component in cycles(graph):
        edges = [
            f"{s} → {t} ({_where(imports, s, t)})"
            for s in component for t in sorted(graph[s]) if t in component
        ]
        problems.append(" / ".join(component) + ":\n  " + "\n  ".join(edges))
    assert problems == [], "package import cycles:\n" + "\n".join(problems)


def test_allowed_cycle_edges_still_exist():
    """An allowed edge that is gone must leave the list (so the list only shrinks)."""
    graph = import_graph(app_imports())
    assert [edge for edge in ALLOWED_CYCLE_EDGES if edge[1] not in graph.get(edge[0], set())] == []


def test_function_level_imports_of_other_packages_say_why():
    unmarked = [i for i in app_imports() if i.in_function and not i.marked]
    found = [
        f"{i.path}:{i.line} imports {i.target}" for i in unmarked if i.path not in ALLOWED_UNMARKED_DEFERRED
    ]
    assert found == [], "function-level imports need a `# deferred: <why>` comment:\n" + "\n".join(found)
    # A file that no longer has any leaves the allow-list.
    assert sorted(set(ALLOWED_UNMARKED_DEFERRED) - {i.path for i in unmarked}) == []


def test_no_feature_imports_another_features_views():
    found = sorted(
        f"{i.path}:{i.line} imports {i.module}"
        for i in app_imports()
        if i.source != "app"
        and i.target != "core"  # app/core/views.py: the form helpers every feature shares
        and is_views_module(i.module)
        and (i.source, i.target) not in ALLOWED_VIEW_IMPORTS
    )
    assert found == []
    views_imported = {
        (i.source, i.target) for i in app_imports() if is_views_module(i.module)
    }
    assert sorted(set(ALLOWED_VIEW_IMPORTS) - views_imported) == []


def test_no_module_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): count
        for path in sorted(APP.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {p: n for p, n in long.items() if p not in ALLOWED_LONG_MODULES} == {}
    # A module that shrank below the limit leaves the allow-list.
    assert sorted(set(ALLOWED_LONG_MODULES) - set(long)) == []


def _ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]


def test_no_function_over_complexity_15():
    result = subprocess.run(
        [*_ruff(), "check", "app", "--select", "C901", "--output-format", "concise", "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    offenders = [
        line for line in result.stdout.splitlines()
        if "C901" in line and line.split(":", 1)[0] not in ALLOWED_COMPLEX_FILES
    ]
    assert offenders == [], "\n".join(offenders)
    assert result.returncode == 0, result.stdout + result.stderr
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "max-complexity = 15" in pyproject and '"C90"' in pyproject


def test_the_graph_finds_a_cycle_hidden_in_a_function(tmp_path):
    """The walker itself: a function-level import closing a cycle is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert cycles(graph) == []
    tree = ast.parse("def late():\n    from app.a import x  # deferred: test\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert id(node) in _function_imports(tree)
    graph["c"].add(package_of(node.module))
    assert cycles(graph) == [["a", "b", "c"]]


if __name__ == "__main__":
    for source, targets in sorted(import_graph(app_imports()).items()):
        print(f"{source} -> {', '.join(sorted(targets))}")
    print("cycles:", cycles(import_graph(app_imports())))
