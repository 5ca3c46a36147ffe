"""Grading harness for the chat lab: real processes, raw-socket probes, terminal screens.

Layout (what each module is for):

- ``kit``       — paths of the kit and the machine-readable protocol (``lab/protocol.json``).
- ``rubric``    — reads ``lab/rubric.toml``.
- ``sandbox``   — containment of student code: temp copies, rlimits, uids, network isolation.
- ``process``   — started programs with capped timestamped transcripts; the server wrapper.
- ``probe``     — raw-socket NDJSON client that validates every message it receives.
- ``proxy``     — fault-injecting TCP proxy (splits, coalesces, delays, cuts UTF-8 characters).
- ``scenario``  — ``@scenario``, ``Fail``, ``Context``: the API scenarios are written against.
- ``runner``    — runs scenarios (dependencies, concurrency, timeouts, repeats) into a report.
- ``report``    — scorecard, JSON, JUnit, Gradescope and HTML renderings of a report.
- ``cli``       — ``python -m harness grade|list`` and the other verbs' modules.
- ``batch``     — ``batch``: a class in parallel, gradebook CSV, class summary, resumable.
- ``flake``     — ``flake``: the reference graded many times under CPU load, no failure allowed.
- ``scenarios`` — the scenarios themselves (``server``, ``client``, ``end_to_end``).
"""

__version__ = "0.1.0"
