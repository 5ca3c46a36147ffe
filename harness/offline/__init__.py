"""The harness as plain files for platforms that install nothing: Moodle VPL, PrairieLearn.

A VPL jail is a copy of its host's root (whatever Python it has, maybe no pip, no venv,
no network); a PrairieLearn grading container has no network and a Python of its own.  Both
bundles carry the same *payload*, built here::

    boot.py          standard-library entry point (see :mod:`harness.offline.boot`)
    harness/         the harness package (every module, no __pycache__)
    lab/protocol.json, lab/rubric.toml (the rubric the instructor chose), LICENSE
    wheels/          the grading dependencies as wheels, resolved by pip for each Python
    bundle.json      what was bundled: kit version and commit, rubric, the wheel list of
                     every Python version, the platform's settings

No ``reference/``: grading talks to the harness's own peers, never to the model answer.
Only what grading imports is bundled (pexpect, pyte, jsonschema and what they need): the
scorecard's rich and the similarity check's copydetect stay out.

Build side (:mod:`harness.offline.build`, run by ``python -m harness package vpl`` and
``package prairielearn``): ``build_payload`` resolves the wheels with ``pip download``
once per Python version (from the package index, or from ``--wheelhouse DIR`` without
network) and returns the files.  Run side: ``boot.py`` unpacks the wheels of the running
Python and starts ``harness.vpl.runtime`` or ``harness.prairielearn.runtime``;
:mod:`harness.offline.runtime` and :mod:`harness.offline.feedback` hold what both share.
"""
