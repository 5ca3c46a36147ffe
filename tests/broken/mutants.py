"""Broken submissions as data: small, realistic bugs applied to the reference.

Each :class:`Mutant` replaces one exact snippet of ``reference/<file>`` (it must occur there
exactly once, so a change of the reference fails loudly instead of silently testing
nothing) and names the scenarios that must lose their points.  Every other graded scenario
must keep its full points.  ``may_lose`` lists scenarios where the same bug shows only when
timing exposes it (e.g. two messages that TCP happens to deliver in one ``recv()``); they
are neither required to fail nor to pass (``"*"``: any scenario).

Server mutants (ids ``server_*``) live here.  Client mutants (ids ``client_*``) live in
``client_mutants.py`` beside this file (owned by the client-harness work), as a
``CLIENT_MUTANTS`` list of dicts with the same keys (``loses`` may be one id) or a
``MUTANTS`` list of :class:`Mutant`; ``test_mutants.py`` loads both files (the second one
if present).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # "server.py" or "client.py" in reference/
    old: str  # exact snippet of the reference, found exactly once
    new: str  # what replaces it
    loses: tuple[str, ...]  # scenarios that must lose points
    why: str = ""  # the bug, as a student would make it
    may_lose: tuple[str, ...] = ()  # scenarios where the bug shows only by chance


MUTANTS: list[Mutant] = [
    Mutant(
        id="server_echo_to_sender",
        file="server.py",
        why="the broadcast loop forgets to skip the sender",
        old="""            if receiver is not sender:
""",
        new="""            if True:  # the sender gets it too
""",
        loses=("server_broadcast",),
    ),
    Mutant(
        id="server_private_to_all",
        file="server.py",
        why="a private message is sent to every other user, not just its target",
        old="""        if target is not None:
            target.send("private", from_username=self.username, message=text)""",
        new="""        if target is not None:
            for user in self.server.user_tuple:
                if user is not self:
                    user.send("private", from_username=self.username, message=text)""",
        # Two scenarios grade privacy: the server's own, and the whole chat end to end.
        loses=("server_private", "end_to_end"),
    ),
    Mutant(
        id="server_no_leave_notice",
        file="server.py",
        why="a user who leaves is removed silently",
        old="""                others = self.user_tuple
""",
        new="""                others = ()  # nobody is told
