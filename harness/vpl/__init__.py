"""``python -m harness package vpl``: the execution files of a Moodle VPL activity.

``--out DIR`` receives what the instructor uploads as the activity's *execution files*::

    vpl_run.sh        "Run": the student's server on a free port, their client in the console
    vpl_evaluate.sh   "Evaluate": unpacks chatgrade.zip into .chatgrade/, writes vpl_execution
    chatgrade.zip     the offline payload (:mod:`harness.offline`): harness, protocol, the
                      chosen rubric, wheels for every bundled Python, bundle.json; no reference
    README.md         for the instructor (Russian): VPL settings, first run, what to check
    bundle.json       the payload's manifest, to see what was bundled without unzipping

In the jail, ``vpl_execution`` runs :mod:`harness.vpl.runtime`, which grades the
submission and prints the comments and the ``Grade :=>>`` line (:mod:`harness.vpl.feedback`).
Build-time settings travel in ``bundle.json``: ``--allow-uncontained`` (a jail that forbids
namespaces, as a chroot does, cannot run bubblewrap: without this the bundle refuses to
grade there) and ``--result-limit`` (the jail's ``RESULT_MAX_SIZE``, 32 KiB by default).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.kit import RUBRIC_FILE
from harness.offline.options import add_options, built, summary

HERE = Path(__file__).resolve().parent
SCRIPTS = ("vpl_run.sh", "vpl_evaluate.sh")
ZIP_NAME = "chatgrade.zip"
DEFAULT_RESULT_LIMIT_KIB = 32


def register(targets: Any) -> None:
    """Add ``package vpl`` to ``package``'s subcommands."""
    parser = targets.add_parser(
        "vpl", help="файлы для выполнения задания Moodle VPL (Virtual Programming Lab)"
    )
    add_options(parser, "out/vpl", "песочницы VPL")
    parser.add_argument(
        "--result-limit",
        type=int,
        default=DEFAULT_RESULT_LIMIT_KIB,
        metavar="KIB",
        help="предел вывода проверки в сервере VPL (RESULT_MAX_SIZE), КиБ; по умолчанию 32",
    )
    parser.set_defaults(func=cmd_vpl)


def run_script() -> str:
    """``vpl_run.sh`` with the protocol's ready-line pattern filled in."""
    from harness.protocol import protocol

    pattern = protocol()["transport"]["ready_line_regex"]
    text = (HERE / "vpl_run.sh").read_text(encoding="utf-8")
    return text.replace("@READY_LINE_REGEX@", json.dumps(pattern))


def build_vpl(
    out: Path,
    rubric: Path = RUBRIC_FILE,
    python_versions: list[str] | tuple[str, ...] = (),
    wheelhouse: Path | None = None,
    allow_uncontained: bool = False,
    result_limit_kib: int = DEFAULT_RESULT_LIMIT_KIB,
) -> dict[str, Any]:
    """Write the VPL execution files to ``out``; returns the payload's manifest."""
    from harness.bundle import BundleFile, PackageError, write_folder, write_zip
    from harness.offline.build import build_payload

    if not 4 <= result_limit_kib <= 1024 * 1024:
        raise PackageError(f"--result-limit ждёт размер в КиБ, получено {result_limit_kib}")
    settings = {
        "platform": "vpl",
        "allow_uncontained": allow_uncontained,
        "result_limit": result_limit_kib * 1024,
    }
    payload = build_payload(rubric, python_versions, wheelhouse, settings)
    manifest = json.dumps(payload.manifest, indent=2) + "\n"
    evaluate = (HERE / "vpl_evaluate.sh").read_text(encoding="utf-8")
    files = [
        BundleFile("vpl_run.sh", run_script().encode(), executable=True),
        BundleFile("vpl_evaluate.sh", evaluate.encode(), executable=True),
        BundleFile("README.md", (HERE / "README.md").read_bytes()),
        BundleFile("bundle.json", manifest.encode()),
    ]
    write_folder(out, files)
    write_zip(out / ZIP_NAME, payload.files)
    return payload.manifest


def cmd_vpl(args: argparse.Namespace) -> int:
    manifest = built(
        lambda: build_vpl(
            args.out,
            args.rubric,
            args.python_version,
            args.wheelhouse,
            args.allow_uncontained,
            args.result_limit,
        )
    )
    if manifest is None:
        return 2
    size = (args.out / ZIP_NAME).stat().st_size / 1024 / 1024
    files = f"{', '.join(SCRIPTS)}, {ZIP_NAME} ({size:.1f} МБ), README.md"
    print(f"{args.out}: {files}; {summary(manifest)}")
    print(
        "Загрузите vpl_run.sh, vpl_evaluate.sh и chatgrade.zip в файлы для выполнения "
        "(Execution files) задания VPL; настройки — в README.md."
    )
    return 0
