"""An Azure Event Hubs namespace, over AMQP 1.0 with TLS, fed by Entra ID diagnostic settings.

A tenant's diagnostic setting streams every Entra log category (``SignInLogs``,
``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``, ``ManagedIdentitySignInLogs``,
``AuditLogs``) to one event hub; each event's body is ``{"records": [...]}`` of Azure Monitor
records (learn.microsoft.com/entra/identity/monitoring-health/howto-stream-logs-to-event-hub).
Records enter the hub when they become available (the same time Graph shows them).

The AMQP contract followed (learn.microsoft.com/azure/event-hubs/event-hubs-amqp-troubleshoot,
azure/service-bus-messaging/service-bus-amqp-protocol-guide, .../event-hubs-features):

- claims-based security: the client sends ``put-token`` to the ``$cbs`` node with a SAS token
  (``SharedAccessSignature sr=...&sig=...&se=...&skn=...``, HMAC-SHA256 of the URL-encoded
  resource and expiry with the policy's key); links to a hub without a valid token for it are
  refused with ``amqp:unauthorized-access``;
- ``$management`` answers ``READ`` of ``com.microsoft:eventhub`` (partition ids) and
  ``com.microsoft:partition`` (sequence numbers, offsets, enqueued times);
- a receiver attaches to ``<hub>/ConsumerGroups/<group>/Partitions/<id>`` with an
  ``apache.org:selector-filter:string`` on ``amqp.annotation.x-opt-offset``,
  ``x-opt-sequence-number`` or ``x-opt-enqueued-time`` (``>`` or ``>=``); events carry those
  three message annotations; a position older than the retention starts at the oldest event.

Frames are encoded and decoded with the AMQP 1.0 codec of ``azure-eventhub``'s pure-Python
transport (``azure.eventhub._pyamqp``), which writes every performative field as the service
does; each connection is served by its own thread over TLS, and a publisher thread moves newly
available records into the partitions every ``tick_secs`` (real time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import logging
import re
import socket
import ssl
import struct
import threading
import time
import urllib.parse
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from azure.eventhub._pyamqp import performatives as amqp
from azure.eventhub._pyamqp._decode import decode_frame, decode_payload
from azure.eventhub._pyamqp._encode import encode_frame, encode_payload
from azure.eventhub._pyamqp.endpoints import Source, Target
from azure.eventhub._pyamqp.error import AMQPError
from azure.eventhub._pyamqp.message import Message, Properties
from azure.eventhub._pyamqp.outcomes import Accepted
from azure.eventhub._pyamqp.types import TYPE, VALUE, AMQPTypes

from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render.azure_monitor import azure_monitor_record
from tenantwatch.emulator.state import EmulatorState
from tenantwatch.emulator.streams import GRAPH_DIRECTORY_AUDITS
from tenantwatch.emulator.timeline import Served
from tenantwatch.emulator.tls import TlsFiles

__all__ = ["EventHubNamespace", "HubEvent", "sas_token"]

log = logging.getLogger("tenantwatch.emulator.event_hub")

SIGNIN_STREAMS = tuple(
    f"graph/signIns/{t}"
    for t in ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")
)
ENTRA_STREAMS = (*SIGNIN_STREAMS, GRAPH_DIRECTORY_AUDITS)
MAX_RECORDS_PER_EVENT = 50
IO_WAIT_SECS = 0.02  # how often a connection looks for new events to send when idle
_SELECTOR = re.compile(
    r"amqp\.annotation\.x-opt-(?P<key>offset|sequence-number|enqueued-time)\s*"
    r"(?P<op>>=|>)\s*'(?P<value>-?\d+|@latest)'"
)
_PARTITION_ADDRESS = re.compile(
    r"^(?:amqps?://[^/]+/)?(?P<hub>[^/]+)/ConsumerGroups/(?P<group>[^/]+)/Partitions/(?P<pid>\d+)$",
    re.I,
)


def _signature(resource: str, expiry: int | str, key: str) -> str:
    """HMAC-SHA256 of the URL-encoded resource and the expiry, base64 (the SAS ``sig``)."""
    signed = f"{urllib.parse.quote_plus(resource)}\n{expiry}".encode()
    return base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()


def sas_token(resource: str, key_name: str, key: str, expiry: int) -> str:
    """A Shared Access Signature for ``resource`` (what a client's SDK computes)."""
    return (
        f"SharedAccessSignature sr={urllib.parse.quote_plus(resource)}"
        f"&sig={urllib.parse.quote_plus(_signature(resource, expiry, key))}"
        f"&se={expiry}&skn={key_name}"
    )


def _check_sas(token: str, key_name: str, key: str, now: float) -> tuple[str, int] | None:
    """The resource a valid token grants (lower case, without scheme) and when it expires,
    else None."""
    if not token.startswith("SharedAccessSignature "):
        return None
    fields = urllib.parse.parse_qs(token.removeprefix("SharedAccessSignature "))
    try:
        resource, sig, expiry, name = (fields[k][0] for k in ("sr", "sig", "se", "skn"))
        expires = int(expiry)
    except (KeyError, ValueError):
        return None
    if name != key_name or expires < now:
        return None
    if not hmac.compare_digest(_signature(resource, expiry, key), sig):
        return None
    return re.sub(r"^(sb|amqps?|https?)://", "", resource.lower()).rstrip("/"), expires


def _covers(resource: str, wanted: str) -> bool:
    """A token for ``resource`` grants ``wanted``: the same path or one below it."""
    return wanted == resource or wanted.startswith(resource + "/")


@dataclass(frozen=True, slots=True)
class HubEvent:
    """One event in a partition."""

    sequence_number: int
    offset: int
    enqueued: datetime
    body: bytes
    record_ids: tuple[str, ...]


@dataclass
class _Partition:
    events: deque[HubEvent] = field(default_factory=deque)
    next_sequence: int = 0
    next_offset: int = 0

    def append(self, enqueued: datetime, body: bytes, ids: tuple[str, ...]) -> None:
        self.events.append(HubEvent(self.next_sequence, self.next_offset, enqueued, body, ids))
        self.next_sequence += 1
        self.next_offset += len(body)

    def expire(self, before: datetime) -> None:
        while self.events and self.events[0].enqueued < before:
            self.events.popleft()

    def start_index(self, key: str, op: str, value: int) -> int:
        """Index of the first event the selector admits (len when none yet)."""

        def position(e: HubEvent) -> int:
            if key == "offset":
                return e.offset
            if key == "sequence-number":
                return e.sequence_number
            return int(e.enqueued.timestamp() * 1000)

        for i, event in enumerate(self.events):
            p = position(event)
            if p > value or (op == ">=" and p == value):
                return i
        return len(self.events)


@dataclass
class _Hub:
    name: str
    tenant_id: str
    created: datetime
    partitions: list[_Partition]
    published_until: dict[str, datetime] = field(default_factory=dict)  # stream → time


class EventHubNamespace:
    """An Event Hubs namespace serving one hub per emulated tenant (``entra-<tenant id>``).

    >>> ns = EventHubNamespace(state, tls=server.tls).start()   # doctest: +SKIP
    >>> ns.connection_string("entra-" + tenant_id)               # doctest: +SKIP
    """

    def __init__(
        self,
        state: EmulatorState,
        *,
        tls: TlsFiles,
        host: str = "127.0.0.1",
        port: int = 0,
        partitions: int = 4,
        retention: timedelta = timedelta(days=1),
        history: timedelta = timedelta(0),
        namespace: str = "tenantwatch-emulated",
        key_name: str = "tenantwatch-listen",
        key: str | None = None,
        tick_secs: float = 0.05,
        consumer_groups: tuple[str, ...] = ("$Default", "tenantwatch"),
    ) -> None:
        self.state = state
        self.tls = tls
        self.host = host
        self.retention = retention
        self.namespace = f"{namespace}.servicebus.windows.net"
        self.key_name = key_name
        self.key = (
            key or base64.b64encode(hashlib.sha256(state.control_key.encode()).digest()).decode()
        )
        self.tick_secs = tick_secs
        self.consumer_groups = consumer_groups
        # bound now (port 0: a free one), listening once started
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = int(self._sock.getsockname()[1])
        now = state.clock.now()
        self.hubs: dict[str, _Hub] = {
            f"entra-{tenant_id}": _Hub(
                f"entra-{tenant_id}",
                tenant_id,
                now - history,
                [_Partition() for _ in range(partitions)],
            )
            for tenant_id in state.tenants
        }
        self.events_published = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- what a client needs --------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The address to connect to (``custom_endpoint_address`` of the Event Hubs SDK)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sb://{host}:{self.port}"

    def connection_string(self, hub: str) -> str:
        return (
            f"Endpoint=sb://{self.namespace}/;SharedAccessKeyName={self.key_name};"
            f"SharedAccessKey={self.key};EntityPath={hub}"
        )

    # -- publishing ------------------------------------------------------------------------------

    def publish(self, now: datetime | None = None) -> int:
        """Move the records that became available since the last call into the partitions.
        A stream stalled through the control API (``stall_streams``) holds its records back
        until it is resumed, as Graph does."""
        now = now or self.state.clock.now()
        published = 0
        for hub in self.hubs.values():
            tenant = self.state.tenants[hub.tenant_id]
            latest = max(
                (tenant.timeline.latency[k].max_delay for k in tenant.timeline.latency),
                default=timedelta(hours=1),
            )
            fresh: list[Served] = []
            for stream in ENTRA_STREAMS:
                stalled = self.state.faults.stalled_at(stream)
                until = now if stalled is None else min(now, stalled)
                since = hub.published_until.get(stream, hub.created)
                if until <= since:
                    continue
                hub.published_until[stream] = until
                fresh.extend(
                    s
                    for s in tenant.timeline.graph_records(stream, since - latest, until)
                    if since < s.available <= until
                )
            fresh.sort(key=lambda s: (s.available, s.id))
            by_partition: dict[int, list[Served]] = {}
            for s in fresh:
                pid = zlib.crc32(s.id.encode()) % len(hub.partitions)
                by_partition.setdefault(pid, []).append(s)
            for pid, served in sorted(by_partition.items()):
                for i in range(0, len(served), MAX_RECORDS_PER_EVENT):
                    chunk = served[i : i + MAX_RECORDS_PER_EVENT]
                    records = [azure_monitor_record(_entra(s), hub.tenant_id) for s in chunk]
                    body = orjson.dumps({"records": records})
                    with self.lock:
                        hub.partitions[pid].append(
                            chunk[-1].available, body, tuple(s.id for s in chunk)
                        )
                    published += 1
            with self.lock:
                for partition in hub.partitions:
                    partition.expire(now - self.retention)
        self.events_published += published
        return published

    # -- serving ---------------------------------------------------------------------------------

    def start(self) -> EventHubNamespace:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        for target, name in ((self._accept, "accept"), (self._publish_loop, "publish")):
            thread = threading.Thread(
                target=target,
                args=(context,) if name == "accept" else (),
                daemon=True,
                name=f"event-hubs-{name}",
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _publish_loop(self) -> None:
        while not self._stop.wait(self.tick_secs):
            self.publish()

    def _accept(self, context: ssl.SSLContext) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=_Connection(self, raw, context).serve, daemon=True, name="event-hubs-conn"
            )
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> EventHubNamespace:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _entra(served: Served) -> SignIn | DirectoryAudit:
    activity = served.activity
    assert isinstance(activity, SignIn | DirectoryAudit)
    return activity


def _terminus(kind: Any, address: str) -> Any:
    """A ``Source`` or ``Target`` with only its address (every other field null)."""
    return kind(address, *([None] * (len(kind._fields) - 1)))


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def _millis(when: datetime) -> dict[str, Any]:
    """An AMQP timestamp (milliseconds since the epoch)."""
    return {TYPE: AMQPTypes.timestamp, VALUE: int(when.timestamp() * 1000)}


def _long(value: int) -> dict[str, Any]:
    return {TYPE: AMQPTypes.long, VALUE: value}


class _Closed(Exception):
    """The peer went away."""


@dataclass
class _Link:
    """One attached link of a connection, as the namespace sees it."""

    handle: int  # the handle the client chose (frames from the client name it)
    our_handle: int
    channel: int
    sender: bool  # the namespace sends on it (the client receives)
    address: str
    hub: _Hub | None = None
    partition: int = 0
    next_sequence: int = 0
    credit: int = 0
    delivery_count: int = 0


_HEADER_SASL = b"AMQP\x03\x01\x00\x00"
_HEADER_AMQP = b"AMQP\x00\x01\x00\x00"
_EMPTY_FRAME = b"\x00\x00\x00\x08\x02\x00\x00\x00"


class _Connection:
    """One client connection: SASL, then AMQP sessions and links (its own thread)."""

    def __init__(self, ns: EventHubNamespace, raw: socket.socket, context: ssl.SSLContext):
        self.ns = ns
        self.raw = raw
        self.context = context
        self.sock: ssl.SSLSocket | None = None
        self.buffer = bytearray()
        self.links: dict[tuple[int, int], _Link] = {}  # (channel, client handle) → link
        self.next_handle = 0
        self.next_delivery: dict[int, int] = {}  # channel → next outgoing delivery id
        self.incoming: dict[tuple[int, int], bytearray] = {}  # multi-frame transfers
        self.granted: dict[str, float] = {}  # resource → expiry (put-token)
        self.max_frame = 512
        self.last_sent = time.monotonic()
        self._first = (0, True)  # delivery id and settled flag of the transfer being read

    # plumbing ------------------------------------------------------------------------------------

    def serve(self) -> None:
        try:
            self.raw.settimeout(10)
            self.sock = self.context.wrap_socket(self.raw, server_side=True)
            self._handshake()
            self.sock.settimeout(IO_WAIT_SECS)
            while not self.ns._stop.is_set():
                frame = self._read_frame()
                if frame is not None:
                    self._dispatch(*frame)
                self._pump()
                if time.monotonic() - self.last_sent > 15:
                    self._write(_EMPTY_FRAME)
        except (_Closed, OSError):
            pass
        except Exception:  # a bad frame ends this connection only
            log.warning("event hub connection failed", exc_info=True)
        finally:
            (self.sock or self.raw).close()

    def _fill(self, size: int) -> None:
        """Read until ``size`` bytes are buffered (a timeout keeps what arrived)."""
        assert self.sock is not None
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Closed
            self.buffer += chunk

    def _recv(self, size: int) -> bytes:
        self._fill(size)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _read_frame(self) -> tuple[int, int, list[Any]] | None:
        """(channel, performative code, fields) of the next frame; None on a quiet tick or an
        empty (heartbeat) frame."""
        try:
            self._fill(8)
            size, doff, _kind, channel = struct.unpack(">IBBH", bytes(self.buffer[:8]))
            self._fill(size)
        except TimeoutError:
            return None
        body = self._recv(size)[doff * 4 :]
        if not body:
            return None
        code, fields = decode_frame(memoryview(body))
        return channel, code, fields

    def _write(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.settimeout(10)
        self.sock.sendall(data)
        self.sock.settimeout(IO_WAIT_SECS)
        self.last_sent = time.monotonic()

    def _send(self, channel: int, performative: Any, kind: bytes = b"\x00") -> None:
        header, body = encode_frame(performative, frame_type=kind)
        header = header[:6] + struct.pack(">H", channel)
        self._write(header + (body or b""))

    def _handshake(self) -> None:
        assert self.sock is not None
        if self._recv(8) != _HEADER_SASL:
            self._write(_HEADER_SASL)
            raise _Closed
        self._write(_HEADER_SASL)
        self._send(0, amqp.SASLMechanism([b"MSSBCBS", b"ANONYMOUS"]), b"\x01")
        size = struct.unpack(">I", self._recv(4))[0]
        self._recv(size - 4)  # sasl-init: the client's identity is its CBS token, not this
        self._send(0, amqp.SASLOutcome(code=0, additional_data=None), b"\x01")
        if self._recv(8) != _HEADER_AMQP:
            raise _Closed
        self._write(_HEADER_AMQP)

    # performatives --------------------------------------------------------------------------------

    def _dispatch(self, channel: int, code: int, f: list[Any]) -> None:
        if code == 0x10:  # open
            self.max_frame = int(f[2] or 65536)
            self._send(
                0,
                amqp.OpenFrame(
                    "tenantwatch-event-hubs", None, 65536, 4999, None, None, None, None, None, None
                ),
            )
        elif code == 0x11:  # begin
            self.next_delivery[channel] = 0
            self._send(
                channel,
                amqp.BeginFrame(channel, 0, 65536, 65536, 262143, None, None, None),
            )
        elif code == 0x12:  # attach
            self._attach(channel, f)
        elif code == 0x13:  # flow
            link = self.links.get((channel, f[4])) if f[4] is not None else None
            if link is not None and link.sender:
                delivery_count = f[5] if f[5] is not None else 0
                link.credit = delivery_count + int(f[6] or 0) - link.delivery_count
        elif code == 0x14:  # transfer
            self._transfer(channel, f)
        elif code == 0x16:  # detach
            link = self.links.pop((channel, f[0]), None)
            if link is not None:
                self._send(channel, amqp.DetachFrame(link.our_handle, True, None))
        elif code == 0x17:  # end
            self.links = {k: v for k, v in self.links.items() if k[0] != channel}
            self._send(channel, amqp.EndFrame(None))
        elif code == 0x18:  # close
            self._send(0, amqp.CloseFrame(None))
            raise _Closed

    def _attach(self, channel: int, f: list[Any]) -> None:
        name, handle, client_receives = f[0], f[1], bool(f[2])
        source, target = f[5] or [], f[6] or []
        address = _text(source[0] if client_receives and source else target[0] if target else "")
        link = _Link(handle, self.next_handle, channel, client_receives, address)
        self.next_handle += 1
        refusal: tuple[str, str] | None = None
        node = address.lower()
        if node not in ("$cbs", "$management"):
            if not client_receives:
                refusal = ("amqp:not-allowed", f"cannot send to {address}")
            else:
                refusal = self._reader(link, source)
        self._send(
            channel,
            amqp.AttachFrame(
                name,
                link.our_handle,
                not client_receives,
                None if client_receives else 1,
                None,
                _terminus(Source, address) if refusal is None or not client_receives else None,
                _terminus(Target, address) if refusal is None or client_receives else None,
                None,
                None,
                0 if client_receives else None,
                None,
                None,
                None,
                None,
            ),
        )
        if refusal is not None:
            error = AMQPError(condition=refusal[0].encode(), description=refusal[1], info=None)
            log.info("refused link to %s: %s", address, refusal[1])
            self._send(channel, amqp.DetachFrame(link.our_handle, True, error))
            return
        self.links[(channel, handle)] = link
        if not client_receives:
            self._send(
                channel,
                amqp.FlowFrame(
                    0,
                    65536,
                    self.next_delivery.get(channel, 0),
                    65536,
                    link.our_handle,
                    0,
                    1000,
                    None,
                    None,
                    None,
                    None,
                ),
            )

    def _reader(self, link: _Link, source: list[Any]) -> tuple[str, str] | None:
        match = _PARTITION_ADDRESS.match(link.address)
        hub = self.ns.hubs.get(match["hub"]) if match else None
        if match is None or hub is None:
            return ("amqp:not-found", f"The messaging entity '{link.address}' was not found.")
        if not self._allowed(hub.name, link.address):
            return ("amqp:unauthorized-access", f"Unauthorized access to '{hub.name}'.")
        if match["group"].lower() not in {g.lower() for g in self.ns.consumer_groups}:
            return (
                "amqp:not-found",
                f"The messaging entity '{hub.name}/ConsumerGroups/{match['group']}' was not found.",
            )
        pid = int(match["pid"])
        if pid >= len(hub.partitions):
            return ("amqp:not-found", f"Partition {pid} does not exist.")
        filters = source[7] if len(source) > 7 and source[7] else {}
        selector = (
            " ".join(_text(v[1] if isinstance(v, tuple | list) else v) for v in filters.values())
            if isinstance(filters, dict)
            else ""
        )
        with self.ns.lock:
            start = _start_sequence(selector, hub.partitions[pid])
        if start is None:
            return ("amqp:invalid-field", f"Invalid selector filter: {selector}")
        link.hub, link.partition, link.next_sequence = hub, pid, start
        return None

    def _allowed(self, hub: str, address: str) -> bool:
        """A token was put for the namespace, the hub, or this very link's path."""
        path = re.sub(r"^amqps?://[^/]+/", "", address).lower()
        wanted = f"{self.ns.namespace}/{path}"
        now = time.time()
        return any(expiry > now and _covers(r, wanted) for r, expiry in self.granted.items())

    def _transfer(self, channel: int, f: list[Any]) -> None:
        key = (channel, f[0])
        payload = self.incoming.setdefault(key, bytearray())
        payload += bytes(f[-1])
        if f[1] is not None:
            self._first = (f[1], bool(f[4]))
        if f[5]:  # more frames follow
            return
        delivery_id, settled = self._first
        message = decode_payload(memoryview(self.incoming.pop(key)))
        if not settled:
            self._send(
                channel,
                amqp.DispositionFrame(True, delivery_id, delivery_id, True, Accepted(), None),
            )
        link = self.links.get(key)
        if link is None:
            return
        props = {_text(k): v for k, v in (message.application_properties or {}).items()}
        node = link.address.lower()
        reply = (
            self._put_token(message, props) if node == "$cbs" else self._management(message, props)
        )
        reply_to = _text(message.properties.reply_to if message.properties else "") or node
        for out in self.links.values():
            if (
                out.sender
                and out.channel == channel
                and out.address.lower() in (reply_to.lower(), node)
            ):
                self._deliver(out, encode_payload(bytearray(), reply))
                return

    def _reply(self, request: Message, code: int, description: str, body: Any = None) -> Message:
        request_id: Any = request.properties.message_id if request.properties else None
        return Message(
            properties=Properties(correlation_id=request_id),
            application_properties={"status-code": code, "status-description": description},
            value=body,
        )

    def _put_token(self, request: Message, props: dict[str, Any]) -> Message:
        if _text(props.get("operation")) != "put-token":
            return self._reply(request, 400, "Unsupported operation")
        data: Any = request.data or []
        token = _text(request.value if request.value is not None else b"".join(data))
        granted = _check_sas(token, self.ns.key_name, self.ns.key, time.time())
        if granted is None:
            return self._reply(request, 401, "InvalidSignature: the token is not valid.")
        resource, expires = granted
        self.granted[resource] = float(expires)  # links need a new token after ``se``
        return self._reply(request, 202, "Accepted")

    def _management(self, request: Message, props: dict[str, Any]) -> Message:
        if _text(props.get("operation")) != "READ":
            return self._reply(request, 400, "Unsupported operation")
        name = _text(props.get("name"))
        hub = self.ns.hubs.get(name)
        if hub is None:
            return self._reply(request, 404, f"The messaging entity '{name}' was not found.")
        granted = _check_sas(
            _text(props.get("security_token")), self.ns.key_name, self.ns.key, time.time()
        )
        if granted is None or not _covers(granted[0], f"{self.ns.namespace}/{name}".lower()):
            return self._reply(request, 401, "Unauthorized")
        kind = _text(props.get("type"))
        if kind == "com.microsoft:eventhub":
            return self._reply(
                request,
                200,
                "OK",
                {
                    "name": hub.name,
                    "type": kind,
                    "created_at": _millis(hub.created),
                    "partition_count": len(hub.partitions),
                    "partition_ids": [str(i) for i in range(len(hub.partitions))],
                },
            )
        if kind == "com.microsoft:partition":
            pid = int(_text(props.get("partition")) or "0")
            if pid >= len(hub.partitions):
                return self._reply(request, 404, f"Partition {pid} does not exist.")
            with self.ns.lock:
                p = hub.partitions[pid]
                last = p.events[-1] if p.events else None
                first = p.events[0].sequence_number if p.events else -1
            return self._reply(
                request,
                200,
                "OK",
                {
                    "name": hub.name,
                    "type": kind,
                    "partition": str(pid),
                    "begin_sequence_number": _long(first),
                    "last_enqueued_sequence_number": _long(last.sequence_number if last else -1),
                    "last_enqueued_offset": str(last.offset) if last else "-1",
                    "last_enqueued_time_utc": _millis(last.enqueued if last else hub.created),
                    "is_partition_empty": last is None,
                },
            )
        return self._reply(request, 400, "Unsupported type")

    # sending events ---------------------------------------------------------------------------

    def _pump(self) -> None:
        for link in list(self.links.values()):
            if link.hub is None or link.credit <= 0:
                continue
            with self.ns.lock:
                held = link.hub.partitions[link.partition].events
                index = max(0, link.next_sequence - held[0].sequence_number) if held else 0
                events = list(itertools.islice(held, index, index + link.credit))
            for e in events:
                message = Message(
                    data=[e.body],
                    message_annotations={
                        b"x-opt-sequence-number": _long(e.sequence_number),
                        b"x-opt-offset": str(e.offset),
                        b"x-opt-enqueued-time": _millis(e.enqueued),
                    },
                )
                self._deliver(link, encode_payload(bytearray(), message))
                link.next_sequence = e.sequence_number + 1

    def _deliver(self, link: _Link, payload: bytes) -> None:
        """One message as one or more transfer frames (pre-settled)."""
        delivery_id = self.next_delivery.get(link.channel, 0)
        self.next_delivery[link.channel] = delivery_id + 1
        room = max(512, self.max_frame - 1024)
        chunks = [payload[i : i + room] for i in range(0, len(payload), room)] or [b""]
        for i, chunk in enumerate(chunks):
            first = i == 0
            self._send(
                link.channel,
                amqp.TransferFrame(
                    handle=link.our_handle,
                    delivery_id=delivery_id if first else None,
                    delivery_tag=struct.pack(">Q", delivery_id) if first else None,
                    message_format=0 if first else None,
                    settled=True if first else None,
                    more=i < len(chunks) - 1,
                    payload=chunk,
                ),
            )
        link.credit -= 1
        link.delivery_count += 1


def _start_sequence(selector: str, partition: _Partition) -> int | None:
    """The first sequence number a receiver with this selector gets."""
    oldest = partition.events[0].sequence_number if partition.events else partition.next_sequence
    if not selector.strip():
        return oldest
    m = _SELECTOR.search(selector)
    if m is None:
        return None
    if m["value"] == "@latest":  # only what is enqueued from now on
        return partition.next_sequence
    value = int(m["value"])
    if value == -1 and m["key"] == "offset":  # "-1": from the start of the stream
        return oldest
    index = partition.start_index(m["key"], m["op"], value)
    if index < len(partition.events):
        return partition.events[index].sequence_number
    if m["key"] == "sequence-number":
        return max(value + (0 if m["op"] == ">=" else 1), partition.next_sequence)
    return partition.next_sequence
