#!/usr/bin/env python3
"""Консольный клиент чата."""
import argparse
import json
import os
import readline
import socket
import sys
import threading
from collections import deque


class Client:
    ANSWERS = {"y": True, "yes": True, "д": True, "да": True,
               "n": False, "no": False, "н": False, "нет": False}

    def __init__(self, sock):
        self.sock = sock
        self.me = None
        self.mate = None
        self.invites = deque()
        self.out = threading.Lock()
        self.buf = b""
        self.commands = {"/users": self.cmd_users, "/private": self.cmd_private,
                         "/session": self.cmd_session, "/exit": self.cmd_exit,
                         "/help": self.cmd_help}

    # network
    def send(self, **m):
        self.sock.sendall((json.dumps(m, ensure_ascii=False) + "\n").encode())

    def next_message(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else self.next_message()

    # screen
    def prompt(self):
        return "(сессия с {})> ".format(self.mate) if self.mate else "(общий)> "

    def echo(self, text):
        with self.out:
            sys.stdout.write("\r\x1b[K{}\n{}{}".format(text, self.prompt(), readline.get_line_buffer()))
            sys.stdout.flush()

    def text_of(self, m):
        at = m.get("timestamp", "????-??-??T??:??:??")[11:19]
        k = m["type"]
        if k == "message":
            return "{} {}: {}".format(at, m["from_username"], m["message"])
        if k == "private":
            return "{} (лично) {}: {}".format(at, m["from_username"], m["message"])
        if k == "system":
            return "{} * {} [онлайн: {}]".format(at, m["message"], m["online_users"])
        if k == "users_list":
            return "{} * Сейчас в чате: {}".format(at, ", ".join(m["users"]))
        if k == "session_request":
            self.invites.append(m["from_username"])
            return "{} * {} — принять? (y/n)".format(at, m["message"])
        if k == "session_accepted":
            self.mate = m["from_username"] if m["to_username"] == self.me else m["to_username"]
        if k == "session_ended":
            self.mate = None
        if k == "error":
            return "{} Ошибка: {}".format(at, m["message"])
        return "{} * {}".format(at, m.get("message", ""))

    def listen(self):
        try:
            while True:
                m = self.next_message()
                if m is None:
                    break
                if m.get("type") == "ping":
                    self.send(type="pong")
                else:
                    self.echo(self.text_of(m))
        except (OSError, ValueError):
            pass
        self.echo("Соединение с сервером потеряно.")
        os._exit(1)

    # commands
    def cmd_users(self, arg):
        self.send(type="users")

    def cmd_private(self, arg):
        name, _, text = arg.partition(" ")
        if not name or not text.strip():
            return self.echo("Нужно так: /private ИМЯ ТЕКСТ")
        self.send(type="private", target_username=name, message=text)

    def cmd_session(self, arg):
        if not arg:
            return self.echo("Нужно так: /session ИМЯ")
        self.send(type="session_request", target_username=arg)

    def cmd_exit(self, arg):
        self.send(type="session_end")

    def cmd_help(self, arg):
        self.echo("/users /private ИМЯ ТЕКСТ /session ИМЯ /exit /help /quit")

    def loop(self):
        while True:
            line = input(self.prompt()).strip()
            if line == "/quit":
                return
            if self.invites and line.lower() in self.ANSWERS:
                self.send(type="session_response", target_username=self.invites.popleft(),
                          accepted=self.ANSWERS[line.lower()])
            if line.startswith("/"):
                word, _, arg = line.partition(" ")
                handler = self.commands.get(word)
                if handler:
                    handler(arg.strip())
                else:
                    self.echo("Нет такой команды: {} (см. /help)".format(word))
            elif line and self.mate:
                self.send(type="private", target_username=self.mate, message=line)
            elif line:
                self.send(type="message", message=line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8083)
    a = ap.parse_args()
    try:
        c = Client(socket.create_connection((a.host, a.port)))
    except OSError as e:
        sys.exit("Не могу подключиться: {}".format(e))
    try:
        while c.me is None:
            name = input("Введите имя: ").strip()
            c.send(username=name)
            answer = c.next_message()
            if answer is None:
                sys.exit("Соединение с сервером потеряно.")
            print(c.text_of(answer))
            if answer["type"] != "error":
                c.me = name
        threading.Thread(target=c.listen, daemon=True).start()
        c.loop()
    except (EOFError, KeyboardInterrupt):
        print()
    c.sock.close()


if __name__ == "__main__":
    main()
