#!/usr/bin/env python3
"""Issue #11, the mechanical part: move whole modules to the layered tree and rewrite
every reference to them. Usage, at the root of a checkout (or naming it):

    python /work/wt/notes/redesign_moves.py [TREE] [--dry-run] [--no-ruff] [--canonical]

(`--canonical`, for step S2: imports of names a module only re-exports, such as the
`renderers.slack` facade, are pointed at the defining module; after it the facade has no
importers left and can be deleted.)

What it does, in this order:
1. `git mv` each module of MOVES (product and tests) whose source still exists and whose
   target does not; creates the new packages' empty `__init__.py` (git added).
2. Rewrites every reference, file by file, in one pass over the original text (so one
   rewrite never feeds another):
   - Python imports, by AST position: `from api.models import Task`,
     `from api import keys`, `from api.web import otp_pages` (a module whose last name
     changes keeps its local name through `as`), `import x.y as z`, nested imports too;
     names imported together but now living in different modules are split.
   - A string literal that is exactly a dotted path (RQ job paths, mock.patch and
     monkeypatch targets, logger names): moved, or followed to the one module that now
     defines the attribute (see "follow" below).
   - Every other dotted module path (comments, docstrings, README, pyproject) and every
     file path (`api/models.py`, `bot/delivery.py`) of a moved module.
3. Sorts the touched imports (`ruff check --fix --select I001`).
4. Checks every `from X import n` / `import X` of our packages and every dotted-path
   string literal resolves in the new tree, and lists product modules the plan does not
   place (new modules from other branches), so nothing unmapped passes silently.

Idempotent: a second run moves nothing and rewrites nothing. Old module names that now
name a package (`api.store`, `workers.sinks`) are read with their old meaning only in the
run that performs that move; afterwards `api.store.keys` is the new package's submodule.

"follow": when `from M import n` names an `n` that M no longer defines (someone cut it to
another module by hand, as the manual steps of the plan do), the import is pointed at the
one product module that defines `n` at top level (SYMBOL_HOMES settles names defined in
several places). So a manual split is: cut the code, paste it in its new module, rerun
this script, and every import in product code, tests and bench follows.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

OURS = ("api", "bot", "renderers", "workers", "tests", "bench")
PRODUCT = ("api", "bot", "renderers", "workers")

# (old path, new path) of whole modules, relative to the tree root.
MOVES: list[tuple[str, str]] = [
    # api/domain: the contract and the rules, pure
    ("api/models.py", "api/domain/task.py"),
    ("api/answers.py", "api/domain/fields.py"),
    ("api/errors.py", "api/domain/errors.py"),
    ("api/events.py", "api/domain/events.py"),
    ("api/whsec.py", "api/domain/webhooks.py"),
    ("api/validation.py", "api/domain/validation.py"),
    # api/store: the only code that knows Redis keys
    ("api/keys.py", "api/store/keys.py"),
    ("api/store.py", "api/store/tasks.py"),
    ("api/listing.py", "api/store/listing.py"),
    ("api/auth.py", "api/store/directory.py"),
    ("api/otp.py", "api/store/codes.py"),
    ("api/deliveries.py", "api/store/deliveries.py"),
    ("api/waiters.py", "api/store/waiters.py"),
    ("api/jobs.py", "api/store/jobs.py"),
    ("api/files.py", "api/store/files.py"),
    ("bot/state.py", "api/store/slack.py"),
    # api/http and api/web: one sub-app each
    ("api/http/resources.py", "api/http/deps.py"),
    ("api/web/routes.py", "api/web/app.py"),
    ("api/web/otp_pages.py", "api/web/codes.py"),
    # bot: listeners by interaction kind, access rules
    ("bot/actions.py", "bot/listeners/actions.py"),
    ("bot/views.py", "bot/listeners/views.py"),
    ("bot/home.py", "bot/listeners/home.py"),
    ("bot/gate.py", "bot/access.py"),
    # workers: Slack delivery runs in RQ workers; sinks get a home
    ("bot/delivery.py", "workers/slack_delivery.py"),
    ("workers/sinks.py", "workers/sinks/deliver.py"),
    ("workers/webhook.py", "workers/sinks/webhook.py"),
    ("workers/nats_sink.py", "workers/sinks/nats.py"),
    ("workers/email_sink.py", "workers/sinks/email.py"),
    # tests mirror the tree
    ("tests/api/test_auth.py", "tests/api/http/test_auth.py"),
    ("tests/api/test_deliveries.py", "tests/api/http/test_deliveries.py"),
    ("tests/api/test_examples.py", "tests/api/http/test_examples.py"),
    ("tests/api/test_hardening.py", "tests/api/http/test_hardening.py"),
    ("tests/api/test_lifecycle.py", "tests/api/http/test_tasks.py"),
    ("tests/api/test_openapi.py", "tests/api/http/test_openapi.py"),
    ("tests/api/test_outage.py", "tests/api/http/test_outage.py"),
    ("tests/api/test_validation.py", "tests/api/http/test_validation.py"),
    ("tests/api/test_files.py", "tests/api/store/test_files.py"),
    ("tests/api/test_otp.py", "tests/api/store/test_codes.py"),
    ("tests/bot/test_actions.py", "tests/bot/listeners/test_actions.py"),
    ("tests/bot/test_views.py", "tests/bot/listeners/test_views.py"),
    ("tests/bot/test_home.py", "tests/bot/listeners/test_home.py"),
    ("tests/web/test_otp_server.py", "tests/web/test_codes_server.py"),
    ("tests/web/test_otp_browser.py", "tests/web/test_codes_browser.py"),
    ("tests/workers/test_webhook.py", "tests/workers/sinks/test_webhook.py"),
    ("tests/workers/test_nats_sink.py", "tests/workers/sinks/test_nats.py"),
    ("tests/workers/test_email_sink.py", "tests/workers/sinks/test_email.py"),
    ("tests/workers/test_sinks.py", "tests/workers/sinks/test_deliver.py"),
    ("tests/api/test_fuzz.py", "tests/api/http/test_fuzz.py"),
    ("tests/api/test_json_shapes.py", "tests/api/http/test_json_shapes.py"),
    ("tests/api/test_listing_bytes.py", "tests/api/http/test_listing_bytes.py"),
]

# Product modules that keep their path in this mechanical step (their manual fate is in
# REDESIGN-PLAN.md). Anything else found in the product packages is reported.
KEPT = {
    "api/__init__.py", "api/service.py", "api/settings.py", "api/cli.py",
    "api/devserver.py", "api/runtime.py", "api/netguard.py", "api/reconcile.py",
    "api/http/__init__.py", "api/http/app.py", "api/http/tasks.py",
    "api/http/deliveries.py", "api/http/openapi.py", "api/http/health.py",
    "api/web/__init__.py", "api/web/access.py", "api/web/dashboard.py",
    "api/web/files.py", "api/web/form.py", "api/web/form_input.py", "api/web/pages.py",
    "api/web/session.py", "api/web/sign_in.py", "api/web/task_page.py",
    "api/web/tokens.py",
    "bot/__init__.py", "bot/app.py", "bot/clients.py", "bot/drafts.py", "bot/http.py",
    "bot/members.py", "bot/notes.py", "bot/respond.py", "bot/socket.py", "bot/steps.py",
    "renderers/__init__.py", "renderers/html.py", "renderers/html_fields.py",
    "renderers/mdsvex.py", "renderers/mrkdwn.py", "renderers/pdf.py",
    "renderers/slack.py", "renderers/slack_blocks.py", "renderers/slack_fields.py",
    "renderers/slack_home.py", "renderers/slack_message.py", "renderers/slack_modal.py",
    "renderers/values.py", "renderers/budget.py", "bot/envelope.py", "bot/signing.py",
    "workers/__init__.py", "workers/context.py", "workers/email_codes.py",
    "workers/expiry.py", "workers/runner.py", "workers/slack.py", "workers/smtp.py",
    # planned new homes, created by hand (listed so a rerun does not report them)
    "api/server.py", "api/domain/uploads.py", "api/store/drafts.py",
    "api/store/sessions.py", "api/http/files.py", "renderers/slack_ids.py",
    "api/web/render.py", "bot/listeners/__init__.py",
    "api/domain/limits.py",  # S5: request-only limits (track A)
    "api/store/codec.py", "api/store/connection.py",
    "workers/sinks/base.py",  # the Transport protocol (was workers/timing.py's elapsed_ms too)
}

# Where a name lives when more than one product module defines it, or where a manual
# step gives it a new name. (module that no longer defines it, name) -> (home, name).
SYMBOL_HOMES: dict[tuple[str, str], tuple[str, str]] = {
    ("api.store.codes", "RateLimited"): ("api.domain.errors", "RateLimited"),
    ("workers.slack_delivery", "RateLimited"): ("api.domain.errors", "SlackRateLimited"),
    ("workers.slack", "RateLimited"): ("api.domain.errors", "SlackRateLimited"),
    ("api.http.deps", "SERVICES"): ("api.runtime", "SERVICES"),
    # bot's context key dies in S7: never follow it to the aiohttp AppKey of that name
    ("bot.access", "SERVICES"): ("bot.app", "SERVICES"),
    ("api.http.deps", "error_response"): ("api.http.app", "error_response"),
}

TEXT_FILES = ("*.py", "*.md", "*.toml", "*.cfg", "*.ini", "*.sh", "*.yaml", "*.yml",
              "*.txt", "Procfile", ".ci/run")
SKIP_DIRS = {".git", "__pycache__", ".venv", "node_modules", ".inloop", "golden",
             "test-artifacts", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
DOTTED = re.compile(r"(?<![\w.])(?:{})(?:\.[A-Za-z_]\w*)+".format("|".join(OURS)))
PATHLIKE = re.compile(r"(?<![\w/.-])(?:{})(?:/[\w.-]*[\w])+".format("|".join(OURS)))
WHOLE_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


def module_of(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


@dataclass
class Report:
    moved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    rewritten: dict[str, int] = field(default_factory=dict)
    followed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)


class Tree:
    """The tree after the moves: modules, their top-level names and definitions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: dict[str, set[str]] = {}  # module -> names bound at top level
        self.defined: dict[str, set[str]] = {}  # module -> names defined (not imported)
        self.homes: defaultdict[str, set[str]] = defaultdict(set)  # product definitions
        for path in python_files(root):
            self._index(path)

    def _index(self, path: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        module = module_of(rel)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            self.names[module], self.defined[module] = set(), set()
            return
        bound, defined = top_level_names(tree.body)
        self.names[module], self.defined[module] = bound, defined
        if rel.split("/")[0] in PRODUCT:
            for name in defined:
                self.homes[name].add(module)

    def is_module(self, dotted: str) -> bool:
        return dotted in self.names or (self.root / dotted.replace(".", "/")).is_dir()

    def is_package(self, dotted: str) -> bool:
        return (self.root / dotted.replace(".", "/")).is_dir()

    def has(self, module: str, name: str) -> bool:
        return name in self.names.get(module, set()) or self.is_module(f"{module}.{name}")

    def home_of(self, module: str, name: str) -> tuple[str, str] | None:
        """Where `name`, no longer in `module`, lives now (None if unknown or unclear)."""
        if (module, name) in SYMBOL_HOMES:
            home, new = SYMBOL_HOMES[(module, name)]
            return (home, new) if new in self.defined.get(home, set()) else None
        found = self.homes.get(name, set()) - {module}
        return (next(iter(found)), name) if len(found) == 1 else None


def top_level_names(body: list[ast.stmt]) -> tuple[set[str], set[str]]:
    """(every name bound at module level, the names defined there rather than imported)."""
    bound: set[str] = set()
    defined: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try):
            for part in branches(node):
                more_bound, more_defined = top_level_names(part)
                bound |= more_bound
                defined |= more_defined
        else:
            defined |= definitions(node)
    return bound | defined, defined


