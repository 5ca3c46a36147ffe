"""Chat client (lab).  Incoming messages are printed with print(); the prompt is printed
again after each one."""
import argparse
import json
import socket
import sys
import threading
import os

YES = {"y", "yes", "д", "да"}
NO = {"n", "no", "н", "нет"}


class ChatClient:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.file = self.sock.makefile("rb")
        self.name = None
        self.partner = None
        self.requests = []

    def send(self, **msg):
        self.sock.sendall((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))

    def prompt(self):
        return "[сессия с %s]> " % self.partner if self.partner else "[общий]> "

    def format(self, m):
        t = m.get("timestamp", "")[11:19]
        kind = m.get("type")
        if kind == "message":
            return "[%s] %s: %s" % (t, m["from_username"], m["message"])
        if kind == "private":
            return "[%s] [лично] %s: %s" % (t, m["from_username"], m["message"])
        if kind == "system":
            return "[%s] *** %s (онлайн: %s)" % (t, m["message"], m["online_users"])
        if kind == "users_list":
            return "[%s] *** Онлайн (%d): %s" % (t, len(m["users"]), ", ".join(m["users"]))
        if kind == "session_request":
            self.requests.append(m["from_username"])
            return "[%s] *** %s. Принять? (y/n)" % (t, m["message"])
        if kind == "error":
            return "[%s] Ошибка: %s" % (t, m["message"])
        if kind == "session_accepted":
            self.partner = m["to_username"] if m["from_username"] == self.name else m["from_username"]
        elif kind == "session_ended":
            self.partner = None
        return "[%s] *** %s" % (t, m.get("message", ""))

    def receive(self):
        try:
            for raw in self.file:
                if not raw.strip():
                    continue
                m = json.loads(raw.decode("utf-8"))
                if m.get("type") == "ping":
                    self.send(type="pong")
                    continue
                print("\n" + self.format(m))
                print(self.prompt(), end="", flush=True)
        except (OSError, ValueError):
            pass
        print("\nСоединение с сервером потеряно.")
        os._exit(1)

    def login(self):
        while True:
            name = input("Введите имя: ").strip()
            self.send(username=name)
            raw = self.file.readline()
            if not raw:
                print("Соединение с сервером потеряно.")
                sys.exit(1)
            reply = json.loads(raw.decode("utf-8"))
            print(self.format(reply))
            if reply.get("type") != "error":
                self.name = name
                return

    def run(self):
        self.login()
        threading.Thread(target=self.receive, daemon=True).start()
        while True:
            line = input(self.prompt()).strip()
            if not line:
                continue
            if self.requests and line.lower() in YES | NO:
                self.send(type="session_response", target_username=self.requests.pop(0),
                          accepted=line.lower() in YES)
            elif line == "/quit":
                return
            elif line == "/help":
                print("Команды: /users, /private ИМЯ ТЕКСТ, /session ИМЯ, /exit, /help, /quit")
            elif line == "/users":
                self.send(type="users")
            elif line.startswith("/private"):
                parts = line.split(maxsplit=2)
                if len(parts) < 3:
                    print("Формат: /private ИМЯ ТЕКСТ")
                else:
                    self.send(type="private", target_username=parts[1], message=parts[2])
            elif line.startswith("/session"):
                parts = line.split()
                if len(parts) != 2:
                    print("Формат: /session ИМЯ")
                else:
                    self.send(type="session_request", target_username=parts[1])
            elif line == "/exit":
                self.send(type="session_end")
            elif line.startswith("/"):
                print("Неизвестная команда: %s. Список команд: /help" % line.split()[0])
            elif self.partner:
                self.send(type="private", target_username=self.partner, message=line)
            else:
                self.send(type="message", message=line)


def main():
    parser = argparse.ArgumentParser(description="Клиент чата")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    try:
        client = ChatClient(args.host, args.port)
    except OSError as e:
        print("Не удалось подключиться:", e)
        sys.exit(1)
    try:
        client.run()
    except (EOFError, KeyboardInterrupt):
        print()
    client.sock.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
