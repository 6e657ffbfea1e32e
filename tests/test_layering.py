"""The layering DESIGN.md draws, checked on the source: one direction of dependency (service → models,
training → models), the store below the HTTP layers, FastAPI only in the HTTP layers.

Every module's imports are read with `ast`, not by importing it: `import x`, `from x import y` (as x
and x.y, since y may be a module), relative imports, imports inside functions or under
TYPE_CHECKING, and importlib.import_module / __import__ with a literal name. A rule fails naming
every offending file:line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root, e.g. service/store/erasure.py
    line: int
    module: str  # the absolute dotted name imported


@dataclass(frozen=True)
class Rule:
    name: str
    under: str  # files below this folder (relative to ROOT)
    forbidden: tuple[str, ...]  # top modules (and everything below them)
    why: str
    outside: tuple[str, ...] = ()  # sub-folders of `under` the rule does not cover
    # Known exceptions, (file, imported module) -> why; each must still be real (see
    # test_every_known_exception_is_still_real) so the list can only shrink.
    exceptions: dict[tuple[str, str], str] = field(default_factory=dict)


RULES = [
    Rule(
        "models-below-everything",
        "models",
        ("service", "training", "benchmarks", "jianfu", "tools", "fastapi", "starlette", "sqlalchemy"),
        "models/ is the learned part: no HTTP, no database, nothing from the service or training",
    ),
    Rule(
        "service-not-training",
        "service",
        ("training", "benchmarks", "jianfu", "tools"),
        "service/ depends on models/ only (service → models); registry helpers live in models.registry",
    ),
    Rule(
        "training-not-service",
        "training",
        ("service", "benchmarks", "jianfu", "tools", "fastapi", "starlette"),
        "training/ depends on models/ only (training → models); what needs the service is a benchmark",
    ),
    Rule(
        "store-below-auth-and-http",
        "service/store",
        ("service.auth", "service.api", "service.web", "fastapi", "starlette"),
        "service/store is below accounts and the HTTP layers (account rows: service.store.accounts)",
    ),
    Rule(
        "fastapi-only-in-http-layers",
        "service",
        ("fastapi", "starlette"),
        "only service/api and service/web speak HTTP; the rest of service/ is plain Python",
        outside=("service/api", "service/web"),
        exceptions={
            ("service/app.py", "fastapi"): "the app factory: builds the FastAPI app from api/ and web/",
            ("service/app.py", "fastapi.responses"): "the app factory: /readyz and /metrics answers",
            ("service/app.py", "starlette.types"): "the app factory: its plain ASGI middleware",
        },
    ),
    Rule(
        "pages-call-the-domain-not-the-routes",
        "service/web",
        ("service.api.v1",),
        "a page calls the same domain functions (service.plans, service.evenings, ...) as the routes",
    ),
    Rule(
        "routes-issue-no-sql",
        "service/api/v1",
        ("sqlalchemy", "service.store.tables", "service.store.queries", "service.policy", "service.planner"),
        "a route is parse, permission, one domain call, shape: the reads and writes are the domain's",
    ),
    Rule(
        "pages-issue-no-sql",
        "service/web",
        ("sqlalchemy", "service.store.tables", "service.store.queries", "service.policy", "service.planner"),
        "a page is sign-in, permission, one domain call, render: the reads and writes are the domain's",
    ),
]

HTTP_LAYERS = ("service/api", "service/web")


@pytest.mark.parametrize("folder", HTTP_LAYERS)
def test_no_route_or_page_executes_a_statement(folder: str) -> None:
    """Not even through a connection it was handed: no `.execute(` / `.scalars(` / `.begin(` call
    in a route, a dependency or a page (the store's hot reads run inside domain functions)."""
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                "execute",
                "scalars",
                "begin",
            ):
                bad.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert not bad, "SQL issued in the HTTP layer: " + ", ".join(bad)


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    rel = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(rel, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package (a package's __init__ is in it too)
                package = list(path.relative_to(root).parts[:-1])
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module:
                yield Import(rel, node.lineno, module)
            for alias in node.names:
                if alias.name != "*":
                    yield Import(rel, node.lineno, f"{module}.{alias.name}" if module else alias.name)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", "")
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield Import(rel, node.lineno, first.value)


def files_of(rule: Rule) -> list[Path]:
    files = sorted((ROOT / rule.under).rglob("*.py"))
    return [
        f for f in files if not any(f.relative_to(ROOT).as_posix().startswith(o + "/") for o in rule.outside)
    ]


def _hits(module: str, forbidden: tuple[str, ...]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


def violations(rule: Rule) -> list[Import]:
    found = {i for path in files_of(rule) for i in imports_of(path) if _hits(i.module, rule.forbidden)}
    # `from x import y` yields x and x.y: report the line once, by the shortest name that breaks the rule.
    shortest: dict[tuple[str, int], Import] = {}
    for i in sorted(found, key=lambda i: (i.path, i.line, len(i.module))):
        shortest.setdefault((i.path, i.line), i)
    return sorted(shortest.values(), key=lambda i: (i.path, i.line))


def _excepted(rule: Rule, i: Import) -> bool:
    return any(
        i.path == path and (i.module == module or i.module.startswith(module + "."))
        for path, module in rule.exceptions
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_no_upward_import(rule: Rule) -> None:
    assert files_of(rule), f"no Python files under {rule.under}/: the rule checks nothing"
    bad = [i for i in violations(rule) if not _excepted(rule, i)]
    if bad:
        pytest.fail(
            f"{rule.under}/ must not import {', '.join(rule.forbidden)}"
            + (f" (outside {', '.join(rule.outside)})" if rule.outside else "")
            + f": {rule.why}\n"
            + "\n".join(f"  {i.path}:{i.line} imports {i.module}" for i in bad),
            pytrace=False,
        )


@pytest.mark.parametrize("rule", [r for r in RULES if r.exceptions], ids=lambda r: r.name)
def test_every_known_exception_is_still_real(rule: Rule) -> None:
    """An exception that no longer occurs is removed from the list, so the list only shrinks."""
    seen = {(i.path, i.module) for path in files_of(rule) for i in imports_of(path)}
    stale = [key for key in rule.exceptions if key not in seen]
    assert not stale, f"{rule.name}: remove these exceptions, the imports are gone: {stale}"


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The reader itself: module level, in a function, relative, from-import of a module, importlib."""
    package = tmp_path / "service" / "store"
    package.mkdir(parents=True)
    source = (
        "import fastapi\n"
        "from service import auth\n"
        "def f():\n"
        "    from service.api.v1 import teacher\n"
        "    import importlib\n"
        "    importlib.import_module('service.web.pages')\n"
        "from ..auth import hash_password\n"
        "from . import tables\n"
    )
    probe = package / "probe.py"
    probe.write_text(source, encoding="utf-8")
    seen = {(i.line, i.module) for i in imports_of(probe, root=tmp_path)}
    assert {
        (1, "fastapi"),
        (2, "service.auth"),
        (4, "service.api.v1.teacher"),
        (6, "service.web.pages"),
        (7, "service.auth"),
        (7, "service.auth.hash_password"),
        (8, "service.store.tables"),
    } <= seen
