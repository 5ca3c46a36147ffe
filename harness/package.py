"""``python -m harness package gradescope|student|classroom``: the kit, ready for a platform.

- ``gradescope`` builds the autograder zip described in :mod:`harness.gradescope`: setup
  scripts at the root, the harness, the protocol and the rubric the instructor chose, and
  every grading dependency as a wheel for the Python of Gradescope's Ubuntu images (3.10 on
  22.04, 3.12 on 24.04) and the running one, so that setup installs them with
  ``pip --no-index`` and grading needs no network.  No ``reference/``: grading talks to the
  harness's own peers, never to the model answer.
- ``student`` builds the student edition (a folder and/or a zip): the handout, the
  skeletons, the student docs as plain Markdown, the protocol, a rubric of the visible
  scenarios only and a self-check grader (``check.py`` + ``harness/``) whose scenario
  modules no longer hold the hidden scenarios.  Nothing of ``reference/``, ``tests/``,
  ``bench/`` or the hidden rubric entries (ids and titles) is in it; the build checks that.
- ``classroom`` builds a GitHub Classroom template repository from the student edition:
  the skeletons at its root, the edition in ``.chatlab/``, the workflow in
  ``.github/workflows/classroom.yml``.

The helpers above the targets (kit file lists, grading requirements, wheel vendoring, zip
writing) are shared by every bundle; their names are stable.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import posixpath
import re
import subprocess
import sys
import tempfile
import tokenize
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from harness import __version__, prairielearn, vpl
from harness.bundle import (
    GRADESCOPE_PYTHONS,
    BundleFile,
    PackageError,
    checked_rubric,
    collect_wheels,
    git_commit,
    grading_requirements,
    harness_files,
    kit_files,
    python_versions_for,
    rubric_summary,
    scenario_depends,
    write_folder,
    write_zip,
)
from harness.kit import KIT_ROOT, PROTOCOL_FILE, RUBRIC_FILE, in_checkout
from harness.rubric import RubricEntry, RubricError, load_rubric

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on Python < 3.11 only
    pass

GRADESCOPE_DIR = Path(__file__).with_name("gradescope")
CLASSROOM_DIR = KIT_ROOT / "lab" / "github-classroom"
CLASSROOM_WORKFLOW = CLASSROOM_DIR / "classroom.yml"
STUDENT_DIR = KIT_ROOT / "lab" / "student-edition"
# Python of Gradescope's Ubuntu base images: 22.04 (the default) and 24.04.
# Gradescope runs x86-64 Ubuntu (glibc 2.35+): these wheel platforms all install there.
SCRIPTS = ("setup.sh", "setup_python.sh", "run_autograder")
# 1980-01-01, the earliest zip date: the same inputs give the same bytes.
# Dependencies of instructor-only verbs (similarity of a class): never needed to grade.
# Parts of harness/ no bundle needs at run time.
# The student edition: its top folder in the zip, the folder in a Classroom template.
EDITION_NAME = "chat-lab-student"
CLASSROOM_EDITION = ".chatlab"
STUDENT_DOCS = KIT_ROOT / "docs" / "student"


def register(subparsers: Any) -> None:
    """Add ``package gradescope|student|classroom`` to the harness command line."""
    parser = subparsers.add_parser(
        "package", help="собрать комплект студента или проверку для Gradescope, GitHub Classroom"
    )
    targets = parser.add_subparsers(dest="target", metavar="ПЛАТФОРМА")
    targets.required = True
    register_gradescope(targets)
    register_student(targets)
    register_classroom(targets)

    for bundle in (vpl, prairielearn):
        bundle.register(targets)


# -- Gradescope ----------------------------------------------------------------------------
def register_gradescope(targets: Any) -> None:
    gs = targets.add_parser("gradescope", help="zip-архив автопроверки Gradescope")
    gs.add_argument(
        "--out",
        type=Path,
        default=Path("out/gradescope-autograder.zip"),
        help="куда записать архив (по умолчанию out/gradescope-autograder.zip)",
    )
    gs.add_argument(
        "--rubric", type=Path, default=RUBRIC_FILE, help="рубрика в архиве (lab/rubric.toml)"
    )
    gs.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="X.Y",
        help="версия Python образа, для которой положить колёса (можно несколько; "
        f"по умолчанию {', '.join(GRADESCOPE_PYTHONS)} и текущая)",
    )
    gs.add_argument(
        "--wheelhouse",
        type=Path,
        metavar="DIR",
        help="взять колёса зависимостей из DIR, ничего не скачивая",
    )
    gs.add_argument(
        "--allow-uncontained",
        action="store_true",
        help="проверять и там, где bubblewrap не может изолировать программы студентов "
        "(без ключа такая проверка отказывается работать); results.json скажет, чего не было",
    )
    gs.set_defaults(func=cmd_gradescope)


def build_gradescope(
    out: Path,
    rubric: Path = RUBRIC_FILE,
    python_versions: Iterable[str] = (),
    wheelhouse: Path | None = None,
    allow_uncontained: bool = False,
) -> dict[str, Any]:
    """Write the Gradescope autograder zip to ``out``; returns its ``bundle.json``."""
    entries = checked_rubric(rubric)
    versions = python_versions_for(python_versions)
    with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
        wheels = collect_wheels(versions, wheelhouse, Path(tmp))
        manifest = {
            "kit_version": __version__,
            "kit_commit": git_commit(),
            "rubric": rubric_summary(rubric, entries),
            "allow_uncontained": allow_uncontained,
            "python_versions": versions,
            "requirements": grading_requirements(),
            "wheels": [w.name for w in wheels],
        }
        files = [
            BundleFile(script, (GRADESCOPE_DIR / script).read_bytes(), executable=True)
            for script in SCRIPTS
        ]
        files += [
            BundleFile("requirements.txt", "\n".join(grading_requirements()).encode() + b"\n"),
            BundleFile("bundle.json", json.dumps(manifest, indent=2).encode() + b"\n"),
        ]
        files += [BundleFile(f"wheels/{w.name}", w.read_bytes()) for w in wheels]
        files += [
            BundleFile(name, path.read_bytes(), executable=path.name in SCRIPTS)
            for path, name in kit_files(rubric)
        ]
        write_zip(out, files)
    return manifest


def cmd_gradescope(args: argparse.Namespace) -> int:
    try:
        manifest = build_gradescope(
            args.out, args.rubric, args.python_version, args.wheelhouse, args.allow_uncontained
        )
    except (RubricError, PackageError, OSError, subprocess.CalledProcessError) as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    rubric = manifest["rubric"]
    size = args.out.stat().st_size / 1024 / 1024
    print(
        f"{args.out}: {size:.1f} МБ; рубрика {rubric['source']}: {rubric['scenarios']} "
        f"сценариев, {rubric['points']:g} баллов, скрытых {len(rubric['hidden'])}; "
        f"{len(manifest['wheels'])} колёс для Python {', '.join(manifest['python_versions'])}."
    )
    if manifest["allow_uncontained"]:
        print("--allow-uncontained: проверка пойдёт и там, где bubblewrap не работает.")
    print("Загрузите архив в Gradescope: Configure Autograder → Zip file upload.")
    return 0


# -- the student edition -------------------------------------------------------------------
def _scenario_of(decorator: ast.expr) -> str | None:
    """The id in ``@scenario("id", ...)``, or None for any other decorator."""
    if not isinstance(decorator, ast.Call):
        return None
    func = decorator.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name != "scenario":
        return None
    args = [*decorator.args[:1], *(k.value for k in decorator.keywords if k.arg == "id")]
    first = args[0] if args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _used_names(node: ast.AST) -> set[str]:
    used = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            used.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            used.add(sub.attr)
    return used


def _span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """0-based [start, end) of a top-level statement with its decorators and the comment
    lines right above it."""
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    end = node.end_lineno or node.lineno
    return start, end


def strip_scenarios(source: str, ids: Collection[str], elsewhere: str = "") -> tuple[str, set[str]]:
    """``source`` without the ``@scenario`` functions named in ``ids``, and without the
    top-level helpers and constants only they used (``elsewhere``: the text of the other
    modules, where a helper may still be used).  Returns (new source, ids removed)."""
    removed: set[str] = set()
    suspects: set[str] = set()
    while True:
        tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        spans, names_in_spans = [], set()
        all_defs = {name for node in tree.body for name in _defined_names(node)}
        for node in tree.body:
            decorators = getattr(node, "decorator_list", [])
            sid = next((s for s in map(_scenario_of, decorators) if s), None)
            names = _defined_names(node)
            dead = (
                sid is None
                and names
                and all(n in suspects and not n.startswith("__") for n in names)
                and not any(_used_elsewhere(n, tree, node, elsewhere) for n in names)
            )
            if (sid is not None and sid in ids) or dead:
                spans.append(_span(node, lines))
                names_in_spans |= _used_names(node) & all_defs
                if sid is not None:
                    removed.add(sid)
        if not spans:
            return source, removed
        for start, end in sorted(spans, reverse=True):
            del lines[start:end]
        source = re.sub(r"\n{4,}", "\n\n\n", "".join(lines))
        suspects = names_in_spans


def _used_elsewhere(name: str, tree: ast.Module, definition: ast.stmt, elsewhere: str) -> bool:
    for node in tree.body:
        if node is not definition and name in _used_names(node):
            return True
    return re.search(rf"\b{re.escape(name)}\b", elsewhere) is not None


def visible_rubric_text(text: str, hidden: Collection[str]) -> str:
    """The rubric file's text without its ``[[scenario]]`` blocks whose id is in ``hidden``."""
    blocks = re.split(r"(?m)^(?=\[\[scenario\]\][ \t]*$)", text)
    kept = [blocks[0]]
    for block in blocks[1:]:
        found = re.search(r'(?m)^id\s*=\s*"([^"]+)"', block)
        if not (found and found.group(1) in hidden):
            kept.append(block)
    return "".join(kept)


