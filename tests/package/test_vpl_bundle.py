"""The Moodle VPL bundle: its output format, its files, and real runs the way VPL runs it.

The runs put the bundle's files and a submission in one folder with a
``vpl_environment.sh``, run ``bash vpl_evaluate.sh``, then ``./vpl_execution`` as the
session leader of a root-owned pty (see :func:`offline_helpers.run_as_vpl`), and read the
output as Moodle does: the grade is the last ``Grade :=>>`` line, the comments are the
``<|--``…``--|>`` block, ``-`` starts a title and ``>`` a preformatted line.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from offline_helpers import (
    EXERCISES,
    INJECTIONS,
    RUNNING,
    SMALL_RUBRIC,
    build,
    copy_programs,
    hostile_copy,
    noisy_nothing,
    nothing,
    open_folder,
    package,
    run_as_vpl,
    scratch,
    vpl_comments,
    vpl_grade,
    vpl_kinds,
    vpl_lines,
    vpl_task,
    wheels_of,
)
from package_helpers import KIT, REFERENCE

from harness.offline import boot
from harness.offline import feedback as fb
from harness.verdict import FAILED, PASSED, SKIPPED, Finding, GradeReport, ScenarioResult
from harness.vpl import feedback as vf

HOSTILE_TEXT = re.compile(r"Grade :=>>|Comment :=>>|<\|--|--\|>|Итог: 100 из 100|␛|␀|␍|␇|␈")


def result(i: int, status: str, text: str = "", hidden: bool = False) -> ScenarioResult:
    return ScenarioResult(
        id=f"s{i}",
        title=f"Сценарий {i} (с кириллицей)",
        description=f"Что проверяет сценарий {i}.",
        points=4.0 if status == PASSED else 0.0,
        max_points=4.0,
        part=1,
        target="server",
        hidden=hidden,
        status=status,
        reason=text if status == SKIPPED else "",
        step=text,
        expected="сообщение welcome",
        got=text,
        hint=text,
        screen=text or None,
    )


def hostile_report(count: int = 3, text: str = "\n".join(INJECTIONS)) -> GradeReport:
    results = [result(0, PASSED)] + [result(i, FAILED, text) for i in range(1, count)]
    results.append(result(count, SKIPPED, text, hidden=True))
    return GradeReport(
        submission="s",
        results=results,
        duration=1.0,
        started_at="",
        environment={"python": "Python 3 (python3), только стандартная библиотека"},
        findings=[Finding("server.py", text, detail=text, hint=text)],
    )


def comment_kinds(output: str) -> list[tuple[str, str]]:
    return vpl_kinds(vpl_comments(output))


# -- the output format ---------------------------------------------------------------------
def test_student_text_reaches_the_comments_only_as_preformatted_lines() -> None:
    output = vf.render(hostile_report(), low=0, high=10)
    assert vpl_grade(output) == "2.5"  # 4 of 16 points (the hidden one counts) on 0..10
    lines = vpl_lines(output)
    assert [line for line in lines if line.startswith("Grade :=>>")] == ["Grade :=>> 2.5"]
    assert lines[-2:] == ["Grade :=>> 2.5", ""]
    assert not [line for line in lines if line.startswith("Comment :=>>")]
    assert [line.strip() for line in lines].count("<|--") == 1
    assert [line.strip() for line in lines].count("--|>") == 1
    kinds = comment_kinds(output)
    hostile = [(kind, line) for kind, line in kinds if HOSTILE_TEXT.search(line)]
    assert hostile, "the injections must be shown, as preformatted lines"
    assert {kind for kind, _ in hostile} == {"pre"}, hostile
    assert re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", output.replace("\r\n", "")) is None


def test_every_failed_scenario_shows_step_expected_got_hint_as_vpl_reads_them() -> None:
    report = hostile_report(text="шаг регистрации")
    kinds = comment_kinds(vf.render(report, low=0, high=10))
    titles = [text for kind, text in kinds if kind == "title"]
    assert "✗ Сценарий 1 (с кириллицей) — 0 из 4 баллов" in titles
    start = kinds.index(("title", "✗ Сценарий 1 (с кириллицей) — 0 из 4 баллов"))
    section = kinds[start + 1 : start + 12]
    for label in ("Шаг:", "Ожидалось:", "Получено:", "Подсказка:"):
        at = section.index(("text", label))
        assert section[at + 1][0] == "pre"
    assert not [t for t in titles if t.endswith(")")], "a title ending in (N) is a grade reduction"


def test_hidden_scenarios_are_counted_but_never_named() -> None:
    report = hostile_report()
    report.results[1].reason = f"не пройден сценарий «{report.results[-1].title}»"
    report.results[1].status = SKIPPED
    output = vf.render(report, low=0, high=10)
    assert "Сценарий 3" not in output
    assert "Скрытые сценарии (подробности — после срока сдачи): пройдено 0 из 1" in output


@pytest.mark.parametrize(("low", "high", "expected"), [(0, 10, "5"), (2, 5, "3.5"), (0, 100, "50")])
def test_the_grade_is_scaled_to_the_activity_range(low: int, high: int, expected: str) -> None:
    report = GradeReport("s", [result(0, PASSED), result(1, FAILED)], 1.0, "")
    assert vpl_grade(vf.render(report, low=low, high=high)) == expected


def test_long_feedback_is_cut_at_whole_lines_within_the_limit_with_a_note() -> None:
    report = hostile_report(count=60, text="\n".join(["длинная строка вывода " * 8] * 30))
    full = vf.render(report, low=0, high=10, limit=10**9)
    cut = vf.render(report, low=0, high=10)
    assert len(cut.encode()) <= vf.DEFAULT_LIMIT - vf.MARGIN
    assert vpl_grade(cut) == vpl_grade(full) == "0.16"
    full_lines = set(vpl_lines(full))
    shown = vpl_lines(cut)[:-4]  # the note, the block's end, the grade line, ""
    assert all(line in full_lines for line in shown), "a line was cut in the middle"
    assert "отзыв сокращён" in vpl_lines(cut)[-4]
    assert "Как проверялось" in cut, "the containment statement comes before the details"


def test_plain_lines_that_vpl_would_read_as_markup_are_defused() -> None:
    for line in ("-минус", " >x", "--|>", "<|--", "Grade :=>> 9", "Comment :=>> y"):
        [kind] = vpl_kinds(vpl_comments("<|--\r\n" + vf.text(line) + "\r\n--|>\r\n"))
        assert kind[0] == "text", line
    assert vf.title("Итог (5)").endswith(vf.GUARD)


def test_boot_names_the_python_versions_the_bundle_lacks() -> None:
    with pytest.raises(boot.BundleError, match="--python-version"):
        boot.wheels_for_this_python({"wheels": {"2.7": []}})
    assert boot.wheels_for_this_python({"wheels": {RUNNING: ["x-1-py3-none-any.whl"]}})


def test_points_words_follow_russian_grammar() -> None:
    assert [fb.out_of(0, n) for n in (1, 2, 5, 11, 21, 2.5)] == [
        "0 из 1 балла",
        "0 из 2 баллов",
        "0 из 5 баллов",
        "0 из 11 баллов",
        "0 из 21 балла",
        "0 из 2.5 балла",
    ]


# -- the bundle ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    with scratch("chatlab-vpl-") as folder:
        yield folder


@pytest.fixture
def tmp(workspace: Path, request: pytest.FixtureRequest) -> Path:
    """A folder of this test in the module's private workspace."""
    folder = workspace / request.node.name.replace("/", "_")
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def bundle(workspace: Path) -> Path:
    """The full-rubric bundle for the running Python (wheels from the package index)."""
    out = workspace / "bundle"
    build("vpl", out)
    return out


