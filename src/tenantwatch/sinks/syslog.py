"""Findings sent to a syslog receiver as RFC 5424 messages, over UDP, TCP or TLS.

One message per finding::

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [tenantwatch@32473 uid=".." tenant=".."
    rule=".." severity=".."] BOM MSG

PRI is ``facility * 8 + severity`` (critical 2, high 3, medium 4, low 5, informational 6), MSGID
the rule id, MSG the finding as compact OCSF JSON or as a CEF line (``format="cef"``). 32473 is
the enterprise number RFC 5612 reserves for examples: the SD-ID is unregistered, and receivers
match it by name.

Transports: UDP sends one datagram per message, cut to :data:`UDP_MAX_BYTES` (a longer finding
arrives truncated; use TCP or TLS for those). TCP and TLS (RFC 5425) frame messages by octet
counting (``<length> <message>``, RFC 6587 §3.4.1) on one connection kept open between
deliveries, checked before each delivery and reopened after an error. Syslog has no
acknowledgement: UDP may drop messages silently, and a TCP or TLS receiver that dies while a
delivery is in flight may lose what it had not read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

from tenantwatch import __version__
from tenantwatch.errors import SinkError
from tenantwatch.model.finding import Finding

__all__ = ["SyslogSink", "cef_message"]

Protocol = Literal["udp", "tcp", "tls"]
Format = Literal["json", "cef"]

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
    "solaris-cron": 15, **{f"local{n}": 16 + n for n in range(8)},
}  # fmt: skip
SYSLOG_SEVERITIES = {"critical": 2, "high": 3, "medium": 4, "low": 5, "informational": 6}
CEF_SEVERITIES = {"critical": 10, "high": 8, "medium": 5, "low": 3, "informational": 1}
SD_ID = "tenantwatch@32473"
UDP_MAX_BYTES = 8192
CEF_MSG_CHARS = 1023  # the CEF spec's limit for `msg`
BOM = b"\xef\xbb\xbf"

_SD_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "]": "\\]"})
_CEF_HEADER_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "\r": " ", "\n": " "})
_CEF_VALUE_ESCAPES = str.maketrans({"\\": "\\\\", "=": "\\=", "\r": "\\r", "\n": "\\n"})


def sd_escape(value: str) -> str:
    """An RFC 5424 SD-PARAM value: ``"``, ``\\`` and ``]`` escaped (§6.3.3)."""
    return value.translate(_SD_ESCAPES)


def cef_header_escape(value: str) -> str:
    """A CEF header field: ``|`` and ``\\`` escaped, line breaks made spaces."""
    return value.translate(_CEF_HEADER_ESCAPES)


def cef_value_escape(value: str) -> str:
    """A CEF extension value: ``=`` and ``\\`` escaped, line breaks as ``\\n`` / ``\\r``."""
    return value.translate(_CEF_VALUE_ESCAPES)


def cef_message(finding: Finding) -> str:
    """The finding as one CEF:0 line (see docs/SINKS.md for the field mapping)."""
    header = [
        "tenantwatch",
        "tenantwatch",
        __version__,
        finding.rule_id,
        finding.rule_title,
        str(CEF_SEVERITIES.get(finding.severity, 5)),
    ]
    ext: list[tuple[str, str]] = [
        ("rt", str(_epoch_ms(finding.last_seen))),
        ("start", str(_epoch_ms(finding.first_seen))),
        ("end", str(_epoch_ms(finding.last_seen))),
        ("cnt", str(finding.count)),
        ("externalId", finding.uid),
    ]
    user = next((v for k, v in finding.entity.items() if "user" in k.split(".")), None)
    if user:
        ext.append(("suser", user))
    v4, v6 = _source_ips(finding)
    if v4:
        ext.append(("src", v4))
    if v6:
        ext += [("c6a2", v6), ("c6a2Label", "Source IPv6 Address")]
    ext += [("cs1Label", "tenant"), ("cs1", finding.tenant)]
    if finding.entity:
        ext += [("cs2Label", "entity"), ("cs2", finding.entity_key)]
    if finding.techniques:
        ext += [("cs3Label", "techniques"), ("cs3", ",".join(finding.techniques))]
    if finding.description:
        ext.append(("msg", finding.description[:CEF_MSG_CHARS]))
    head = "|".join(cef_header_escape(h) for h in header)
    extension = " ".join(f"{key}={cef_value_escape(value)}" for key, value in ext)
    return f"CEF:0|{head}|{extension}"