def _hidden_patterns(hidden: list[RubricEntry]) -> list[re.Pattern[str]]:
    words = [rf"\b{re.escape(e.id)}\b" for e in hidden] + [re.escape(e.title) for e in hidden]
    return [re.compile(w) for w in words]


HIDDEN_WORD = "скрытый сценарий"


def strip_hidden_text(text: str, hidden: list[RubricEntry], example: str = "") -> str:
    """Markdown without the hidden scenarios: a table row about one goes, a hidden id in a
    list of ids goes with its comma, ``--scenario ID`` names ``example`` (a visible one)
    instead, any other mention becomes «скрытый сценарий»."""
    if not hidden:
        return text
    ids = [e.id for e in hidden]
    alone = {f"`{i}`" for i in ids} | set(ids) | {e.title for e in hidden}
    out = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if any(c in alone for c in cells):
                continue
            for i in ids:
                line = re.sub(rf",\s*`{re.escape(i)}`|`{re.escape(i)}`,\s*", "", line)
        for e in hidden:
            if example:
                line = re.sub(rf"--scenario[ =]{re.escape(e.id)}\b", f"--scenario {example}", line)
            line = line.replace(f"`{e.id}`", HIDDEN_WORD).replace(e.title, HIDDEN_WORD)
            line = re.sub(rf"\b{re.escape(e.id)}\b", HIDDEN_WORD, line)
        out.append(line)
    return "".join(out)


