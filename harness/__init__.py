"""Grading harness for the chat lab: real processes, raw-socket probes, terminal screens.

Layout (what each module is for), leaves first; a module imports only modules above it,
so the import graph is a tree (``tests/harness/test_structure.py`` checks it):

Facts and verdicts (standard library only, plus jsonschema for ``protocol``):

- ``verdict``    — ``Fail``, ``Skip``, statuses, ``ScenarioResult``, ``Finding``, ``GradeReport``.
- ``kit``        — where the kit's files are (a checkout, or the copy inside an installed wheel).
- ``pythons``    — other Python interpreters on this machine (nox uses it too).
- ``protocol``   — ``lab/protocol.json``: limits, codes, display contract, message schemas.
- ``rubric``     — ``lab/rubric.toml``: the graded scenarios, their points and parts.
- ``transcript`` — capped, timestamped, printable logs of processes and connections.

Containment and the tools scenarios use (built by ``context`` from plain values):

- ``netns``      — a private loopback-only network per scenario.
- ``sandbox``    — what a student program sees: bubblewrap, a uid, rlimits, stdlib-only Python.
- ``process``    — started programs and the student's server (where it really listens).
- ``wire``       — reading NDJSON, and what students send instead (no ``\\n``, glued objects).
- ``probe``      — raw-socket protocol client; markers that prove absence.
- ``proxy``      — fault-injecting TCP relay (splits, coalesces, cuts UTF-8 characters).
- ``peer``       — the harness as the chat server, scripted, for grading clients.
- ``terminal``   — a program in a real pty, rendered by pyte.
- ``screen``     — the display contract and the waits on what a client's screen shows.
- ``context``    — ``Context``: one scenario's tools, transcripts and cleanup.
- ``scenario``   — ``@scenario`` and the registry.
- ``scenarios``  — the scenarios themselves (``server``, ``client``, ``end_to_end``).
- ``diagnose``   — the start-up check of each program that heads the scorecard.
- ``runner``     — runs scenarios (dependencies, concurrency, timeouts, repeats) into a report.

Reports and tools that read them (they never import the runner, the sandbox or scenarios):

- ``diagram``    — sequence diagrams (SVG) of a wire exchange, for reports and the docs.
- ``report``     — scorecard, JSON, JUnit, Gradescope and HTML renderings of a report.
- ``roster``     — which folder of a class is which student, and where their programs are.
- ``gradebook``  — a class's gradebook rows: each student's status, score and reason.
- ``similarity`` — similarity of a class's programs, the skeletons not counted.
- ``classpage``  — the one-file HTML page of a class.
- ``classroom``  — GitHub Classroom's autograding reporter output.

Command line:

- ``cliargs``    — options and errors every verb shares.
- ``cli``        — ``python -m harness grade|list`` and the verbs below.
- ``batch``, ``flake``, ``package``, ``skeleton``, ``bench``, ``load`` — one verb each.
- ``bundle``     — what every bundle is made of: kit files, requirements, wheels, zips.
- ``gradescope`` — the Gradescope side of its bundle.
- ``offline``    — the payload of the bundles that install nothing (the harness, wheels per
  Python, ``boot.py``) and what their run sides share.
- ``vpl``        — ``package vpl`` (Moodle VPL) and its run side in the jail.
- ``prairielearn`` — ``package prairielearn`` (external grading) and its run side.
"""

__version__ = "0.1.0"