@pytest.fixture(scope="module")
def wheelhouse(bundle: Path, workspace: Path) -> Path:
    return wheels_of(bundle, workspace / "wheelhouse")


@pytest.fixture(scope="module")
def small_bundles(wheelhouse: Path, workspace: Path) -> dict[str, Path]:
    """Three-scenario bundles: allowed to grade uncontained, and not."""
    rubric = workspace / "small.toml"
    rubric.write_text(SMALL_RUBRIC, encoding="utf-8")
    out = {}
    for name, extra in (("allowed", ["--allow-uncontained"]), ("strict", [])):
        folder = workspace / f"small-{name}"
        build("vpl", folder, "--rubric", str(rubric), "--wheelhouse", str(wheelhouse), *extra)
        out[name] = folder
    return out


@pytest.mark.slow
def test_bundle_holds_the_vpl_files_and_the_offline_grader_without_the_answer(
    bundle: Path,
) -> None:
    assert sorted(p.name for p in bundle.iterdir()) == [
        "README.md",
        "bundle.json",
        "chatgrade.zip",
        "vpl_evaluate.sh",
        "vpl_run.sh",
    ]
    for script in ("vpl_run.sh", "vpl_evaluate.sh"):
        assert (bundle / script).stat().st_mode & 0o111
        assert subprocess.run(["bash", "-n", str(bundle / script)]).returncode == 0
    assert "@READY_LINE_REGEX@" not in (bundle / "vpl_run.sh").read_text()
    with zipfile.ZipFile(bundle / "chatgrade.zip") as archive:
        names = archive.namelist()
        rubric = archive.read("lab/rubric.toml")
        manifest: dict[str, Any] = __import__("json").loads(archive.read("bundle.json"))
    assert rubric == (KIT / "lab" / "rubric.toml").read_bytes()
    assert {"boot.py", "harness/vpl/runtime.py", "lab/protocol.json"} <= set(names)
    assert not [n for n in names if n.startswith("reference/") or "__pycache__" in n]
    assert not [n for n in names if "/rich-" in n or "copydetect" in n]
    wheels = manifest["wheels"][RUNNING]
    for name in ("pexpect", "ptyprocess", "pyte", "jsonschema", "referencing", "rpds_py"):
        assert any(w.startswith(f"{name}-") for w in wheels), name
    assert all(f"wheels/{w}" in names for w in wheels)
    assert manifest["settings"] == {
        "platform": "vpl",
        "allow_uncontained": False,
        "result_limit": 32 * 1024,
    }


