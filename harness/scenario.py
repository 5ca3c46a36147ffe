"""The API scenarios are written against (check50 style): ``@scenario`` and its registry.

A scenario is a function ``f(ctx)`` registered with :func:`scenario`.  Its docstring is the
sentence the student sees.  It records what it is doing with ``ctx.step("…")`` and fails by
raising :class:`~harness.verdict.Fail` (expected / got / hint / screen): the report shows the
first failing step.  Any other exception is a harness error, not the student's fault.

::

    @scenario("server_broadcast", depends=("server_register",))
    def server_broadcast(ctx: Context) -> None:
        \"\"\"Общее сообщение доходит до всех, кроме отправителя.\"\"\"
        server = ctx.server()
        alice = ctx.probe(server, "Alice")
        ...

What ``ctx`` offers is :class:`harness.context.Context`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.context import Context

DEFAULT_TIMEOUT = 8.0


@dataclass
class Scenario:
    """A registered scenario."""

    id: str
    func: Callable[[Context], None]
    depends: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    @property
    def description(self) -> str:
        """The student-facing sentence (the docstring's first paragraph)."""
        doc = inspect.getdoc(self.func) or self.id
        return " ".join(doc.split("\n\n")[0].split())


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    id: str, depends: Iterable[str] = (), timeout: float = DEFAULT_TIMEOUT
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register ``f(ctx)`` as the scenario ``id`` (the id in ``lab/rubric.toml``)."""

    def register(func: Callable[[Context], None]) -> Callable[[Context], None]:
        if id in SCENARIOS:
            raise ValueError(f"scenario {id!r} registered twice")
        if not inspect.getdoc(func):
            raise ValueError(f"scenario {id!r} needs a docstring: it is what the student sees")
        SCENARIOS[id] = Scenario(id=id, func=func, depends=tuple(depends), timeout=timeout)
        return func

    return register
