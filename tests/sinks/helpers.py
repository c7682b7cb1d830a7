"""Findings to send, and real receivers on 127.0.0.1 that record what arrived."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tenantwatch.model.finding import Finding

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
WAIT_SECS = 5.0  # every socket read and join in these tests gives up after this


def make_finding(n: int = 0, **overrides: Any) -> Finding:
    """A password-spray finding about ``user<n>@contoso.com``; keywords replace fields."""
    values: dict[str, Any] = {
        "uid": f"f{n:04d}",
        "tenant": "t-contoso",
        "rule_id": "tw_password_spray",
        "rule_title": "Password spray against many accounts",
        "severity": "high",
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=5),
        "created_time": T0 + timedelta(minutes=6),
        "entity": {"user.name": f"user{n}@contoso.com"},
        "description": "Many accounts failed to sign in from the same sources.",
        "techniques": ("T1110.003",),
        "evidence_uids": ["e1", "e2"],
        "observables": {"src_endpoint.ip": ["203.0.113.7", "2001:db8::7"]},
        "count": 12,
    }
    values.update(overrides)
    return Finding(**values)


def closed_port() -> tuple[socket.socket, int]:
    """A TCP port that refuses connections: bound (so nobody else gets it) but not listening.

    Keep the socket open for the duration of the test; close it afterwards."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


# HTTP


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    received: float = field(default_factory=time.time)  # wall time it arrived


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hold: threading.Event | None = None  # wait for this before answering (a slow receiver)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that gave up (timeout tests): nothing to report


class HttpReceiver:
    """A ThreadingHTTPServer on 127.0.0.1 recording POSTs; answers come from ``answers``
    (then 200 ``ok``). ``tls`` makes it HTTPS."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Request] = []
        self.answers: deque[Answer] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = WAIT_SECS

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Request(self.path, headers, body))
                answer = receiver.answers.popleft() if receiver.answers else Answer()
                if answer.hold is not None:
                    answer.hold.wait(WAIT_SECS)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT_SECS)


# Syslog


class StreamReceiver:
    """A TCP (or TLS) syslog receiver: reads octet-counted frames into ``frames`` as
    ``(connection number, message bytes)``; closes a connection after ``close_after`` frames."""

    def __init__(self, tls: ssl.SSLContext | None = None, close_after: int = 0) -> None:
        self.frames: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self.closed = threading.Event()
        self._tls = tls
        self._close_after = close_after
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def next_frame(self) -> tuple[int, bytes]:
        return self.frames.get(timeout=WAIT_SECS)

    def stop(self) -> None:
        self._stop.set()
        self._accepting.join(WAIT_SECS)
        for thread in self._threads:
            thread.join(WAIT_SECS)
        self._listener.close()

    def _accept(self) -> None:
        number = 0
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            self._threads.append(thread)
            thread.start()
            number += 1

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(0.05)
        try:
            if self._tls is not None:
                conn.settimeout(WAIT_SECS)
                conn = self._tls.wrap_socket(conn, server_side=True)
                conn.settimeout(0.05)
            buffer = b""
            count = 0
            while not self._stop.is_set():
                frame, buffer = _take_frame(buffer)
                if frame is not None:
                    self.frames.put((number, frame))
                    count += 1
                    if count == self._close_after:
                        break
                    continue
                try:
                    data = conn.recv(65536)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
                if not data:
                    break
                buffer += data
        except (OSError, ssl.SSLError):
            pass  # e.g. the client refused our certificate
        finally:
            conn.close()
            if self._close_after:
                self.closed.set()


def _take_frame(buffer: bytes) -> tuple[bytes | None, bytes]:
    """One ``<length> <message>`` frame off the front of ``buffer``, if it is all there."""
    space = buffer.find(b" ")
    if space < 0:
        return None, buffer
    length = int(buffer[:space])
    end = space + 1 + length
    if len(buffer) < end:
        return None, buffer
    return buffer[space + 1 : end], buffer[end:]


@dataclass
class Syslog5424:
    pri: int
    version: str
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    sd_id: str
    sd: dict[str, str]
    msg: bytes


def parse_5424(data: bytes) -> Syslog5424:
    """Parse one RFC 5424 message with one SD element, undoing §6.3.3 escapes."""
    close = data.index(b">")
    pri = int(data[1:close])
    version, timestamp, hostname, app, procid, msgid, rest = (
        data[close + 1 :].decode("utf-8").split(" ", 6)
    )
    assert rest.startswith("[")
    i = rest.index(" ")
    sd_id = rest[1:i]
    params: dict[str, str] = {}
    while rest[i] == " ":
        eq = rest.index("=", i)
        name = rest[i + 1 : eq]
        assert rest[eq + 1] == '"'
        j, value = eq + 2, []
        while rest[j] != '"':
            if rest[j] == "\\" and rest[j + 1] in '"\\]':
                j += 1
            value.append(rest[j])
            j += 1
        params[name] = "".join(value)
        i = j + 1
    assert rest[i] == "]"
    assert rest[i + 1] == " "
    msg = rest[i + 2 :].encode("utf-8")
    return Syslog5424(pri, version, timestamp, hostname, app, procid, msgid, sd_id, params, msg)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """The six header fields after ``CEF:0`` and the extension pairs, unescaped."""
    assert line.startswith("CEF:0|")
    fields: list[str] = []
    current: list[str] = []
    i = len("CEF:0|")
    while len(fields) < 6:
        c = line[i]
        if c == "\\":
            current.append(line[i + 1])
            i += 2
            continue
        if c == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    extension = line[i:]
    # Split on spaces followed by `key=`; a value's `=` is escaped, so it cannot start one.
    pairs: dict[str, str] = {}
    key, value, j = None, [], 0
    unescape = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
    while j < len(extension):
        if key is None:
            eq = extension.index("=", j)
            key, j = extension[j:eq], eq + 1
            continue
        c = extension[j]
        if c == "\\":
            value.append(unescape[extension[j + 1]])
            j += 2
            continue
        if c == " ":
            nxt = extension.find("=", j + 1)
            if nxt > 0 and " " not in extension[j + 1 : nxt] and "\\" not in extension[j + 1 : nxt]:
                pairs[key] = "".join(value)
                key, value, j = None, [], j + 1
                continue
        value.append(c)
        j += 1
    if key is not None:
        pairs[key] = "".join(value)
    return fields, pairs
