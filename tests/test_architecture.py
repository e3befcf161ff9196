"""The shape of the code, checked: layers import only downwards and never in a cycle, every
catalogue key the code uses exists, and the models match the migrations."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.config import PROJECT_ROOT
from core.db import make_engine
from core.texts import TEXTS
from models import Base

# What each top-level package may import (besides itself and the standard library).
LAYERS = {
    "models": set(),
    "core": {"models"},
    "domain": {"core", "models"},
    "bot": {"core", "domain", "models"},
    "handlers": {"bot", "core", "domain", "models"},
    "console": {"core", "domain", "models"},
    "web": {"core", "domain", "models"},
    "scheduler": {"core", "domain", "models"},
    "simulator": {"core"},
    # Wiring: the app factory, the server and the command line put the rest together.
    "cli": {"bot", "core", "domain", "handlers", "linli", "models", "scheduler"},
    "linli": {"bot", "cli", "console", "core", "domain", "handlers", "models", "web"},
    "migrations": {"core", "models"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules imported anywhere in the file (lazy imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def test_layers_import_only_downwards():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        layer = name.split(".")[0]
        for imported in _imports(path, modules):
            target = imported.split(".")[0]
            if target != layer and target not in LAYERS[layer]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {i for i in _imports(path, modules) if i != name} for name, path in modules.items()}
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for name in graph:
        graph[name] = {i for i in graph[name] if not i.startswith(name + ".")}
    seen, stack, cycles = set(), [], []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()

    for name in sorted(graph):
        visit(name)
    assert cycles == []


KEY_CALLS = re.compile(r"""(?:\btext|\.reply|Refused|reask|done|\bt)\(\s*(?:ctx,\s*)?["']([a-z][a-z0-9_]+)["']""")
TEMPLATE_KEYS = re.compile(r"""\bt\(\s*'([a-z][a-z0-9_]+)'\s*[,)]""")


def test_every_catalogue_key_used_exists():
    missing = []
    for path in list(PROJECT_ROOT.glob("[a-z]*/**/*.py")):
        if ".venv" in path.parts or "tests" in path.parts or "bench" in path.parts:
            continue
        for key in KEY_CALLS.findall(path.read_text(encoding="utf-8")):
            if key not in TEXTS and not key.endswith("_"):
                missing.append(f"{path.relative_to(PROJECT_ROOT)}: {key}")
    for path in (PROJECT_ROOT / "console" / "templates").rglob("*.html"):
        for key in TEMPLATE_KEYS.findall(path.read_text(encoding="utf-8")):
            if key not in TEXTS:
                missing.append(f"{path.relative_to(PROJECT_ROOT)}: {key}")
    assert missing == []


def test_no_catalogue_key_is_written_twice():
    """A key repeated in one file would silently replace the first text."""
    repeated = []
    for path in (PROJECT_ROOT / "core" / "texts").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                repeated += [f"{path.name}: {k}" for k in set(keys) if keys.count(k) > 1]
    assert repeated == []


def test_the_models_match_the_migrations(db_url):
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": lambda o, name, type_, *_:
                not (type_ == "table" and name == "apscheduler_jobs")})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.parametrize("package", ["bot", "core", "domain", "handlers", "console", "web", "scheduler"])
def test_modules_stay_small(package):
    big = [f"{p.relative_to(PROJECT_ROOT)} ({n} lines)" for p in (PROJECT_ROOT / package).rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 360]
    assert big == []
