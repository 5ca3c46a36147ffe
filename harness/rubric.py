"""The grading rubric (``lab/rubric.toml``): which scenarios count, for how much, where."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

from harness.kit import RUBRIC_FILE

TARGET_FILES = {
    "server": ("server.py",),
    "client": ("client.py",),
    "both": ("server.py", "client.py"),
}


@dataclass(frozen=True)
class RubricEntry:
    """One graded scenario as the instructor configured it."""

    id: str
    title: str
    points: float
    part: int
    target: str
    hidden: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        """Files of the submission this scenario grades."""
        return TARGET_FILES.get(self.target, ())


class RubricError(ValueError):
    """The rubric file is malformed."""


def load_rubric(path: Path | None = None) -> list[RubricEntry]:
    """Read a rubric file (default ``lab/rubric.toml``) in file order."""
    path = path or RUBRIC_FILE
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"не удалось прочитать рубрику {path}: {exc}") from exc
    entries = []
    seen: set[str] = set()
    for raw in data.get("scenario", []):
        try:
            entry = RubricEntry(
                id=str(raw["id"]),
                title=str(raw["title"]),
                points=float(raw["points"]),
                part=int(raw["part"]),
                target=str(raw["target"]),
                hidden=bool(raw.get("hidden", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RubricError(f"{path}: неполная запись {raw!r}: {exc}") from exc
        if entry.target not in TARGET_FILES:
            raise RubricError(f"{path}: {entry.id}: неизвестный target {entry.target!r}")
        if entry.id in seen:
            raise RubricError(f"{path}: сценарий {entry.id} указан дважды")
        seen.add(entry.id)
        entries.append(entry)
    return entries


def select(
    rubric: list[RubricEntry], ids: Iterable[str] = (), parts: Iterable[int] = ()
) -> list[RubricEntry]:
    """The rubric entries chosen by ``--scenario`` ids and ``--part`` numbers (all if none)."""
    ids, parts = set(ids), set(parts)
    unknown = ids - {e.id for e in rubric}
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    return [e for e in rubric if (not ids or e.id in ids) and (not parts or e.part in parts)]