def test_bundle_refuses_a_rubric_naming_a_scenario_the_harness_lacks(tmp_path: Path) -> None:
    rubric = tmp_path / "typo.toml"
    rubric.write_text(SMALL_RUBRIC.replace("server_register", "server_regster"))
    done = package("vpl", "--out", str(tmp_path / "out"), "--rubric", str(rubric))
    assert done.returncode == 2 and "server_regster" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_reference_gets_the_maximum_grade(bundle: Path, tmp: Path) -> None:
    task = vpl_task(tmp / "task", bundle, REFERENCE)
    compiled, output = run_as_vpl(task)
    assert compiled == "", "a good bundle prints nothing at compilation"
    assert vpl_grade(output) == "10", output[-3000:]
    assert vpl_lines(output)[-2:] == ["Grade :=>> 10", ""]
    comments = "\n".join(vpl_comments(output))
    assert "Итог: 100 из 100 баллов — оценка 10 из 10" in comments
    assert "Пройдено сценариев: 27 из 27." in comments


@pytest.mark.slow
def test_skeleton_gets_its_low_grade_with_step_expected_got_hint(bundle: Path, tmp: Path) -> None:
    task = vpl_task(tmp / "task", bundle, EXERCISES, grade_range=(2, 12))
    _, output = run_as_vpl(task)
    grade = vpl_grade(output)
    assert grade is not None and 2 <= float(grade) <= 3, output[-3000:]  # under 10 %
    kinds = comment_kinds(output)
    failed = [i for i, (kind, text) in enumerate(kinds) if kind == "title" and text.startswith("✗")]
    assert failed, "no failed scenario in the comments"
    section = kinds[failed[0] + 1 : (failed[1:] or [len(kinds)])[0]]
    for label in ("Шаг:", "Ожидалось:", "Получено:", "Подсказка:"):
        at = section.index(("text", label))
        assert section[at + 1][0] == "pre", (label, section)