def scrub_python(source: str, hidden: list[RubricEntry]) -> str:
    """A harness module whose docstrings and comments no longer name a hidden scenario
    (an example in a docstring, say); code is left as it is."""
    if not hidden or not any(e.id in source or e.title in source for e in hidden):
        return source
    prose: set[int] = set()  # 1-based numbers of the lines that are docstrings or comments
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Expr):
            continue
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            prose.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            prose.add(token.start[0])
    lines = source.splitlines(keepends=True)
    for number in sorted(prose):
        line = lines[number - 1]
        for e in hidden:
            line = line.replace(e.title, "Скрытый сценарий.").replace(e.id, "hidden_scenario")
        lines[number - 1] = line
    return "".join(lines)


# Commands of the kit checkout, as the student edition spells them (check.py, see its README).
EDITION_COMMANDS = (
    (re.compile(r"python3 kit\.py grade "), "python3 check.py "),
    (re.compile(r"python3 kit\.py list"), "python3 check.py --list"),
    (re.compile(r"python3? -m nox -s grade -- "), "python3 check.py "),
    (
        re.compile(r"`python3? -m harness list`( \(после `python3 -m pip install -e \.`[^)]*\))?"),
        "`python3 check.py --list`",
    ),
    (re.compile(r"python3? -m harness grade "), "python3 check.py "),
    (re.compile(r"python3? -m harness list"), "python3 check.py --list"),
)
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}(?P<arg>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*\n?",
    re.M | re.S,
)
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<content>[^`]*)`")
DIRECTIVE_NOTES = {
    "run-output": "*(На сайте курса здесь показан настоящий вывод проверяющей программы.)*\n",
    "terminal-screens": "*(На сайте курса здесь показаны настоящие экраны работающего чата.)*\n",
    "graded-bug": "*(На сайте курса здесь показан настоящий отзыв проверки на программе "
    "с этой ошибкой.)*\n",
}


def edition_commands(text: str) -> str:
    """The kit's self-check commands rewritten for the student edition."""
    for pattern, replacement in EDITION_COMMANDS:
        text = pattern.sub(replacement, text)
    return text


# What only a kit checkout has, once the self-check commands are rewritten (check.py).
KIT_ONLY = re.compile(r"pip install -e|-m nox|pip install nox|kit\.py|\.venv/|-m harness")
KIT_ONLY_BLOCK = re.compile(r"<!-- kit-only -->.*?<!-- /kit-only -->\n?", re.S)
INSTRUCTOR_SECTION = re.compile(r"^(#{1,6}) .*(Для преподавател|Преподавателю)")
EDITION_SETUP = "Как поставить и запускать проверку в этом комплекте — в [README.md]({readme}).\n"


def site_titles(docs: Path = KIT_ROOT / "docs") -> dict[str, str]:
    """Titles on the Sphinx site: ``docs/x/y.md`` -> its first heading, ``label`` -> the
    heading a ``(label)=`` target stands before."""
    titles: dict[str, str] = {}
    for page in sorted(docs.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        first = re.search(r"(?m)^# (.+)$", text)
        if first:
            titles[page.relative_to(KIT_ROOT).as_posix()] = first.group(1).strip()
        for m in re.finditer(r"(?m)^\(([\w-]+)\)=[ \t]*\n+#+ (.+)$", text):
            titles.setdefault(m.group(1), m.group(2).strip())
    return titles


def _blocks(text: str) -> list[str]:
    """Markdown as paragraphs and fenced blocks, each with the blank lines after it."""
    blocks: list[str] = []
    current: list[str] = []
    fence = ""
    for line in text.splitlines(keepends=True):
        mark = re.match(r"\s*(`{3,}|~{3,})", line)
        if fence:
            current.append(line)
            if mark and mark.group(1).startswith(fence):
                fence = ""
            continue
        if mark:
            if current and current[-1].strip():
                blocks.append("".join(current))
                current = []
            fence = mark.group(1)
            current.append(line)
            continue
        if not line.strip() and current and current[-1].strip():
            current.append(line)
            blocks.append("".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("".join(current))
    return blocks


def kit_only_removed(text: str, readme: str) -> str:
    """Markdown of the kit without what holds only in a kit checkout: ``<!-- kit-only -->``
    blocks and sections for the instructor go; a paragraph or code block about installing or
    running the kit itself becomes one pointer to the edition's README."""
    text = KIT_ONLY_BLOCK.sub("", text)
    out: list[str] = []
    dropping = 0  # heading level of an instructor's section being left out
    for block in _blocks(text):
        heading = re.match(r"(#{1,6}) ", block)
        if heading and dropping and len(heading.group(1)) <= dropping:
            dropping = 0
        if dropping:
            continue
        found = INSTRUCTOR_SECTION.match(block)
        if found:
            dropping = len(found.group(1))
            continue
        if not heading and KIT_ONLY.search(block):
            pointer = EDITION_SETUP.format(readme=readme) + "\n"
            if not out or out[-1] != pointer:
                out.append(pointer)
            continue
        out.append(block)
    return "".join(out)


def plain_markdown(
    text: str, doc: str, pages: Collection[str], titles: dict[str, str] | None = None
) -> str:
    """A page of the Sphinx site (MyST) as plain Markdown for the student edition.

    ``doc`` is the page's path in the kit (``docs/student/bugs.md``); ``pages`` the other
    files the edition carries (their kit paths), which links may point to; ``titles`` the
    site's page and section titles (:func:`site_titles`).  Directives that run the kit at
    build time become a note; roles become their text, a relative link or «the title» of
    a page of the site.
    """
    titles = site_titles() if titles is None else titles

    def directive(m: re.Match[str]) -> str:
        return DIRECTIVE_NOTES.get(m["name"], "")

    def role(m: re.Match[str]) -> str:
        kind, content = m["role"], m["content"]
        label, bracket, target = content.partition("<")
        label, target = label.strip(), target.rstrip(">").strip()
        if not bracket:
            label, target = "", content.strip()
        if kind in ("doc", "download"):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(doc), target))
            if kind == "doc" and not path.endswith(".md"):
                path += ".md"
            title = label or titles.get(path, posixpath.basename(target))
            if path in pages:
                rel = posixpath.relpath(_edition_path(path), posixpath.dirname(_edition_path(doc)))
                return f"[{title}]({rel})"
            return f"«{title}»"
        if kind == "ref":
            return f"«{label or titles.get(target, target)}»"
        return f"`{label or content}`"

    text = DIRECTIVE.sub(directive, text)
    return ROLE.sub(role, text)


def _edition_path(kit_path: str) -> str:
    """Where a kit file lands in the edition (``docs/student/x.md`` -> ``docs/x.md``)."""
    if kit_path.startswith("docs/student/"):
        return "docs/" + kit_path[len("docs/student/") :]
    return kit_path


EDITION_DOC_NOTE = (
    "> Страница сайта курса в виде простого текста; названия в «ёлочках» — страницы и разделы "
    "сайта. Проверка в этом комплекте запускается так: `python3 check.py ПАПКА` "
    "(см. [README.md]({readme})).\n\n"
)


def _template(name: str, values: dict[str, str]) -> bytes:
    text = (STUDENT_DIR / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:
        raise PackageError(f"{STUDENT_DIR / name}: нет значения для {leftover.group(0)}")
    return text.encode("utf-8")


def hidden_dependencies(entries: list[RubricEntry]) -> list[str]:
    """Visible scenarios that depend (directly or not) on a hidden one, as sentences."""
    depends = scenario_depends()
    hidden = {e.id for e in entries if e.hidden}
    problems = []
    for e in entries:
        if e.hidden:
            continue
        seen, todo = set(), list(depends.get(e.id, ()))
        while todo:
            dep = todo.pop()
            if dep in seen:
                continue
            seen.add(dep)
            if dep in hidden:
                problems.append(f"{e.id} зависит от скрытого {dep}")
            todo += depends.get(dep, ())
    return problems


def student_edition(
    rubric: Path = RUBRIC_FILE, wheels: Iterable[Path] = (), prefix: str = ""
) -> list[BundleFile]:
    """Every file of the student edition (paths under ``prefix``); checks that none of them
    holds a hidden scenario's id or title or a line of the model answer."""
    if not in_checkout() or not STUDENT_DIR.is_dir():
        raise PackageError("комплект студента собирается только из рабочей копии набора (git)")
    entries = checked_rubric(rubric)
    problems = hidden_dependencies(entries)
    if problems:
        raise PackageError(
            "самопроверка не сможет ставить те же вердикты, что оценка: "
            + "; ".join(problems)
            + ". Сделайте эти сценарии тоже скрытыми или откройте их зависимости."
        )
    hidden = [e for e in entries if e.hidden]
    hidden_ids = {e.id for e in hidden}
    visible = [e for e in entries if not e.hidden]
    if not visible:
        raise PackageError(f"{rubric}: все сценарии скрыты, самопроверке нечего проверять")
    files: list[BundleFile] = []

    def add(name: str, data: bytes, executable: bool = False) -> None:
        files.append(BundleFile(prefix + name, data, executable))

    # The self-check grader: the harness, its hidden scenarios taken out.
    sources = {p: p.read_text(encoding="utf-8") for p in harness_files() if p.suffix == ".py"}
    stripped: set[str] = set()
    for path in harness_files():
        rel = path.relative_to(KIT_ROOT).as_posix()
        if rel.startswith("harness/gradescope/"):
            continue  # the Gradescope side of its own bundle
        data = path.read_bytes()
        if rel.startswith("harness/scenarios/") and path.suffix == ".py":
            elsewhere = "\n".join(text for p, text in sources.items() if p != path)
            text, removed = strip_scenarios(sources[path], hidden_ids, elsewhere)
            stripped |= removed
            data = text.encode("utf-8")
        elif path.suffix == ".py":
            data = scrub_python(sources[path], hidden).encode("utf-8")
        add(rel, data)
    if stripped != hidden_ids:
        missing = ", ".join(sorted(hidden_ids - stripped))
        raise PackageError(f"не нашёл в harness/scenarios/ функций скрытых сценариев: {missing}")

    visible_text = visible_rubric_text(rubric.read_text(encoding="utf-8"), hidden_ids)
    check = load_rubric_text(visible_text)
    if [e.id for e in check] != [e.id for e in visible]:
        raise PackageError(f"{rubric}: не удалось убрать из рубрики скрытые сценарии")
    add("lab/rubric.toml", visible_text.encode("utf-8"))
    add("lab/protocol.json", PROTOCOL_FILE.read_bytes())

    example = next((e.id for e in visible if e.id == "server_private"), visible[0].id)

    def markdown(text: str, name: str) -> bytes:
        text = edition_commands(strip_hidden_text(text, hidden, example))
        readme = posixpath.relpath("README.md", posixpath.dirname(name))
        return kit_only_removed(text, readme).encode("utf-8")

    handout = (KIT_ROOT / "lab" / "README.md").read_text(encoding="utf-8")
    add("lab/README.md", markdown(handout, "lab/README.md"))
    exercises = KIT_ROOT / "exercises"
    for path in sorted(exercises.iterdir()):
        if path.is_file() and path.suffix in (".py", ".md"):
            name = f"exercises/{path.name}"
            data = path.read_bytes()
            if path.suffix == ".md":
                data = markdown(data.decode("utf-8"), name)
            add(name, data)
    pages = sorted(STUDENT_DOCS.glob("*.md"))
    page_names = {p.relative_to(KIT_ROOT).as_posix() for p in pages} | {"lab/README.md"}
    titles = site_titles()
    for page in pages:
        kit_path = page.relative_to(KIT_ROOT).as_posix()
        text = plain_markdown(page.read_text(encoding="utf-8"), kit_path, page_names, titles)
        note = EDITION_DOC_NOTE.format(readme="../README.md").encode("utf-8")
        add(_edition_path(kit_path), note + markdown(text, _edition_path(kit_path)))

    points = sum(e.points for e in visible)
    values = {
        "example_scenario": example,
        "scenarios": str(len(visible)),
        "points": f"{points:g}",
        "kit_version": __version__,
    }
    add("README.md", _template("README.md", values))
    add("check.py", _template("check.py", {}), executable=True)
    add("requirements.txt", "\n".join(grading_requirements()).encode() + b"\n")
    add("LICENSE", (KIT_ROOT / "LICENSE").read_bytes())
    wheel_list = list(wheels)
    for wheel in wheel_list:
        add(f"wheels/{wheel.name}", wheel.read_bytes())
    manifest = {
        "kit_version": __version__,
        "kit_commit": git_commit(),
        "rubric_sha256": hashlib.sha256(visible_text.encode("utf-8")).hexdigest(),
        "scenarios": len(visible),
        "points": points,
        "wheels": [w.name for w in wheel_list],
    }
    add("edition.json", json.dumps(manifest, indent=2).encode() + b"\n")
    leaks = edition_leaks(files, hidden)
    if leaks:
        raise PackageError("в комплект студента попало бы скрытое: " + "; ".join(leaks[:10]))
    return files


def load_rubric_text(text: str) -> list[RubricEntry]:
    """:func:`load_rubric` of a rubric given as text."""
    with tempfile.TemporaryDirectory(prefix="rubric-") as tmp:
        path = Path(tmp) / "rubric.toml"
        path.write_text(text, encoding="utf-8")
        return load_rubric(path)


def reference_lines(minimum: int = 30) -> set[str]:
    """Lines of the model answer that neither the skeletons nor the harness have (its
    solutions), stripped.  A line the grader itself has (say, the handout's name rule that
    its scripted server applies too) is a protocol fact, not the answer."""

    def lines(paths: Iterable[Path]) -> set[str]:
        return {
            line.strip() for path in paths for line in path.read_text(encoding="utf-8").splitlines()
        }

    solution = lines(sorted((KIT_ROOT / "reference").glob("*.py")))
    solution -= lines(sorted((KIT_ROOT / "exercises").glob("*.py")))
    solution -= lines(p for p in harness_files() if p.suffix == ".py")
    return {line for line in solution if len(line) >= minimum and not line.startswith("#")}


def edition_leaks(files: Iterable[BundleFile], hidden: list[RubricEntry]) -> list[str]:
    """Where ``files`` name a hidden scenario or hold a line of the model answer."""
    patterns = _hidden_patterns(hidden)
    answer = reference_lines()
    leaks = []
    for f in files:
        if f.name.endswith(".whl"):
            continue
        text = f.data.decode("utf-8", errors="replace")
        for pattern in patterns:
            if pattern.search(text):
                leaks.append(f"{f.name}: {pattern.pattern}")
        if "/reference/" in f"/{f.name}" or "/tests/" in f"/{f.name}" or "/bench/" in f"/{f.name}":
            leaks.append(f"{f.name}: файл набора преподавателя")
        for line in text.splitlines():
            if line.strip() in answer:
                leaks.append(f"{f.name}: строка эталона «{line.strip()[:60]}»")
                break
    return leaks


def register_student(targets: Any) -> None:
    st = targets.add_parser(
        "student",
        help="комплект студента: условие, заготовки, самопроверка без эталона и скрытых сценариев",
    )
    st.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="записать комплект в папку DIR (новую или пустую)",
    )
    st.add_argument("--zip", type=Path, metavar="FILE", help="записать комплект zip-архивом")
    st.add_argument(
        "--rubric",
        type=Path,
        default=RUBRIC_FILE,
        help="рубрика, из которой берутся открытые сценарии (lab/rubric.toml)",
    )
    st.add_argument(
        "--wheelhouse",
        type=Path,
        metavar="DIR",
        help="положить в комплект колёса зависимостей из DIR (самопроверка без интернета)",
    )
    st.set_defaults(func=cmd_student)


def build_student(
    out: Path | None = None,
    zip_path: Path | None = None,
    rubric: Path = RUBRIC_FILE,
    wheelhouse: Path | None = None,
) -> dict[str, Any]:
    """Write the student edition to the folder ``out`` and/or the zip ``zip_path`` (whose
    files sit under ``chat-lab-student/``); returns its ``edition.json``."""
    if out is None and zip_path is None:
        raise PackageError("укажите --out ПАПКА и/или --zip ФАЙЛ")
    wheels = sorted(wheelhouse.glob("*.whl")) if wheelhouse else []
    if wheelhouse and not wheels:
        raise PackageError(f"в {wheelhouse} нет колёс (*.whl)")
    files = student_edition(rubric, wheels)
    if out is not None:
        write_folder(out, files)
    if zip_path is not None:
        write_zip(zip_path, files, prefix=f"{EDITION_NAME}/")
    manifest = json.loads(next(f.data for f in files if f.name == "edition.json"))
    assert isinstance(manifest, dict)
    return manifest


def cmd_student(args: argparse.Namespace) -> int:
    try:
        manifest = build_student(args.out, args.zip, args.rubric, args.wheelhouse)
    except (RubricError, PackageError, OSError) as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    where = [str(p) for p in (args.out, args.zip) if p is not None]
    print(
        f"Комплект студента: {' и '.join(where)}; {manifest['scenarios']} открытых сценариев, "
        f"{manifest['points']:g} баллов; без эталона и скрытых сценариев."
    )
    if not manifest["wheels"]:
        print("Самопроверке при первом запуске нужен доступ к PyPI (--wheelhouse кладёт колёса).")
    return 0


# -- GitHub Classroom ----------------------------------------------------------------------
def register_classroom(targets: Any) -> None:
    gh = targets.add_parser(
        "classroom", help="репозиторий-шаблон GitHub Classroom из комплекта студента"
    )
    gh.add_argument(
        "--out",
        type=Path,
        default=Path("out/classroom"),
        help="папка репозитория-шаблона (новая или пустая; по умолчанию out/classroom)",
    )
    gh.add_argument(
        "--rubric",
        type=Path,
        default=RUBRIC_FILE,
        help="рубрика: в шаблон попадут только её открытые сценарии (lab/rubric.toml)",
    )
    gh.set_defaults(func=cmd_classroom)


def classroom_template(rubric: Path = RUBRIC_FILE) -> list[BundleFile]:
    """Every file of the Classroom template repository: the skeletons at its root, the
    student edition in ``.chatlab/``, the workflow and what the workflow runs."""
    edition = student_edition(rubric, prefix=f"{CLASSROOM_EDITION}/")
    files = list(edition)
    for f in edition:
        if f.name.startswith(f"{CLASSROOM_EDITION}/exercises/") and f.name.endswith(".py"):
            files.append(BundleFile(posixpath.basename(f.name), f.data))
    files += [
        BundleFile(".github/workflows/classroom.yml", CLASSROOM_WORKFLOW.read_bytes()),
        BundleFile(
            f"{CLASSROOM_EDITION}/grade.sh",
            (CLASSROOM_DIR / "grade.sh").read_bytes(),
            executable=True,
        ),
        BundleFile("README.md", (CLASSROOM_DIR / "template-README.md").read_bytes()),
        BundleFile(".gitignore", b".chatlab/.venv/\nchat-lab-report/\n__pycache__/\n"),
    ]
    return files


def cmd_classroom(args: argparse.Namespace) -> int:
    try:
        files = classroom_template(args.rubric)
        write_folder(args.out, files)
    except (RubricError, PackageError, OSError) as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: репозиторий-шаблон ({len(files)} файлов): server.py и client.py в корне, "
        f"комплект студента в {CLASSROOM_EDITION}/, workflow в .github/workflows/classroom.yml."
    )
    print("Опубликуйте папку как репозиторий-шаблон (см. lab/github-classroom/README.md).")
    return 0
