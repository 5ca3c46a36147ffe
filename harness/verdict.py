"""Verdicts and the report they make up: plain data, standard library only.

Everything that judges a submission raises or builds these; everything that shows a grade
(the report renderers, the class tools, the bundles) reads them.  Nothing here imports the
rest of the harness, so reading a ``report.json`` never loads the runner, the sandbox or
the scenarios.

- :class:`Fail` — the submission did something wrong (expected / got / hint / screen);
- :class:`Skip` — the scenario cannot run, for a reason that is not a failure;
- the statuses (``PASSED`` … ``FLAKY``);
- :class:`ScenarioResult` — the verdict on one scenario;
- :class:`Finding` — what the start-up check found about a program before any scenario;
- :class:`GradeReport` — all verdicts for one submission (JSON-ready both ways).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


def printable(text: str) -> str:
    """``text`` with control characters shown as symbols (ESC as ␛, NUL as ␀, DEL as ␡).

    Newlines and tabs stay.  Everything a submission printed passes through this before it
    reaches a report, so no escape sequence reaches a terminal and no XML/HTML is broken.
    Lone surrogates (undecodable bytes) become U+FFFD.
    """
    text = text.replace("\r\n", "\n")
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0x80 <= code < 0xA0 or 0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
TIMED_OUT = "timed_out"
ERROR = "error"
FLAKY = "flaky"


class Fail(Exception):
    """The submission did something wrong: what was expected, what happened, what to do."""

    def __init__(self, expected: str, got: str = "", hint: str = "", screen: str | None = None):
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.hint = hint
        self.screen = screen


class Skip(Exception):
    """The scenario cannot run for a reason that is not a failure (e.g. a missing file)."""


@dataclass
class ScenarioResult:
    """The verdict on one scenario (JSON-ready)."""

    id: str
    title: str
    description: str
    points: float
    max_points: float
    part: int
    target: str
    hidden: bool
    status: str
    duration: float = 0.0
    reason: str = ""  # why skipped / timed out / errored
    step: str = ""
    expected: str = ""
    got: str = ""
    hint: str = ""
    screen: str | None = None
    runs: list[str] = field(default_factory=list)
    unblocks: bool = False  # dependents may run (passed, or failed after the part they need)
    transcripts: dict[str, str] = field(default_factory=dict)
    wire: list[dict[str, Any]] = field(default_factory=list)  # the exchange, for diagrams

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Finding:
    """One thing the start-up check found about a program, in the student's terms."""

    program: str  # "server.py" or "client.py"
    problem: str  # what is wrong
    detail: str = ""  # the evidence: exit code, stderr tail, where it listens
    hint: str = ""  # what to do

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class GradeReport:
    """All verdicts for one submission."""

    submission: str
    results: list[ScenarioResult]
    duration: float
    started_at: str
    repeat: int = 1
    harness_version: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeReport:
        results = [ScenarioResult.from_dict(r) for r in data["results"]]
        findings = [Finding.from_dict(f) for f in data.get("findings", [])]
        keys = ("submission", "duration", "started_at", "repeat", "harness_version", "environment")
        return cls(results=results, findings=findings, **{k: data[k] for k in keys if k in data})