""",
        loses=(
            "server_join_leave",
            "server_disconnect",
            "server_slow_reader",
            "server_ping_timeout",
        ),
    ),
    Mutant(
        id="server_wrong_leave_counter",
        file="server.py",
        why="the leave notice counts the user who just left",
        old="""                online = len(self.users)
                others = self.user_tuple""",
        new="""                online = len(self.users) + 1
                others = self.user_tuple""",
        loses=("server_join_leave",),
    ),
    Mutant(
        id="server_recv_1024_framing",
        file="server.py",
        why="one recv(1024) is taken to be exactly one message",
        old="""                data = self.sock.recv(self.recv_bytes)
            except BlockingIOError:  # readiness was a false alarm: wait again
                continue
            if not data:
                return None
            self._buffer += data""",
        new="""                data = self.sock.recv(1024)
            except BlockingIOError:  # readiness was a false alarm: wait again
                continue
            if not data:
                return None
            if data.strip():
                return data.strip()  # one recv() is one message""",
        loses=("server_framing", "server_bad_input", "server_slow_reader"),
        # Whether two messages share one recv() is up to TCP and the machine's load, so on a
        # busy machine any scenario that sends two lines in a row may catch this bug too.
        may_lose=("*",),
    ),
    Mutant(
        id="server_decode_each_chunk",
        file="server.py",
        why="every recv() chunk is decoded on its own, so a split UTF-8 character breaks",
        old="""            self._buffer += data""",
        new="""            self._buffer += data.decode("utf-8", "replace").encode("utf-8")""",
        loses=("server_framing",),
    ),
    Mutant(
        id="server_reject_as_accept",
        file="server.py",
        why="any answer to a session request is taken as yes",
        old="""        accepted = bool_field(message, "accepted")""",
        new="""        accepted = bool_field(message, "accepted") or True""",
        loses=("server_session_reject",),
    ),
    Mutant(
        id="server_blocking_send_under_lock",
        file="server.py",
        why="the broadcast does a blocking sendall() to each user while holding the lock",
        old="""        for receiver in receivers:
            if receiver is not sender:
                receiver.outbox.send(data, batch)""",
        new="""        with self.lock:  # held while sending: one slow reader blocks everyone
            for receiver in receivers:
                if receiver is not sender:
                    receiver.sock.setblocking(True)
                    receiver.sock.sendall(data)""",
        loses=("server_slow_reader",),
    ),
    Mutant(
        id="server_crash_on_bad_json",
        file="server.py",
        why="json.loads is not guarded: a bad line kills the connection",
        old="""        try:
            message = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # not UTF-8 / not JSON
            message = None""",
        new="""        message = json.loads(line.decode("utf-8"))""",
        loses=("server_bad_input",),
    ),
    Mutant(
        id="server_case_sensitive_names",
        file="server.py",
        why="names are compared as typed, so Alice and alice are both accepted",
        old="""    return unicodedata.normalize("NFC", name).casefold()""",
        new="""    return name""",
        # One comparison serves three rules: unique names, private and session targets.
        loses=("server_duplicate_names", "server_private", "server_session_accept"),
    ),
    Mutant(
        id="server_no_timestamp",
        file="server.py",
        why="server messages carry no timestamp",
        old="""    message["timestamp"] = timestamp()""",
        new="""    pass""",
        loses=("server_timestamps",),
    ),
    Mutant(
        id="server_users_sorted",
        file="server.py",
        why="the users list is sorted by name instead of join order",
        old="""            return [handler.username for handler in self.user_tuple]""",
        new="""            return sorted(handler.username for handler in self.user_tuple)""",
        loses=("server_users_list",),
    ),
    Mutant(
        id="server_never_pings",
        file="server.py",
        why="a silent client is dropped without ever being pinged",
        old="""            self.outbox.send(encode_line("ping"))""",
        new="""            pass""",
        loses=("server_ping_timeout",),
    ),
    Mutant(
        id="server_no_shutdown_notice",
        file="server.py",
        why="Ctrl+C closes the connections without the shutdown notice",
        old="""        goodbye = system_line("shutdown", len(users))
""",
        new="""        goodbye = b""  # nobody is told
""",
        loses=("server_shutdown",),
    ),
    Mutant(
        id="server_utc_timestamps",
        file="server.py",
        why="timestamps in UTC instead of the server's local time",
        old="""    return datetime.now().strftime(""",
        new="""    return datetime.utcnow().strftime(""",
        loses=("server_timestamps",),
    ),
    Mutant(
        id="server_counts_connections",
        file="server.py",
        why="online_users counts every connection, registered or not",
        old="""                online = len(self.users)
                handler.outbox.queue(""",
        new="""                online = len(self.connections)
                handler.outbox.queue(""",
        loses=("server_join_leave",),
    ),
    Mutant(
        id="server_join_sent_to_newcomer",
        file="server.py",
        why="the join notice goes to the new user too",
        old="""                others = self.user_tuple[:-1]""",
        new="""                others = self.user_tuple""",
        loses=("server_join_leave",),
    ),
    Mutant(
        id="server_welcome_counter_off",
        file="server.py",
        why="the welcome counts the new user twice",
        old="""system_line("welcome", online,""",
        new="""system_line("welcome", online + 1,""",
        loses=("server_register", "server_join_leave"),
    ),
    Mutant(
        id="server_welcome_without_name",
        file="server.py",
        why="the welcome text does not name the user (registration itself works)",
        old=""""welcome": "Добро пожаловать в чат, {}!",""",
        new=""""welcome": "Добро пожаловать в чат!",""",
        loses=("server_register",),
    ),
]
