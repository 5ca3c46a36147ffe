"""``python -m harness load``: simulate many chat users against a server and measure it.

What runs where:

- the **main process** starts the server (the reference by default) on port 0, waits for its
  ready line, samples its RSS, thread count and CPU from ``/proc/<pid>/`` and shows progress;
- **user workers** (``--workers`` processes, one selector loop each, non-blocking sockets)
  connect and register the N users, read everything every user receives and count the chat
  messages by the sequence numbers in their text (``L<sender>:<seq>``); the first S users
  also send, at ``--rate`` messages/s in total or flat out;
- one **probe worker** holds the P probe users, who broadcast ``P<probe>:<seq>:<ns>`` a few
  times per second and measure, on receipt of each other's messages, the latency; it also
  holds the users that never read (``--stuck``, for the slow-reader test).

Every broadcast must reach the N-1 other users: whatever did not arrive once the senders
stopped and the queues drained is reported as lost. Flat-out senders keep at most a bounded
number of messages in flight (checked against a receiver in the same worker), so a run ends
soon after the senders stop. Every wait has a deadline; the run stops by itself.

Modules, each importing only those above it:

- ``procs``    — the server under test (:func:`~harness.load.procs.serve`), the open-file
  limit, ending a child process, :class:`~harness.load.procs.LoadError`;
- ``worker``   — the simulated users: one worker process's selector loop (the hot path);
- ``fleet``    — the worker processes, the commands to them, the reports they send;
- ``stats``    — percentiles and the timeline from time-stamped reports (pure functions);
- ``sampling`` — ``/proc`` samples of the server and the live progress point;
- ``run``      — one load run (:func:`~harness.load.run.run_load`) and its results;
- ``charts``   — SVG (or PNG) charts of runs;
- ``cli``      — the ``load`` verb, its progress bar and summary table.
"""

from harness.load.cli import register

__all__ = ["register"]