def definitions(node: ast.stmt) -> set[str]:
    """Names a def, class or assignment binds."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def branches(node: ast.If | ast.Try) -> list[list[ast.stmt]]:
    """The statement lists of an `if` or `try` at module level (TYPE_CHECKING, fallbacks)."""
    found = [node.body, node.orelse, getattr(node, "finalbody", [])]
    return found + [handler.body for handler in getattr(node, "handlers", [])]


def python_files(root: Path) -> list[Path]:
    found = []
    for top in OURS:
        base = root / top
        if base.is_dir():
            found += [p for p in base.rglob("*.py") if not SKIP_DIRS & set(p.parts)]
    return sorted(found)


def text_files(root: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in TEXT_FILES:
        if "/" in pattern or pattern == "Procfile":
            if (root / pattern).is_file():
                found.add(root / pattern)
            continue
        for top in (*OURS, "scripts"):
            if (root / top).is_dir():
                found |= {p for p in (root / top).rglob(pattern)
                          if not SKIP_DIRS & set(p.relative_to(root).parts)}
        found |= set(root.glob(pattern))
    return sorted(found)


class Mapper:
    """Maps old dotted paths and file paths to new ones."""

    def __init__(self, tree: Tree, moved_now: set[str], canonical: bool = False) -> None:
        self.tree = tree
        self.canonical = canonical  # imports of re-exported names go to their definition
        self.modules = {module_of(old): module_of(new) for old, new in MOVES}
        self.paths = dict(MOVES)
        self.moved_now = moved_now  # old module names moved in this run

    def moved(self, segments: list[str]) -> list[str] | None:
        """The new dotted path of a reference into a moved module, else None."""
        for k in range(len(segments), 0, -1):
            old = ".".join(segments[:k])
            if old not in self.modules:
                continue
            if self.tree.is_module(old) and old not in self.moved_now:
                # The old name now names a package: `api.store.keys` is new style, while
                # `api.store.TaskStore` still means the old module's attribute.
                rest = segments[k:]
                if not rest or self.tree.is_module(f"{old}.{rest[0]}"):
                    return None
                if rest[0] not in self.tree.names.get(self.modules[old], set()):
                    return None
            return self.modules[old].split(".") + segments[k:]
        return None

    def follow(self, segments: list[str], canonical: bool = False) -> list[str] | None:
        """`module.name` where module no longer has name: the name's one home. With
        `canonical`, also a name the module only imports (a facade's re-export)."""
        for k in range(len(segments) - 1, 0, -1):
            module = ".".join(segments[:k])
            if self.tree.is_module(module):
                name = segments[k]
                if self.tree.is_module(f"{module}.{name}") or (
                        name in self.tree.defined.get(module, set()) if canonical
                        else self.tree.has(module, name)):
                    return None
                home = self.tree.home_of(module, name)
                if home is None:
                    return None
                return [*home[0].split("."), home[1], *segments[k + 1:]]
        return None

    def dotted(self, text: str, whole: bool) -> str | None:
        """New text of a dotted reference; `whole` (a string literal that is exactly a
        dotted path) may also follow a name to its new home."""
        segments = text.split(".")
        new = self.moved(segments) or segments
        if whole:
            new = self.follow(new) or new
        joined = ".".join(new)
        return joined if joined != text else None

    def path(self, text: str) -> str | None:
        if self.tree.is_package(text.replace("/", ".")):
            return None  # `api/store` is the new package now, whatever it meant before
        for suffix in ("", ".py"):
            if text + suffix in self.paths:
                return self.paths[text + suffix].removesuffix(suffix) if suffix else \
                    self.paths[text]
        return None


def char_offsets(source: str) -> list[int]:
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def position(source_lines: list[str], starts: list[int], line: int, col: int) -> int:
    """Absolute char offset of an AST (1-based line, UTF-8 byte column) position."""
    text = source_lines[line - 1].encode("utf-8")[:col].decode("utf-8", errors="ignore")
    return starts[line - 1] + len(text)


class PythonRewriter:
    def __init__(self, mapper: Mapper, source: str, report: Report, rel: str) -> None:
        self.mapper, self.source, self.report, self.rel = mapper, source, report, rel
        self.lines = source.splitlines(keepends=True)
        self.starts = char_offsets(source)
        self.edits: list[tuple[int, int, str]] = []
        self.covered: list[tuple[int, int]] = []

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = position(self.lines, self.starts, node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = position(self.lines, self.starts, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def run(self) -> str:
        tree = ast.parse(self.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                self._import_from(node)
            elif isinstance(node, ast.Import):
                self._import(node)
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and WHOLE_DOTTED.match(node.value)
                  and node.value.split(".")[0] in OURS):
                self._literal(node)
        self._free_text()
        return apply(self.source, self.edits)

    def _replace(self, node: ast.AST, text: str) -> None:
        start, end = self.span(node)
        self.covered.append((start, end))
        if self.source[start:end] != text:
            self.edits.append((start, end, text))

    def _import(self, node: ast.Import) -> None:
        start, end = self.span(node)
        self.covered.append((start, end))
        parts, changed = [], False
        for alias in node.names:
            new = self.mapper.dotted(alias.name, whole=False)
            changed |= new is not None
            name = new or alias.name
            parts.append(f"{name} as {alias.asname}" if alias.asname else name)
        if changed:
            self.edits.append((start, end, "import " + ", ".join(parts)))

    def _import_from(self, node: ast.ImportFrom) -> None:
        assert node.module is not None
        start, end = self.span(node)
        self.covered.append((start, end))
        if node.module.split(".")[0] not in OURS:
            return
        groups: dict[str, list[str]] = {}
        changed = False
        for alias in node.names:
            module, name = self._target(node.module, alias.name)
            local = alias.asname or alias.name  # kept: the file's code uses it
            changed |= (module, name) != (node.module, alias.name)
            shown = name if name == local else f"{name} as {local}"
            groups.setdefault(module, []).append(shown)
        if not changed:
            return
        indent = " " * node.col_offset
        lines = [f"from {m} import {', '.join(names)}" for m, names in groups.items()]
        self.edits.append((start, end, ("\n" + indent).join(lines)))

    def _target(self, module: str, name: str) -> tuple[str, str]:
        full = f"{module}.{name}".split(".")
        new = self.mapper.moved(full)
        if new is None:
            new = self.mapper.moved(module.split("."))
            new = ([*new, name]) if new else full
        followed = self.mapper.follow(new, canonical=self.mapper.canonical)
        if followed is not None:
            self.report.followed.append(f"{self.rel}: {'.'.join(new)} -> "
                                        f"{'.'.join(followed)}")
            new = followed
        return ".".join(new[:-1]), new[-1]

    def _literal(self, node: ast.Constant) -> None:
        assert isinstance(node.value, str)
        new = self.mapper.dotted(node.value, whole=True)
        start, end = self.span(node)
        self.covered.append((start, end))
        if new is None:
            return
        literal = self.source[start:end]
        if node.value not in literal:  # implicit concatenation or escapes: leave it
            self.report.problems.append(f"{self.rel}:{node.lineno}: string {node.value!r} "
                                        f"should become {new!r} (not rewritten)")
            return
        self.edits.append((start, end, literal.replace(node.value, new, 1)))

    def _free_text(self) -> None:
        """Comments, docstrings and prose: moved modules and file paths only."""
        for pattern, rewrite in ((DOTTED, lambda t: self.mapper.dotted(t, whole=False)),
                                 (PATHLIKE, self.mapper.path)):
            for match in pattern.finditer(self.source):
                if any(s <= match.start() < e for s, e in self.covered):
                    continue
                new = rewrite(match.group(0))
                if new is not None:
                    self.edits.append((match.start(), match.end(), new))


def apply(source: str, edits: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, text in sorted(set(edits)):
        if start < last:
            continue  # overlapping (a path inside a dotted token): first one wins
        out += [source[last:start], text]
        last = end
    return "".join(out) + source[last:]


def rewrite_text(mapper: Mapper, source: str) -> str:
    edits = []
    for pattern, rewrite in ((DOTTED, lambda t: mapper.dotted(t, whole=False)),
                             (PATHLIKE, mapper.path)):
        for match in pattern.finditer(source):
            new = rewrite(match.group(0))
            if new is not None:
                edits.append((match.start(), match.end(), new))
    return apply(source, edits)


LIMIT = 100  # the project's line length (pyproject [tool.ruff])


def wrap_long_lines(old: str, new: str) -> str:
    """Lines this rewrite made longer than LIMIT, broken after a comma inside brackets
    (continuation aligned with the bracket), as the project writes them."""
    before = {line for line in old.splitlines() if len(line) > LIMIT}
    out = []
    for line in new.split("\n"):
        out.append(line if len(line) <= LIMIT or line in before else wrap(line))
    return "\n".join(out)


def wrap(line: str) -> str:
    """`line` broken at the last comma inside brackets that keeps it within LIMIT."""
    stack: list[int] = []
    quote: str | None = None
    best: tuple[int, int] | None = None  # (break after, indent)
    for i, char in enumerate(line):
        if quote:
            if char == quote and line[i - 1] != "\\":
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            break
        elif char in "([{":
            stack.append(i)
        elif char in ")]}" and stack:
            stack.pop()
        elif char == "," and stack and i < LIMIT and line[i + 1:i + 2] == " ":
            best = (i + 1, stack[-1] + 1)
    if best is None:
        return line
    head, tail = line[:best[0]], line[best[0]:].lstrip()
    rest = " " * best[1] + tail
    return head + "\n" + (wrap(rest) if len(rest) > LIMIT else rest)


def git(root: Path, *args: str, dry: bool) -> None:
    if dry:
        print("  would run: git", *args)
        return
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def perform_moves(root: Path, report: Report, dry: bool) -> set[str]:
    moved_now: set[str] = set()
    for old, new in MOVES:
        src, dst = root / old, root / new
        if src.exists() and dst.exists():
            report.problems.append(f"both {old} and {new} exist: merge them by hand")
        elif not src.exists():
            if not dst.exists():
                report.problems.append(f"neither {old} nor {new} exists")
            else:
                report.skipped.append(f"{old} -> {new} (done before)")
            continue
        else:
            ensure_packages(root, dst.parent, report, dry)
            git(root, "mv", old, new, dry=dry)
            report.moved.append(f"{old} -> {new}")
            moved_now.add(module_of(old))
    return moved_now


def ensure_packages(root: Path, folder: Path, report: Report, dry: bool) -> None:
    """`folder` and its parents up to the tree root as packages (empty `__init__.py`)."""
    chain = []
    while folder != root and not (folder / "__init__.py").exists():
        chain.append(folder)
        folder = folder.parent
    for package in reversed(chain):
        init = package / "__init__.py"
        report.created.append(init.relative_to(root).as_posix())
        if not dry:
            package.mkdir(parents=True, exist_ok=True)
            init.write_text("")
            git(root, "add", init.relative_to(root).as_posix(), dry=dry)


def rewrite_all(root: Path, mapper: Mapper, report: Report, dry: bool) -> list[Path]:
    changed = []
    for path in text_files(root):
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        try:
            new = (PythonRewriter(mapper, source, report, rel).run() if path.suffix == ".py"
                   else rewrite_text(mapper, source))
        except SyntaxError as error:
            report.problems.append(f"{rel}: cannot parse ({error}); not rewritten")
            continue
        new = wrap_long_lines(source, new)
        if new != source:
            report.rewritten[rel] = sum(a != b for a, b in zip(source.splitlines(),
                                                               new.splitlines(),
                                                               strict=False)) or 1
            changed.append(path)
            if not dry:
                path.write_text(new, encoding="utf-8")
    return changed


def sort_imports(root: Path, files: list[Path], report: Report) -> None:
    py = [str(p.relative_to(root)) for p in files if p.suffix == ".py"]
    if not py:
        return
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--select", "I001",
                           "--quiet", *py], cwd=root, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        report.problems.append(f"ruff could not sort imports: {done.stderr.strip()}")
    long = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "E501",
                           "--output-format", "concise", "--quiet", *py], cwd=root,
                          capture_output=True, text=True)
    report.problems += [f"too long after the rewrite: {row}"
                        for row in long.stdout.splitlines() if row.strip()]


def check(root: Path, report: Report) -> None:
    """Every import of ours and every dotted-path literal resolves; every product module
    has a planned place."""
    tree = Tree(root)
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            parsed = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(parsed):
            for problem in unresolved(tree, node):
                report.problems.append(f"{rel}:{getattr(node, 'lineno', '?')}: {problem}")
    targets = {new for _, new in MOVES}
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in PRODUCT and rel not in KEPT and rel not in targets and \
                not rel.endswith("__init__.py"):
            report.unplaced.append(rel)
        if rel.startswith("tests/api/test_"):
            report.unplaced.append(f"{rel} (tests/api/ now has domain/, store/, http/)")


def unresolved(tree: Tree, node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
            node.module.split(".")[0] in OURS:
        if not tree.is_module(node.module):
            return [f"no module {node.module}"]
        return [f"{node.module} has no {a.name}" for a in node.names
                if a.name != "*" and not tree.has(node.module, a.name)]
    if isinstance(node, ast.Import):
        return [f"no module {a.name}" for a in node.names
                if a.name.split(".")[0] in OURS and not tree.is_module(a.name)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
            WHOLE_DOTTED.match(node.value) and node.value.split(".")[0] in PRODUCT:
        return dotted_problem(tree, node.value)
    return []


def dotted_problem(tree: Tree, value: str) -> list[str]:
    segments = value.split(".")
    for k in range(len(segments), 0, -1):
        module = ".".join(segments[:k])
        if tree.is_module(module):
            if k == 1 or k == len(segments) or tree.has(module, segments[k]):
                return []  # k == 1: "workers.log" is a file name, not a path of ours
            return [f"string {value!r}: {module} has no {segments[k]}"]
    return [f"string {value!r} names no module"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", default=".")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--no-ruff", action="store_true")
    parser.add_argument("--canonical", action="store_true",
                        help="also point imports of re-exported names (renderers.slack's "
                             "facade) at the module defining them")
    args = parser.parse_args()
    root = Path(args.tree).resolve()
    if not all((root / top).is_dir() for top in PRODUCT):
        sys.exit(f"{root} is not an inloop tree (api/ bot/ renderers/ workers/)")
    report = Report()
    moved_now = perform_moves(root, report, args.dry_run)
    if args.dry_run:
        print_report(report)
        return
    mapper = Mapper(Tree(root), moved_now, canonical=args.canonical)
    changed = rewrite_all(root, mapper, report, args.dry_run)
    if not args.no_ruff:
        sort_imports(root, changed, report)
    check(root, report)
    print_report(report)
    sys.exit(1 if report.problems else 0)


def print_report(report: Report) -> None:
    sections = [("moved", report.moved), ("already moved", report.skipped),
                ("new packages", report.created),
                ("rewritten files", [f"{k} ({v} lines)" for k, v in report.rewritten.items()]),
                ("imports that followed a name to its new home", report.followed),
                ("modules without a planned place (decide, add to the plan)", report.unplaced),
                ("PROBLEMS (fix by hand)", report.problems)]
    for title, rows in sections:
        print(f"{title}: {len(rows)}")
        for row in rows:
            print(f"  {row}")


if __name__ == "__main__":
    main()
