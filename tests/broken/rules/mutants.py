"""One broken program per rule of the handout: the mutants that lab/traceability.toml names.

Each :class:`RuleMutant` is the reference (``reference/<file>``) with the smallest change that
breaks one rule the way a student would.  The change is data: ``edits`` are (old, new) text
replacements applied when the test runs, each ``old`` found exactly once in the current
reference, so a mutant never drifts from the reference (a change of the reference that
removes the snippet fails loudly).  A row of ``lab/traceability.toml`` names its mutant in
``mutant = "<id>"``; several rows may share one mutant when one bug breaks them together.

tests/broken/test_rules.py grades each mutant on the scenarios of its program and checks
that it fails at the step of each of its rows and keeps full points everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RuleMutant:
    id: str  # "server_..." or "client_...": the program it breaks
    file: str  # "server.py" or "client.py" in reference/
    why: str  # the bug, as a student would make it
    edits: tuple[tuple[str, str], ...]  # (old, new): old occurs exactly once in the reference


def edit(old: str, new: str) -> tuple[tuple[str, str], ...]:
    return ((old, new),)


def mutated(mutant: RuleMutant, reference: Path) -> str:
    """The text of the mutated file; AssertionError if an ``old`` is not there exactly once."""
    text = (reference / mutant.file).read_text(encoding="utf-8")
    for old, new in mutant.edits:
        count = text.count(old)
        assert count == 1, (
            f"{mutant.id}: a snippet occurs {count} times in reference/{mutant.file} "
            f"(update the mutant to the current reference): {old[:80]!r}"
        )
        text = text.replace(old, new)
    return text


def write_submission(mutant: RuleMutant, reference: Path, folder: Path) -> Path:
    """A submission in ``folder``: the reference's programs, ``mutant.file`` mutated."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("server.py", "client.py"):
        source = reference / name
        if source.is_file():
            text = mutated(mutant, reference) if name == mutant.file else source.read_text("utf-8")
            (folder / name).write_text(text, encoding="utf-8")
    return folder


