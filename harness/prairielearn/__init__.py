"""``python -m harness package prairielearn``: an externally graded PrairieLearn question.

``--out DIR`` receives a piece of a course repository, to copy into the course::

    serverFilesCourse/chatlab/    the offline payload (:mod:`harness.offline`) as files,
                                  with run.sh, the question's entrypoint
    questions/chatlab/info.json   the question, with its externalGradingOptions
    questions/chatlab/question.html   upload server.py and client.py, show the results
    README.md                     for the instructor (Russian)

PrairieLearn copies ``serverFilesCourse/chatlab/`` into the grading container as
``/grade/serverFilesCourse/chatlab/`` and runs ``run.sh`` there, which grades
``/grade/student/`` with :mod:`harness.prairielearn.runtime` into
``/grade/results/results.json`` (:mod:`harness.prairielearn.results`).
"""

from __future__ import annotations

import argparse
import html
import json
import uuid
from pathlib import Path
from typing import Any

from harness.kit import RUBRIC_FILE
from harness.offline.options import add_options, built, summary

HERE = Path(__file__).resolve().parent
BUNDLE_NAME = "chatlab"
DEFAULT_IMAGE = "prairielearn/grader-python"
DEFAULT_TIMEOUT = 300  # seconds; PrairieLearn allows at most 600
MAX_TIMEOUT = 600
UUID_NAMESPACE = uuid.UUID("6f1b3f52-8f1e-4c55-9f38-0d5a3c1a7e21")  # the kit's, fixed


def register(targets: Any) -> None:
    """Add ``package prairielearn`` to ``package``'s subcommands."""
    parser = targets.add_parser(
        "prairielearn", help="вопрос PrairieLearn с внешней проверкой (external grading)"
    )
    add_options(parser, "out/prairielearn", "образа проверки")
    parser.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help=f"Docker-образ проверки (по умолчанию {DEFAULT_IMAGE})",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"предел времени проверки в PrairieLearn, с (по умолчанию {DEFAULT_TIMEOUT}, "
        f"не больше {MAX_TIMEOUT})",
    )
    parser.add_argument(
        "--question", default=BUNDLE_NAME, help=f"имя папки вопроса (по умолчанию {BUNDLE_NAME})"
    )
    parser.set_defaults(func=cmd_prairielearn)


def info_json(question: str, image: str, timeout: int) -> dict[str, Any]:
    """The question's ``info.json``."""
    return {
        "uuid": str(uuid.uuid5(UUID_NAMESPACE, question)),
        "title": "Многопользовательский TCP-чат",
        "topic": "Сети: сокеты и потоки",
        "tags": ["chat-lab", "python", "socket", "threading"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "serverFilesCourse": [f"{BUNDLE_NAME}/"],
            "entrypoint": f"/grade/serverFilesCourse/{BUNDLE_NAME}/run.sh",
            "timeout": timeout,
            "enableNetworking": False,
        },
    }


def question_html(points: float) -> str:
    """Upload both programs; the harness's results after each submission."""
    return (
        (HERE / "question.html")
        .read_text(encoding="utf-8")
        .replace("@POINTS@", html.escape(f"{points:g}"))
    )


def build_prairielearn(
    out: Path,
    rubric: Path = RUBRIC_FILE,
    python_versions: list[str] | tuple[str, ...] = (),
    wheelhouse: Path | None = None,
    allow_uncontained: bool = False,
    image: str = DEFAULT_IMAGE,
    timeout: int = DEFAULT_TIMEOUT,
    question: str = BUNDLE_NAME,
) -> dict[str, Any]:
    """Write the course piece to ``out``; returns the payload's manifest."""
    from harness.bundle import BundleFile, PackageError, write_folder
    from harness.offline.build import build_payload

    if not 10 <= timeout <= MAX_TIMEOUT:
        raise PackageError(f"--timeout: от 10 до {MAX_TIMEOUT} с, получено {timeout}")
    if not question or "/" in question or question.startswith("."):
        raise PackageError(f"--question: имя папки, получено {question!r}")
    settings = {
        "platform": "prairielearn",
        "allow_uncontained": allow_uncontained,
        "timeout": timeout,
    }
    payload = build_payload(rubric, python_versions, wheelhouse, settings)
    payload.add("run.sh", (HERE / "run.sh").read_bytes(), executable=True)
    info = info_json(question, image, timeout)
    points = payload.manifest["rubric"]["points"]
    files = [
        *(
            BundleFile(f"serverFilesCourse/{BUNDLE_NAME}/{f.name}", f.data, f.executable)
            for f in payload.files
        ),
        BundleFile(
            f"questions/{question}/info.json",
            (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode(),
        ),
        BundleFile(f"questions/{question}/question.html", question_html(points).encode()),
        BundleFile("README.md", (HERE / "README.md").read_bytes()),
    ]
    write_folder(out, files)
    return payload.manifest


def cmd_prairielearn(args: argparse.Namespace) -> int:
    manifest = built(
        lambda: build_prairielearn(
            args.out,
            args.rubric,
            args.python_version,
            args.wheelhouse,
            args.allow_uncontained,
            args.image,
            args.timeout,
            args.question,
        )
    )
    if manifest is None:
        return 2
    print(
        f"{args.out}: serverFilesCourse/{BUNDLE_NAME}/, questions/{args.question}/, README.md; "
        f"образ {args.image}; {summary(manifest)}"
    )
    print("Скопируйте обе папки в репозиторий курса PrairieLearn и синхронизируйте курс.")
    return 0