@pytest.mark.slow
def test_printed_grade_lines_earn_nothing_even_uncontained_as_the_jail_user(
    small_bundles: dict[str, Path], tmp: Path
) -> None:
    """As the jail's unprivileged user, without bubblewrap: the programs spray grade lines
    on stdout, stderr, /dev/tty, every pty and every stream under /proc, and into their
    protocol replies.  The last grade line is still the harness's, and no higher than
    the grade of the same program printing harmless text, or of doing nothing."""
    bundle = small_bundles["allowed"]
    grades: dict[str, float] = {}
    outputs: dict[str, str] = {}
    for name, make in (
        ("hostile", lambda d: hostile_copy(d, hostile=True)),
        ("twin", lambda d: hostile_copy(d, hostile=False)),
        ("noisy", noisy_nothing),
        ("nothing", nothing),
    ):
        task = vpl_task(tmp / name, bundle, make(tmp / f"{name}-src"), (0, 100))
        open_folder(task, owner="nobody")
        _, output = run_as_vpl(task, user="nobody", env={"CHATGRADE_SANDBOX": "off"})
        lines = vpl_lines(output)
        assert [line for line in lines if line.startswith("Grade :=>>")] == [lines[-2]], output
        assert "\x1b" not in output and "\x00" not in output
        grade = vpl_grade(output)
        assert grade is not None, output
        grades[name] = float(grade)
        outputs[name] = output
    assert grades["twin"] > 0, outputs["twin"][-2000:]
    assert grades["hostile"] <= grades["twin"], outputs["hostile"]
    assert grades["noisy"] <= grades["nothing"] == 0
    kinds = comment_kinds(outputs["hostile"])
    shown = [(kind, text) for kind, text in kinds if HOSTILE_TEXT.search(text)]
    assert shown and {kind for kind, _ in shown} == {"pre"}, shown
    comments = "\n".join(vpl_comments(outputs["hostile"]))
    assert "НЕ изолированы" in comments and "без изоляции" in comments


@pytest.mark.slow
def test_a_grading_cut_short_by_vpl_maxtime_still_gives_a_grade_and_says_why(
    bundle: Path, tmp: Path
) -> None:
    # VPL_MAXTIME 16 s leaves the grading 1 s: the report must come before VPL's kill.
    task = vpl_task(tmp / "task", bundle, REFERENCE, maxtime=16)
    _, output = run_as_vpl(task, timeout=60)
    grade = vpl_grade(output)
    assert grade is not None and float(grade) < 10, output[-3000:]
    assert "не проверен: проверке не хватило времени" in "\n".join(vpl_comments(output))


@pytest.mark.slow
def test_without_allow_uncontained_it_refuses_to_grade_and_says_why(
    small_bundles: dict[str, Path], tmp: Path
) -> None:
    task = vpl_task(tmp / "task", small_bundles["strict"], REFERENCE)
    _, output = run_as_vpl(task, env={"CHATGRADE_SANDBOX": "off"})
    assert vpl_grade(output) is None, "no grade is proposed"
    comments = "\n".join(vpl_comments(output))
    assert "Проверка не выполнена: нет изоляции" in comments
    assert "--allow-uncontained" in comments and "bubblewrap" in comments


@pytest.mark.slow
def test_a_broken_bundle_explains_itself_without_a_grade(bundle: Path, tmp: Path) -> None:
    task = vpl_task(tmp / "task", bundle, REFERENCE)
    (task / "chatgrade.zip").write_bytes(b"not a zip")
    _, output = run_as_vpl(task)
    assert vpl_grade(output) is None
    assert "chatgrade.zip не распаковался" in "\n".join(vpl_comments(output))


@pytest.mark.slow
def test_run_starts_the_server_and_the_client_in_the_console(bundle: Path, tmp: Path) -> None:
    import pexpect

    task = copy_programs(REFERENCE, tmp / "task")
    for name in ("vpl_run.sh",):
        (task / name).write_bytes((bundle / name).read_bytes())
    subprocess.run(["bash", "vpl_run.sh"], cwd=task, check=True, timeout=30)
    child = pexpect.spawn(str(task / "vpl_execution"), cwd=str(task), encoding="utf-8", timeout=20)
    try:
        child.expect("Сервер запущен на 127.0.0.1:")
        child.expect("Введите имя")
        child.sendline("Вера")
        child.expect("Вера")
        child.sendline("/quit")
        child.expect("Клиент завершился, сервер остановлен")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    log = (task / "server.log").read_text(encoding="utf-8")
    assert "Сервер запущен на 127.0.0.1:" in log
