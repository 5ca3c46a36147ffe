"""Broken clients: small realistic variations of reference/client.py, one bug each.

Each mutant replaces one exact piece of text (``old``, which must occur exactly once) with
``new`` and must lose points in the scenario ``loses`` (the one that names its bug) and keep
them in every other client and end-to-end scenario.  A mutant submission is the reference
server plus the mutated client.
"""

from __future__ import annotations

CLIENT_MUTANTS: list[dict[str, str]] = [
    {
        "id": "client_prints_over_input_line",
        "about": "an incoming message is printed without redrawing the prompt and typed text",
        "file": "client.py",
        "old": "self._write(out + self._redraw_input(self._prompt_for_input(prompt, code)))",
        "new": "self._write(text + '\\n')",
        "loses": "client_typing",
    },
    {
        "id": "client_prompt_without_mode",
        "about": "the prompt is a bare '> ' in both modes",
        "file": "client.py",
        "old": (
            "            if self.partner is not None:\n"
            "                return SESSION_PROMPT.format(partner=self.partner), MAGENTA\n"
            "            return GENERAL_PROMPT, BOLD\n"
        ),
        "new": '            return "> ", BOLD\n',
        "loses": "client_prompt_mode",
    },
    {
        "id": "client_ignores_yes_no",
        "about": "y/n after a session request is sent to the chat as a plain line",
        "file": "client.py",
        "old": "if answer is not None and self.answer_request(answer):",
        "new": "if False:",
        "loses": "client_session",
    },
    {
        "id": "client_shows_local_time",
        "about": "the time shown is the client's clock, not the server's timestamp",
        "file": "client.py",
        "old": 'return found.group(0) if found else time.strftime("%H:%M:%S")',
        "new": 'return time.strftime("%H:%M:%S")',
        "loses": "client_display",
    },
    {
        "id": "client_private_not_marked",
        "about": "a private message looks like a broadcast",
        "file": "client.py",
        "old": 'tag = self.term.paint(MAGENTA, "[лично]")',
        "new": 'tag = ""',
        "loses": "client_display",
    },
    {
        "id": "client_no_reask_on_taken_name",
        "about": "after username_taken the client goes on as if registered",
        "file": "client.py",
        "old": "            if self.registration.get():\n                return True\n",
        "new": "            self.registration.get()\n            return True\n",
        "loses": "client_register",
    },
    {
        "id": "client_traceback_when_server_gone",
        "about": "the receiver thread raises on a closed socket; the client hangs with a traceback",
        "file": "client.py",
        "old": "            if not chunk:\n                break\n",
        "new": (
            '            if not chunk:\n                raise ConnectionError("server closed")\n'
        ),
        "loses": "client_quit",
    },
    {
        "id": "client_session_lines_broadcast",
        "about": "in a session, plain lines still go to the general chat",
        "file": "client.py",
        "old": ('self.send({"type": "private", "target_username": partner, "message": text})'),
        "new": 'self.send({"type": "message", "message": text})',
        "loses": "client_session",
    },
    {
        "id": "client_sends_unknown_commands",
        "about": "an unknown /command is sent to the chat instead of a local hint",
        "file": "client.py",
        "old": (
            '                self.note("Неизвестная команда {}. '
            'Список команд — /help.".format(name))\n'
            "                return True\n"
        ),
        "new": "                return self.say(text)\n",
        "loses": "client_commands",
    },
    {
        "id": "client_users_list_unordered",
        "about": "/users shows the names sorted instead of in the server's (join) order",
        "file": "client.py",
        "old": 'text = "Онлайн ({}): {}".format(len(names), ", ".join(names))',
        "new": 'text = "Онлайн ({}): {}".format(len(names), ", ".join(sorted(names)))',
        "loses": "client_commands",
    },
    {
        "id": "client_no_pong",
        "about": "the client never answers ping (the server would drop it as silent)",
        "file": "client.py",
        "old": 'self.sock.sendall(encode({"type": "pong"}))',
        "new": "pass",
        "loses": "client_display",
    },
    {
        "id": "client_help_asks_the_server",
        "about": "/help is also sent to the server as a message of its own type",
        "file": "client.py",
        "old": "        self.term.show(help_text())\n",
        "new": '        self.send({"type": "help"})\n        self.term.show(help_text())\n',
        "loses": "client_commands",
    },
    {
        "id": "client_decodes_each_chunk",
        "about": "each recv() chunk is split on newlines by itself, without a buffer",
        "file": "client.py",
        "old": "            for line in split_lines(buffer, chunk):\n",
        "new": '            for line in chunk.split(b"\\n"):\n',
        "loses": "client_display",
    },
    {
        "id": "client_rejection_not_shown",
        "about": "a rejected session request is handled silently: nothing on the screen",
        "file": "client.py",
        "old": (
            '            self.forget(message.get("from_username"))\n'
            '        self.term.show(self.system_line(message, self.field(message, "message")))\n'
        ),
        "new": '            self.forget(message.get("from_username"))\n',
        "loses": "client_session",
    },
]