SERVER: list[RuleMutant] = [
    # -- the process (§2, §5.11) -----------------------------------------------------------
    RuleMutant(
        id="server_ready_line_asked_port",
        file="server.py",
        why="the ready line repeats the port it was given (0), not the one the OS chose",
        edits=edit(
            """"Сервер запущен на {}".format(server.address_text)""",
            """"Сервер запущен на {}:{}".format(args.host, args.port)""",
        ),
    ),
    RuleMutant(
        id="server_fixed_port",
        file="server.py",
        why="--port is parsed but the server always binds the assignment's 8083",
        edits=edit(
            """            (args.host, args.port),
            register_timeout=args.register_timeout,""",
            """            (args.host, 8083),  # "Порт: 8083"
            register_timeout=args.register_timeout,""",
        ),
    ),
    RuleMutant(
        id="server_logs_to_stdout",
        file="server.py",
        why="the log goes to stdout, after the ready line",
        edits=edit("        stream=stderr,\n", "        stream=stdout,\n"),
    ),
    RuleMutant(
        id="server_busy_port_traceback",
        file="server.py",
        why="a busy port prints the error line, then re-raises it: a Traceback follows",
        edits=edit(
            """            file=stderr,
        )
        return 1
""",
            """            file=stderr,
        )
        raise  # to see the details
""",
        ),
    ),
    RuleMutant(
        id="server_sigint_uncaught",
        file="server.py",
        why="only SIGTERM gets a handler: Ctrl+C ends in a KeyboardInterrupt traceback",
        edits=edit('for name in ("SIGINT", "SIGTERM"):', 'for name in ("SIGTERM",):'),
    ),
    RuleMutant(
        id="server_ignores_sigterm",
        file="server.py",
        why="only Ctrl+C stops the server cleanly: SIGTERM kills it with no goodbye",
        edits=edit('for name in ("SIGINT", "SIGTERM"):', 'for name in ("SIGINT",):'),
    ),
    # -- framing (§5.1) --------------------------------------------------------------------
    RuleMutant(
        id="server_registration_one_recv",
        file="server.py",
        why="the registration is read with one recv(): whatever it returns is the name line",
        edits=edit(
            """            if not data:
                return None
            self._buffer += data
""",
            """            if not data:
                return None
            if not getattr(self, "registered", False):  # the first recv() is the name
                self.registered = True
                return data.strip()
            self._buffer += data
""",
        ),
    ),
    RuleMutant(
        id="server_decode_each_chunk",
        file="server.py",
        why="every recv() chunk is decoded on its own, so a UTF-8 character cut in two breaks",
        edits=edit(
            "            self._buffer += data\n",
            '            self._buffer += data.decode("utf-8", "replace").encode("utf-8")\n',
        ),
    ),
    RuleMutant(
        id="server_first_line_of_chunk",
        file="server.py",
        why="only the first line of what recv() returned is handled, the rest is dropped",
        edits=edit(
            "            del self._buffer[: end + 1]\n",
            "            del self._buffer[:]  # the rest of the chunk is lost\n",
        ),
    ),
    RuleMutant(
        id="server_keeps_cr",
        file="server.py",
        why='the "\\r" of "\\r\\n" stays and only a truly empty line is skipped',
        edits=edit(
            """            if line.endswith(b"\\r"):
                line = line[:-1]
            if len(line) > self.max_line_bytes:
                raise LineTooLong()
            if line.strip():
                return line
""",
            """            if len(line) > self.max_line_bytes:
                raise LineTooLong()
            if line:
                return line
""",
        ),
    ),
    RuleMutant(
        id="server_empty_lines_parsed",
        file="server.py",
        why="empty lines are parsed like any other line (and get invalid_json)",
        edits=edit(
            """            if line.strip():
                return line
""",
            """            return line
""",
        ),
    ),
    RuleMutant(
        id="server_escapes_kept_literal",
        file="server.py",
        why="backslashes are doubled before json.loads, so \\uXXXX stays six characters",
        edits=edit(
            """            message = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):""",
            """            message = json.loads(line.decode("utf-8").replace("\\\\", "\\\\\\\\"))
        except (UnicodeDecodeError, ValueError, RecursionError):""",
        ),
    ),
    RuleMutant(
        id="server_no_newline",
        file="server.py",
        why="server messages are sent as JSON objects back to back, without \\n",
        edits=edit(
            """    return (text + "\\n").encode("utf-8")""",
            """    return text.encode("utf-8")""",
        ),
    ),
    RuleMutant(
        id="server_registration_exact_fields",
        file="server.py",
        why="a registration with any field but username is refused",
        edits=edit(
            """        if "type" in message:
            self.error("not_registered",""",
            """        if set(message) != {"username"}:
            self.error("not_registered",""",
        ),
    ),
    RuleMutant(
        id="server_ascii_json",
        file="server.py",
        why="json.dumps without ensure_ascii=False: Cyrillic goes out as \\uXXXX",
        edits=edit(
            "json.dumps(message, ensure_ascii=False, allow_nan=False,",
            "json.dumps(message, allow_nan=False,",
        ),
    ),
    RuleMutant(
        id="server_line_limit_on_complete_lines",
        file="server.py",
        why="the length limit is checked on complete lines only, not on a tail without \\n",
        edits=edit(
            """                # +1: the line may still end with "\\r\\n", """
            """and the "\\r" does not count.
                if len(self._buffer) > self.max_line_bytes + 1:
                    raise LineTooLong()
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_too_long_is_fatal",
        file="server.py",
        why="message_too_long closes the connection (sent as a fatal error)",
        edits=edit(
            """            self.error("message_too_long",""",
            """            self.fail("message_too_long",""",
        ),
    ),
    RuleMutant(
        id="server_text_not_stripped",
        file="server.py",
        why="the text is checked as sent: a message of spaces is not empty",
        edits=edit(
            """        text = text_field(message, "message").strip()""",
            """        text = text_field(message, "message")""",
        ),
    ),
    RuleMutant(
        id="server_array_is_invalid_message",
        file="server.py",
        why="only unparsable lines are invalid_json; a JSON array goes on as a message",
        edits=edit(
            """        if not isinstance(message, dict):
            self.error("invalid_json",""",
            """        if message is None:
            self.error("invalid_json",""",
        ),
    ),
    RuleMutant(
        id="server_truthy_accepted",
        file="server.py",
        why='"accepted" is read as truthy: "да" counts as an answer',
        edits=edit(
            """    if not isinstance(value, bool):
        raise BadMessage("поле «{}» должно быть true или false".format(name))""",
            """    if value is None:
        raise BadMessage("поле «{}» должно быть true или false".format(name))""",
        ),
    ),
    RuleMutant(
        id="server_unknown_type_ignored",
        file="server.py",
        why="a message of an unknown type is dropped without an answer",
        edits=edit(
            """        if method is None:
            self.error("unknown_type", "Неизвестный тип сообщения: {}".format(message_type))
            return""",
            """        if method is None:
            return  # not ours: ignore it""",
        ),
    ),
    RuleMutant(
        id="server_reregistration_is_fatal",
        file="server.py",
        why="a second registration is answered already_registered and the connection closed",
        edits=edit(
            """                self.error("already_registered",""",
            """                self.fail("already_registered",""",
        ),
    ),
    # -- registration (§5.2) ---------------------------------------------------------------
    RuleMutant(
        id="server_not_registered_silent",
        file="server.py",
        why="a message before the registration is dropped without not_registered",
        edits=edit(
            """        if "type" in message:
            self.error("not_registered", 'Сначала зарегистрируйтесь: {"username": "ИМЯ"}')
            return False""",
            """        if "type" in message:
            return False  # not registered yet: ignore it""",
        ),
    ),
    RuleMutant(
        id="server_welcome_count_without_newcomer",
        file="server.py",
        why="the welcome counts the users who were there before the newcomer",
        edits=edit(
            """system_line("welcome", online,""",
            """system_line("welcome", online - 1,""",
        ),
    ),
    RuleMutant(
        id="server_names_unlimited",
        file="server.py",
        why="names of any length are accepted",
        edits=edit(
            """USERNAME_RE = re.compile(r"[\\w.\\-]{1,32}")""",
            """USERNAME_RE = re.compile(r"[\\w.\\-]+")""",
        ),
    ),
    RuleMutant(
        id="server_taken_check_case_sensitive",
        file="server.py",
        why="a name is taken only when spelled the same: Alice and alice both get in",
        edits=edit(
            """                if key in self.users:
                    return False""",
            """                if any(user.username == name for user in self.users.values()):
                    return False""",
        ),
    ),
    RuleMutant(
        id="server_names_not_normalized",
        file="server.py",
        why="the name is put in NFC only to check its letters, then compared as sent: "
        "Zoë and Zoe+¨ are two users",
        edits=(
            (
                """    return unicodedata.normalize("NFC", name).casefold()""",
                """    return name.casefold()""",
            ),
            (
                """        name = unicodedata.normalize("NFC", text_field(message, "username"))
        if not USERNAME_RE.fullmatch(name):""",
                """        name = text_field(message, "username")
        if not USERNAME_RE.fullmatch(unicodedata.normalize("NFC", name)):""",
            ),
        ),
    ),
    RuleMutant(
        id="server_name_check_race",
        file="server.py",
        why="the name is checked and taken in two holds of the lock, with work in between",
        edits=edit(
            """        with self.membership_lock:
            with self.lock:
                if key in self.users:
                    return False
""",
            """        with self.lock:
            taken = key in self.users
        time.sleep(0.5)  # stands for the work done between the check and the take
        if taken:
            return False
        with self.membership_lock:
            with self.lock:
""",
        ),
    ),
    RuleMutant(
        id="server_taken_name_closes",
        file="server.py",
        why="username_taken is sent as a fatal error: the client cannot try another name",
        edits=edit(
            """            self.error("username_taken",""",
            """            self.fail("username_taken",""",
        ),
    ),
    RuleMutant(
        id="server_no_join_notice",
        file="server.py",
        why="the others are not told that someone joined",
        edits=edit(
            """            self._announce(others, system_line("join", online, username=name))
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_no_registration_timeout",
        file="server.py",
        why="a connection may stay unregistered forever",
        edits=edit(
            """            if server.register_timeout > 0:
                return self.connected_at + server.register_timeout
            return None""",
            """            return None""",
        ),
    ),
    # -- what the server does with each message (§5.3, §5.4) --------------------------------
    RuleMutant(
        id="server_echo_to_sender",
        file="server.py",
        why="the broadcast loop forgets to skip the sender",
        edits=edit(
            """            if receiver is not sender:
                receiver.outbox.send(data, batch)""",
            """            receiver.outbox.send(data, batch)""",
        ),
    ),
    RuleMutant(
        id="server_broadcast_skips_sessions",
        file="server.py",
        why="users in a private session do not get general messages",
        edits=edit(
            """            if receiver is not sender:
                receiver.outbox.send(data, batch)""",
            """            if receiver is not sender and receiver.key not in self.sessions:
                receiver.outbox.send(data, batch)""",
        ),
    ),
    RuleMutant(
        id="server_broadcast_to_connections",
        file="server.py",
        why="chat messages go to every connection, registered or not",
        edits=edit(
            """        with self.lock:
            receivers = self.user_tuple
""",
            """        with self.lock:
            receivers = tuple(self.connections)
""",
        ),
    ),
    RuleMutant(
        id="server_private_to_all",
        file="server.py",
        why="a private message is sent to every other user, not just its target",
        edits=edit(
            """        if target is not None:
            target.send("private", from_username=self.username, message=text)""",
            """        if target is not None:
            for user in self.server.user_tuple:
                if user is not self:
                    user.send("private", from_username=self.username, message=text)""",
        ),
    ),
    RuleMutant(
        id="server_private_to_self",
        file="server.py",
        why="a private message to oneself is delivered instead of self_target",
        edits=edit(
            """        target = self.find_other(target_name)
        if target is not None:
            target.send("private", from_username=self.username, message=text)""",
            """        target = self.server.find_user(target_name)  # oneself included
        if target is None:
            self.error("unknown_user", "Пользователь {} не в сети".format(target_name))
        else:
            target.send("private", from_username=self.username, message=text)""",
        ),
    ),
    RuleMutant(
        id="server_private_target_case_sensitive",
        file="server.py",
        why="the target of a private message must be spelled as its owner registered it",
        edits=edit(
            """        target = self.find_other(target_name)
        if target is not None:
            target.send(""",
            """        target = self.find_other(target_name)
        if target is not None and target.username != target_name:  # compared as typed
            self.error("unknown_user", "Пользователь {} не в сети".format(target_name))
        elif target is not None:
            target.send(""",
        ),
    ),
    RuleMutant(
        id="server_users_from_connections",
        file="server.py",
        why="the users list is made from all connections, so it has unregistered ones (None)",
        edits=edit(
            """            return [handler.username for handler in self.user_tuple]""",
            """            return [handler.username for handler in self.connections]""",
        ),
    ),
    RuleMutant(
        id="server_users_sorted",
        file="server.py",
        why="the users list is sorted by name instead of join order",
        edits=edit(
            """            return [handler.username for handler in self.user_tuple]""",
            """            return sorted(handler.username for handler in self.user_tuple)""",
        ),
    ),
    RuleMutant(
        id="server_utc_timestamps",
        file="server.py",
        why="timestamps in UTC instead of the server's local time",
        edits=edit(
            """    return datetime.now().strftime(""",
            """    return datetime.utcnow().strftime(""",
        ),
    ),
    RuleMutant(
        id="server_join_text_without_name",
        file="server.py",
        why="the join notice does not name who joined",
        edits=edit(
            """    "join": "{} вошёл в чат",""",
            """    "join": "Новый пользователь вошёл в чат",""",
        ),
    ),
    # -- leaving (§5.6) --------------------------------------------------------------------
    RuleMutant(
        id="server_leave_counts_leaver",
        file="server.py",
        why="the leave notice counts the user who just left",
        edits=edit(
            """                online = len(self.users)
                others = self.user_tuple""",
            """                online = len(self.users) + 1
                others = self.user_tuple""",
        ),
    ),
    RuleMutant(
        id="server_reset_is_quit",
        file="server.py",
        why="a broken connection is reported as a normal quit",
        edits=edit(
            """            except OSError:  # connection reset or aborted by the peer
                self.leave_reason = "disconnect\"""",
            """            except OSError:  # connection reset or aborted by the peer
                self.leave_reason = "quit\"""",
        ),
    ),
    RuleMutant(
        id="server_fatal_leave_is_quit",
        file="server.py",
        why="a user dropped for a fatal protocol error leaves with reason quit",
        edits=edit(
            """        self.leave_reason = "error"
        self.linger = True""",
            """        self.leave_reason = "quit"
        self.linger = True""",
        ),
    ),
    RuleMutant(
        id="server_announces_unregistered_leave",
        file="server.py",
        why="every closed connection is announced, registered or not",
        edits=edit(
            """                if not self.remove_user(handler):
                    return  # never registered: it leaves silently (§5.6)""",
            """                self.remove_user(handler)""",
        ),
    ),
    # -- sessions (§5.7) -------------------------------------------------------------------
    RuleMutant(
        id="server_session_request_wrong_sender",
        file="server.py",
        why="the session request names its target as the one who asks",
        edits=edit(
            """        target.send(
            "session_request",
            from_username=requester.username,""",
            """        target.send(
            "session_request",
            from_username=target.username,""",
        ),
    ),
    RuleMutant(
        id="server_rejection_to_requester_only",
        file="server.py",
        why="a rejection is sent only to the one who asked",
        edits=edit(
            """self._send_all((requester, responder), data)""",
            """self._send_all((requester, responder) if accepted else (requester,), data)""",
        ),
    ),
    RuleMutant(
        id="server_busy_target_not_checked",
        file="server.py",
        why="a session may be requested from someone who is already in one",
        edits=edit(
            """            if target.key in self.sessions:
                return "busy", "{} уже в приватной сессии".format(target.username)
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_repeated_request_not_busy",
        file="server.py",
        why="a repeated request while the first one waits is sent again instead of busy",
        edits=edit(
            """            if (requester.key, target.key) in self.pending:
                return "busy", "Запрос к {} уже ждёт ответа".format(target.username)
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_answer_without_request",
        file="server.py",
        why="an answer is applied whether or not a request waits for it",
        edits=edit(
            """            if pair not in self.pending:""",
            """            if requester is None:""",
        ),
    ),
    RuleMutant(
        id="server_session_end_to_partner_only",
        file="server.py",
        why="session_ended after /exit goes to the partner only",
        edits=edit(
            """self._send_all((handler, partner), session_ended_line(handler, partner, reason))""",
            """self._send_all((partner,), session_ended_line(handler, partner, reason))""",
        ),
    ),
    RuleMutant(
        id="server_no_session_end_on_leave",
        file="server.py",
        why="the partner of a leaving user is not told that the session ended",
        edits=edit(
            """            if partner is not None:
                partner.outbox.send(session_ended_line(handler, partner, "disconnect"))
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_no_session_end_on_shutdown",
        file="server.py",
        why="at shutdown the session partners get only the shutdown notice",
        edits=edit(
            """        for user, partner in pairs:
            user.outbox.send_later(session_ended_line(partner, user, "shutdown"))
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_exit_keeps_partner_busy",
        file="server.py",
        why="/exit frees only the one who ended the session; the partner stays 'in a session'",
        edits=edit(
            """            if partner is None:
                return False
            del self.sessions[partner.key]
""",
            """            if partner is None:
                return False
""",
        ),
    ),
    RuleMutant(
        id="server_keeps_pending_of_leaver",
        file="server.py",
        why="a leaving user's pending session requests are kept",
        edits=edit(
            """        self.pending = {pair for pair in self.pending if handler.key not in pair}
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_session_target_case_sensitive",
        file="server.py",
        why="the target of a session request must be spelled as its owner registered it",
        edits=edit(
            """        target = self.find_other(text_field(message, "target_username"))
        if target is not None:""",
            """        target_name = text_field(message, "target_username")
        target = self.find_other(target_name)
        if target is not None and target.username != target_name:  # compared as typed
            self.error("unknown_user", "Пользователь {} не в сети".format(target_name))
        elif target is not None:""",
        ),
    ),
    # -- liveness and limits (§5.8, §5.9) ---------------------------------------------------
    RuleMutant(
        id="server_never_pings",
        file="server.py",
        why="a silent client is dropped without ever being pinged",
        edits=edit(
            """            self.outbox.send(encode_line("ping"))""",
            """            pass  # the ping is never sent""",
        ),
    ),
    RuleMutant(
        id="server_never_drops_silent",
        file="server.py",
        why="a client that does not answer the ping is pinged again, never dropped",
        edits=edit(
            """            log.info("%s не ответил на ping", self.describe())
            self.leave_reason = "timeout"
            self.stopping = True""",
            """            self.ping_sent_at = time.monotonic()  # ask again
            self.outbox.send(encode_line("ping"))""",
        ),
    ),
    RuleMutant(
        id="server_only_pong_is_alive",
        file="server.py",
        why="the ping timer is reset only by a pong",
        edits=edit(
            """            self.heard_from_client()
            self.handle_line(line)""",
            """            if b'"pong"' in line:  # only a pong counts as a sign of life
                self.heard_from_client()
            self.handle_line(line)""",
        ),
    ),
    RuleMutant(
        id="server_blocking_send_under_lock",
        file="server.py",
        why="the broadcast does a blocking sendall() to each user while holding the lock",
        edits=edit(
            """        for receiver in receivers:
            if receiver is not sender:
                receiver.outbox.send(data, batch)""",
            """        with self.lock:  # held while sending: one slow reader blocks everyone
            for receiver in receivers:
                if receiver is not sender:
                    receiver.sock.setblocking(True)
                    receiver.sock.sendall(data)""",
        ),
    ),
    RuleMutant(
        id="server_overflow_reason_lost",
        file="server.py",
        why="a client dropped for overflow leaves with the reason of a normal close",
        edits=edit(
            """        if self.outbox.overflowed:
            return "overflow"
""",
            "",
        ),
    ),
    RuleMutant(
        id="server_max_clients_counts_users",
        file="server.py",
        why="--max-clients counts registered users, not connections",
        edits=edit(
            """            full = self.max_clients and len(self.connections) >= self.max_clients""",
            """            full = self.max_clients and len(self.users) >= self.max_clients""",
        ),
    ),
]

CLIENT: list[RuleMutant] = [
    RuleMutant(
        id="client_fixed_port",
        file="client.py",
        why="--port is parsed but the client always connects to 8083",
        edits=edit(
            """socket.create_connection((args.host, args.port),""",
            """socket.create_connection((args.host, DEFAULT_PORT),""",
        ),
    ),
    RuleMutant(
        id="client_no_reask_on_taken_name",
        file="client.py",
        why="after username_taken the client goes on as if registered",
        edits=edit(
            """            if self.registration.get():
                return True
""",
            """            self.registration.get()
            return True
""",
        ),
    ),
    RuleMutant(
        id="client_no_newline",
        file="client.py",
        why="messages are sent as JSON objects back to back, without \\n",
        edits=edit(
            """    return (json.dumps(message, ensure_ascii=False) + "\\n").encode("utf-8")""",
            """    return json.dumps(message, ensure_ascii=False).encode("utf-8")""",
        ),
    ),
    RuleMutant(
        id="client_decodes_each_chunk",
        file="client.py",
        why="each recv() chunk is split on newlines by itself, without a buffer",
        edits=edit(
            "            for line in split_lines(buffer, chunk):\n",
            '            for line in chunk.split(b"\\n"):\n',
        ),
    ),
    RuleMutant(
        id="client_no_pong",
        file="client.py",
        why="the client never answers ping",
        edits=edit(
            """                self.sock.sendall(encode({"type": "pong"}))""",
            """                pass  # no pong""",
        ),
    ),
    RuleMutant(
        id="client_quit_exit_message",
        file="client.py",
        why="/quit ends with sys.exit('До свидания!'), which is exit status 1",
        edits=edit(
            """    def cmd_quit(self, args):
        return False""",
            """    def cmd_quit(self, args):
        sys.exit("До свидания!")""",
        ),
    ),
    RuleMutant(
        id="client_eof_traceback",
        file="client.py",
        why="EOFError of Ctrl+D is not caught in the input loop",
        edits=edit(
            """                try:
                    line = self.term.read_line()
                except EOFError:
                    break
""",
            """                line = self.term.read_line()
""",
        ),
    ),
    RuleMutant(
        id="client_server_gone_exit_0",
        file="client.py",
        why="the client says the server is gone and exits with status 0",
        edits=edit("EXIT_SERVER_GONE = 1\n", "EXIT_SERVER_GONE = 0\n"),
    ),
    RuleMutant(
        id="client_ctrl_c_traceback",
        file="client.py",
        why="KeyboardInterrupt is not caught: Ctrl+C ends in a Traceback",
        edits=edit(
            """    except KeyboardInterrupt:  # Ctrl+C: a normal way to leave
        client.close()
        return EXIT_OK
""",
            "",
        ),
    ),
    RuleMutant(
        id="client_users_command_renamed",
        file="client.py",
        why="the users list is asked for with /list, so /users is an unknown command",
        edits=edit("    def cmd_users(self, args):", "    def cmd_list(self, args):"),
    ),
    RuleMutant(
        id="client_private_text_with_name",
        file="client.py",
        why="/private sends all its arguments as the text, the name included",
        edits=edit(
            """self.send({"type": "private", "target_username": name, "message": text.strip()})""",
            """self.send({"type": "private", "target_username": name, "message": args})""",
        ),
    ),
    RuleMutant(
        id="client_help_without_exit",
        file="client.py",
        why="/help forgets /exit",
        edits=edit("""    ("/exit", "", "выйти из приватной сессии"),\n""", ""),
    ),
    RuleMutant(
        id="client_sends_unknown_commands",
        file="client.py",
        why="an unknown /command is sent to the chat instead of a local hint",
        edits=edit(
            """                self.note("Неизвестная команда {}. """
            """Список команд — /help.".format(name))
                return True
""",
            """                return self.say(text)
""",
        ),
    ),
    RuleMutant(
        id="client_private_without_text_sent",
        file="client.py",
        why="/private NAME without text is sent with an empty text",
        edits=edit(
            """        if not name or not text.strip():
            return self.usage("/private")""",
            """        if not name:
            return self.usage("/private")""",
        ),
    ),
    RuleMutant(
        id="client_session_wrong_type",
        file="client.py",
        why='/session sends the type "session" instead of "session_request"',
        edits=edit(
            """        self.send({"type": "session_request", "target_username": args})""",
            """        self.send({"type": "session", "target_username": args})""",
        ),
    ),
    RuleMutant(
        id="client_answer_also_sent",
        file="client.py",
        why="the y/n answer to a session request is also sent to the chat",
        edits=edit(
            """        if answer is not None and self.answer_request(answer):
            return True""",
            """        if answer is not None and self.answer_request(answer):
            return self.say(text)  # the answer goes to the chat too""",
        ),
    ),
    RuleMutant(
        id="client_answers_newest_request",
        file="client.py",
        why="y/n answers the newest pending request, not the oldest",
        edits=edit(
            """            requester, _ = self.pending.popleft()""",
            """            requester, _ = self.pending.pop()""",
        ),
    ),
    RuleMutant(
        id="client_any_line_answers",
        file="client.py",
        why="while a request waits, any line is taken as the answer (anything but y is no)",
        edits=edit(
            """        answer = self.answer_of(text)
""",
            """        answer = self.answer_of(text) or False
""",
        ),
    ),
    RuleMutant(
        id="client_yes_no_swallowed",
        file="client.py",
        why="a line y or n is never sent, even when no request waits",
        edits=edit(
            """        if answer is not None and self.answer_request(answer):
            return True""",
            """        if answer is not None:
            self.answer_request(answer)
            return True""",
        ),
    ),
    RuleMutant(
        id="client_session_lines_broadcast",
        file="client.py",
        why="in a session, plain lines still go to the general chat",
        edits=edit(
            """self.send({"type": "private", "target_username": partner, "message": text})""",
            """self.send({"type": "message", "message": text})""",
        ),
    ),
    RuleMutant(
        id="client_private_goes_to_partner",
        file="client.py",
        why="in a session, /private goes to the partner whoever it names",
        edits=edit(
            """self.send({"type": "private", "target_username": name, "message": text.strip()})""",
            """target = self.partner or name  # in a session everything goes to the partner
        self.send({"type": "private", "target_username": target, "message": text.strip()})""",
        ),
    ),
    RuleMutant(
        id="client_own_exit_keeps_session",
        file="client.py",
        why="the client leaves session mode only when the partner ends it, not on its own /exit",
        edits=(
            (
                """            partner, self.partner = self.partner, None
        if partner is None:""",
                """            partner = self.partner
        if partner is None:""",
            ),
            (
                """        with self.state_lock:
            self.partner = None
        self.term.show(self.system_line(message, self.field(message, "message")))""",
                """        with self.state_lock:
            if not same_name(message.get("from_username"), self.username):
                self.partner = None
        self.term.show(self.system_line(message, self.field(message, "message")))""",
            ),
        ),
    ),
    RuleMutant(
        id="client_prompt_ignores_session",
        file="client.py",
        why="the prompt stays [общий]> in a session",
        edits=edit(
            """                return SESSION_PROMPT.format(partner=self.partner), MAGENTA""",
            """                return GENERAL_PROMPT, BOLD""",
        ),
    ),
    RuleMutant(
        id="client_mode_change_loses_typing",
        file="client.py",
        why="when the mode changes, the prompt is drawn again without the half-typed text",
        edits=edit(
            """                self.carry = readline.get_line_buffer()""",
            """                self.carry = \"\"""",
        ),
    ),
    RuleMutant(
        id="client_prints_over_input_line",
        file="client.py",
        why="an incoming message is printed without redrawing the prompt and typed text",
        edits=edit(
            """self._write(out + self._redraw_input(self._prompt_for_input(prompt, code)))""",
            """self._write(text + "\\n")""",
        ),
    ),
    RuleMutant(
        id="client_redraw_ignores_wrap",
        file="client.py",
        why="the redraw erases only the cursor's row, as if the typed line never wrapped",
        edits=edit(
            """row = (display_width(self.shown) + display_width(before)) // self._columns()""",
            """row = 0  # the typed line is taken to fit on one row""",
        ),
    ),
    RuleMutant(
        id="client_shows_local_time",
        file="client.py",
        why="the time shown is the client's clock, not the server's timestamp",
        edits=edit(
            """    return found.group(0) if found else time.strftime("%H:%M:%S")""",
            """    return time.strftime("%H:%M:%S")""",
        ),
    ),
    RuleMutant(
        id="client_private_not_marked",
        file="client.py",
        why="a private message looks like a broadcast",
        edits=edit(
            """        tag = self.term.paint(MAGENTA, "[лично]")""",
            """        tag = \"\"""",
        ),
    ),
    RuleMutant(
        id="client_leave_without_count",
        file="client.py",
        why="the online counter is shown for joins but not for leaves",
        edits=edit(
            """        if "online_users" in message:""",
            """        if "online_users" in message and event != "leave":""",
        ),
    ),
    RuleMutant(
        id="client_error_shows_code",
        file="client.py",
        why="an error is shown by its code, not its text",
        edits=edit(
            """"{} {} {}".format(self.stamp(message), label, self.field(message, "message"))""",
            """"{} {} {}".format(self.stamp(message), label, self.field(message, "code"))""",
        ),
    ),
    RuleMutant(
        id="client_question_on_own_line",
        file="client.py",
        why="the y/n question is printed on a line of its own, below the request",
        edits=edit(
            """        question = self.system_line(message, text + ". Принять? (y/n)")""",
            """        question = self.system_line(message, text) + "\\nПринять? (y/n)\"""",
        ),
    ),
    RuleMutant(
        id="client_users_sorted",
        file="client.py",
        why="/users shows the names sorted instead of in the server's (join) order",
        edits=edit(
            """        text = "Онлайн ({}): {}".format(len(names), ", ".join(names))""",
            """        text = "Онлайн ({}): {}".format(len(names), ", ".join(sorted(names)))""",
        ),
    ),
]

MUTANTS: list[RuleMutant] = SERVER + CLIENT
BY_ID: dict[str, RuleMutant] = {m.id: m for m in MUTANTS}

# Rows of lab/traceability.toml without a mutant, by (scenario, rule): why none breaks the
# rule alone.
UNBREAKABLE: dict[tuple[str, str], str] = {
    ("server_register", "Первое сообщение клиента — имя, **без поля `type`**:"): (
        'every scenario registers its probes with {"username": ...} and depends on '
        "server_register: a server that wants another first message fails them all"
    ),
    ("server_disconnect", "сервер переживает обрывы связи"): (
        "what the step adds (a new client joins and chats after the drops) breaks only "
        "together with the leave notices of the drops, graded by the steps before it: a "
        "server that dies or stops accepting after a reset fails those first"
    ),
    (
        "server_broadcast",
        "Всё, что один отправитель вызвал для одного получателя, приходит получателю в том "
        "же порядке.",
    ): (
        "an order bug is a race (a thread per send, writers without a lock): no deterministic "
        "small change reorders one sender's messages, since each connection has one reader "
        "thread that handles its lines in order and each receiver one FIFO outbox; a racy "
        "mutant would pass or fail by chance"
    ),
    ("client_typing", "Строка без `/` в начале — обычное сообщение."): (
        "every client scenario proves what the client sent with typed plain lines (chat "
        "lines, markers): a client whose plain lines do not go out as messages fails them all"
    ),
}

# Findings: a row's mutant that is not caught at the row's step, by (mutant, scenario).
# The row test is xfail(strict=True) with this reason; when the harness or the table is
# fixed, it passes and the strict xfail says to remove the entry.
NOT_AT_ITS_STEP: dict[tuple[str, str], str] = {
    ("client_redraw_ignores_wrap", "client_typing"): (
        "not caught: the first row of the wrapped typed line stays on the screen above the "
        "message, and the 80x24 check does not notice the stale copy"
    ),
    ("server_truthy_accepted", "server_bad_input"): (
        'not caught: no scenario sends "accepted": "да" (the handout\'s own example) any more; '
        "server_bad_input's wrong types are message and target_username"
    ),
    ("server_exit_keeps_partner_busy", "server_session_end"): (
        "reported at «Carol просит сессию у Bob: Bob получает session_request»: the row's "
        "step checks nothing before open_session() replaces it"
    ),
    ("server_broadcast_skips_sessions", "server_session_accept"): (
        "caught earlier, at «Carol просит сессию у занятого Bob: ошибка busy»: its absence "
        "proof is Carol's broadcast reaching Bob in his session"
    ),
    ("client_private_without_text_sent", "client_commands"): (
        "the screen check passes (the server's empty_message error is shown); caught at "
        "«/users показывает пользователей…», where the absence of sends is proven"
    ),
}

# Findings: a mutant that also loses points outside the scenarios of its rows. The mutant
# test is xfail(strict=True) with this reason.
COSTS_MORE: dict[str, str] = {
    "server_first_line_of_chunk": (
        "also fails server_slow_reader (its bursts of 50 lines share a recv()) and, when "
        "its two lines arrive glued, server_broadcast: the dropped line is no invalid_json"
    ),
    "server_session_request_wrong_sender": (
        "also fails server_session_reject, and server_session_end is skipped (it depends on "
        "server_session_accept)"
    ),
    "client_session_wrong_type": (
        "client_prompt_mode is skipped: it opens its session with /session"
    ),
    "client_private_text_with_name": (
        "also fails client_session («в сессии /private Анне (третьей)»)"
    ),
    "server_escapes_kept_literal": (
        "also fails server_unicode («текст, присланный экранированным (\\uXXXX)»): the "
        "rule is graded in two scenarios"
    ),
    "server_welcome_count_without_newcomer": (
        "also fails server_join_leave («новый пользователь видит верный счётчик»)"
    ),
    "server_taken_name_closes": (
        "also fails server_framing: its two registrations in one chunk use one connection"
    ),
}