class SyslogSink:
    """Sends each finding as an RFC 5424 message to ``host:port``.

    ``facility`` is a number (0-23) or a name (``local0``, ``authpriv``, ...). With
    ``protocol="tls"`` the certificate is verified against ``ca_file`` (or the system store)
    for ``server_name`` (default ``host``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        protocol: Protocol,
        format: Format = "json",  # shadows the builtin: it is the option's name in configs
        sink_id: str = "syslog",
        app_name: str = "tenantwatch",
        facility: int | str = "local0",
        hostname: str | None = None,
        timeout_secs: float = 10,
        ca_file: Path | str | None = None,
        server_name: str | None = None,
    ) -> None:
        self.id = sink_id
        if protocol not in ("udp", "tcp", "tls"):
            raise ValueError(f"{sink_id}: protocol {protocol!r}; use udp, tcp or tls")
        if format not in ("json", "cef"):
            raise ValueError(f"{sink_id}: format {format!r}; use json or cef")
        if not 0 < port < 65536:
            raise ValueError(f"{sink_id}: port {port} is not a TCP/UDP port")
        if protocol != "tls" and (ca_file is not None or server_name is not None):
            raise ValueError(f"{sink_id}: ca_file and server_name need protocol: tls")
        self.host = host
        self.port = port
        self.protocol = protocol
        self.format = format
        self.facility = _facility(facility, sink_id)
        self.app_name = _printable(app_name, 48)
        self.hostname = _printable(hostname or socket.gethostname(), 255)
        self.timeout_secs = timeout_secs
        self.server_name = server_name or host
        self._context: ssl.SSLContext | None = None
        if protocol == "tls":
            try:
                self._context = ssl.create_default_context(
                    cafile=None if ca_file is None else str(ca_file)
                )
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{sink_id}: cannot load ca_file {ca_file}: {exc}") from None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # deliver() and close() may come from two threads

    @property
    def endpoint(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def deliver(self, findings: list[Finding]) -> None:
        if not findings:
            return
        messages = [self._message(f) for f in findings]
        with self._lock:
            try:
                if self.protocol == "udp":
                    sock = self._datagram_socket()
                    for message in messages:
                        sock.send(_cut_utf8(message, UDP_MAX_BYTES))
                else:
                    frames = b"".join(b"%d %b" % (len(m), m) for m in messages)
                    self._stream_socket().sendall(frames)
            except OSError as exc:
                self._drop()
                raise self._error(exc) from None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __repr__(self) -> str:
        return f"SyslogSink(id={self.id!r}, endpoint={self.endpoint!r}, {self.protocol})"

    # 1. Messages

    def _message(self, finding: Finding) -> bytes:
        pri = self.facility * 8 + SYSLOG_SEVERITIES.get(finding.severity, 5)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        msgid = _printable(finding.rule_id, 32)
        params = {
            "uid": finding.uid,
            "tenant": finding.tenant,
            "rule": finding.rule_id,
            "severity": finding.severity,
        }
        sd = " ".join(f'{k}="{sd_escape(v)}"' for k, v in params.items())
        head = f"<{pri}>1 {now} {self.hostname} {self.app_name} {os.getpid()} {msgid} "
        if self.format == "cef":
            body = cef_message(finding).encode("utf-8", "replace")
        else:
            body = orjson.dumps(finding.to_ocsf())
        return f"{head}[{SD_ID} {sd}] ".encode("utf-8", "replace") + BOM + body

    # 2. Transports

    def _datagram_socket(self) -> socket.socket:
        if self._sock is None:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.timeout_secs)
            # Connected: the kernel reports an unreachable port on a later send.
            sock.connect(address)
            self._sock = sock
        return self._sock

    def _stream_socket(self) -> socket.socket:
        if self._sock is not None and _peer_closed(self._sock, self.timeout_secs):
            self._drop()
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_secs)
            if self._context is not None:
                try:
                    sock = self._context.wrap_socket(sock, server_hostname=self.server_name)
                except BaseException:
                    sock.close()
                    raise
            self._sock = sock
        return self._sock

    def _drop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already broken: nothing left to release
                self._sock.close()
            self._sock = None

    def _error(self, exc: OSError) -> SinkError:
        where = f"{self.protocol} {self.endpoint}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SinkError(
                f"the TLS certificate of {where} is not trusted for {self.server_name} "
                f"({exc.verify_message}); set ca_file to the CA that issued it, or server_name "
                "to a name in the certificate",
                sink=self.id,
                retryable=False,
                code="tls_untrusted",
            )
        code = {
            TimeoutError: "timeout",
            socket.gaierror: "dns",
            ConnectionRefusedError: "conn_refused",
            ssl.SSLError: "tls",
        }.get(type(exc), "socket")
        if isinstance(exc, TimeoutError):
            what = f"no progress within {self.timeout_secs:g}s; check the receiver"
        elif isinstance(exc, socket.gaierror):
            what = f"cannot resolve {self.host} ({exc.strerror}); check the host name"
        elif isinstance(exc, ConnectionRefusedError):
            what = "connection refused; check that the receiver runs and the host and port"
        elif isinstance(exc, ssl.SSLError):
            what = f"TLS failed ({exc.reason or exc}); check that the port speaks TLS"
        else:
            what = f"{exc.strerror or exc}; the connection is reopened on the next delivery"
        return SinkError(f"{where}: {what}", sink=self.id, code=code)


def _peer_closed(sock: socket.socket, timeout_secs: float) -> bool:
    """Whether the receiver closed the connection: receivers never send anything else."""
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False  # nothing to read (or a TLS 1.3 session ticket): still open
    except OSError:
        return True
    finally:
        sock.settimeout(timeout_secs)
    return not data


def _facility(value: int | str, sink_id: str) -> int:
    number = FACILITIES.get(value) if isinstance(value, str) else value
    if number is None or not 0 <= number <= 23:
        names = ", ".join(FACILITIES)
        raise ValueError(f"{sink_id}: facility {value!r}; use 0-23 or one of {names}")
    return number


def _printable(value: str, limit: int) -> str:
    """A header field: PRINTUSASCII only (others become ``_``), at most ``limit``, or ``-``."""
    text = "".join(c if 33 <= ord(c) <= 126 else "_" for c in value[:limit])
    return text or "-"


def _cut_utf8(data: bytes, limit: int) -> bytes:
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", "ignore").encode()


def _source_ips(finding: Finding) -> tuple[str, str]:
    """The first IPv4 and IPv6 address among the finding's ``*.ip`` observables."""
    v4 = v6 = ""
    for key, values in sorted(finding.observables.items()):
        if key.split(".")[-1] not in ("ip", "ip_address", "ipaddress"):
            continue
        for value in values:
            try:
                address = ipaddress.ip_address(value.strip())
            except ValueError:
                continue
            if address.version == 4 and not v4:
                v4 = str(address)
            elif address.version == 6 and not v6:
                v6 = str(address)
    return v4, v6


def _epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
