"""SyslogSink against real UDP, TCP and TLS receivers on 127.0.0.1: RFC 5424 fields,
octet-counted framing, reconnection, TLS verification, CEF and SD escaping."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantwatch import __version__
from tenantwatch.errors import SinkError
from tenantwatch.sinks import SyslogSink
from tenantwatch.sinks.syslog import (
    BOM,
    UDP_MAX_BYTES,
    cef_header_escape,
    cef_value_escape,
    sd_escape,
)
from tests.sinks.conftest import Tls
from tests.sinks.helpers import (
    WAIT_SECS,
    StreamReceiver,
    closed_port,
    make_finding,
    parse_5424,
    parse_cef,
)

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT_SECS)
    yield sock
    sock.close()


@pytest.fixture
def tcp() -> Iterator[StreamReceiver]:
    receiver = StreamReceiver()
    yield receiver
    receiver.stop()


def _udp_sink(udp: socket.socket, **options: object) -> SyslogSink:
    return SyslogSink("127.0.0.1", udp.getsockname()[1], protocol="udp", **options)  # type: ignore[arg-type]


def _received(udp: socket.socket, count: int) -> list[bytes]:
    return [udp.recv(65535) for _ in range(count)]


def test_pri_carries_facility_and_mapped_severity(udp: socket.socket) -> None:
    severities = ["critical", "high", "medium", "low", "informational"]
    sink = _udp_sink(udp)
    sink.deliver([make_finding(n, severity=s) for n, s in enumerate(severities)])
    sink.close()
    pris = [parse_5424(d).pri for d in _received(udp, len(severities))]
    assert pris == [16 * 8 + 2, 16 * 8 + 3, 16 * 8 + 4, 16 * 8 + 5, 16 * 8 + 6]


@pytest.mark.parametrize(("facility", "code"), [("authpriv", 10), (10, 10), ("local7", 23)])
def test_facility_by_name_or_number(udp: socket.socket, facility: str | int, code: int) -> None:
    sink = _udp_sink(udp, facility=facility)
    sink.deliver([make_finding(severity="high")])
    sink.close()
    assert parse_5424(udp.recv(65535)).pri == code * 8 + 3


def test_header_fields(udp: socket.socket) -> None:
    sink = _udp_sink(udp, hostname="tw-host.example", app_name="tw app")
    sink.deliver([make_finding(rule_id="tw_password_spray")])
    sink.close()
    message = parse_5424(udp.recv(65535))
    assert message.version == "1"
    assert RFC3339_UTC.match(message.timestamp)
    assert message.hostname == "tw-host.example"
    assert message.app_name == "tw_app"
    assert message.procid == str(os.getpid())
    assert message.msgid == "tw_password_spray"


def test_msgid_is_printable_ascii_and_at_most_32_chars(udp: socket.socket) -> None:
    sink = _udp_sink(udp)
    sink.deliver([make_finding(rule_id="règle avec espaces et beaucoup trop longue")])
    sink.close()
    assert parse_5424(udp.recv(65535)).msgid == "r_gle_avec_espaces_et_beaucoup_t"


def test_structured_data_escapes_quote_bracket_backslash(udp: socket.socket) -> None:
    tenant = 'evil"] [x@1 a="b\\'
    sink = _udp_sink(udp)
    sink.deliver([make_finding(tenant=tenant, uid="f-1")])
    sink.close()
    message = parse_5424(udp.recv(65535))
    assert message.sd_id == "tenantwatch@32473"
    assert message.sd == {
        "uid": "f-1",
        "tenant": tenant,
        "rule": "tw_password_spray",
        "severity": "high",
    }


def test_json_msg_is_bom_and_the_ocsf_document(udp: socket.socket) -> None:
    finding = make_finding(entity={"user.name": "zoë@contoso.com"})
    sink = _udp_sink(udp)
    sink.deliver([finding])
    sink.close()
    msg = parse_5424(udp.recv(65535)).msg
    assert msg.startswith(BOM)
    assert orjson.loads(msg[len(BOM) :]) == orjson.loads(orjson.dumps(finding.to_ocsf()))


def test_udp_datagrams_are_cut_to_the_safe_size(udp: socket.socket) -> None:
    big = make_finding(observables={"src_endpoint.ip": ["é" * 40] * 400})
    sink = _udp_sink(udp)
    sink.deliver([big])
    sink.close()
    datagram = udp.recv(65535)
    assert len(datagram) <= UDP_MAX_BYTES
    datagram.decode("utf-8")  # cut on a character boundary


def test_tcp_frames_several_messages_on_one_connection(tcp: StreamReceiver) -> None:
    sink = SyslogSink("127.0.0.1", tcp.port, protocol="tcp")
    sink.deliver([make_finding(n) for n in range(3)])
    sink.deliver([make_finding(3)])
    sink.close()
    frames = [tcp.next_frame() for _ in range(4)]
    assert {number for number, _ in frames} == {0}
    assert [parse_5424(f).sd["uid"] for _, f in frames] == ["f0000", "f0001", "f0002", "f0003"]


def test_tcp_reconnects_after_the_receiver_closes() -> None:
    receiver = StreamReceiver(close_after=1)
    sink = SyslogSink("127.0.0.1", receiver.port, protocol="tcp")
    try:
        sink.deliver([make_finding(0)])
        assert receiver.next_frame()[0] == 0
        assert receiver.closed.wait(WAIT_SECS)
        sink.deliver([make_finding(1)])
        number, frame = receiver.next_frame()
    finally:
        sink.close()
        receiver.stop()
    assert number == 1
    assert parse_5424(frame).sd["uid"] == "f0001"


def test_tcp_closed_port_is_retryable() -> None:
    holder, port = closed_port()
    try:
        sink = SyslogSink("127.0.0.1", port, protocol="tcp")
        with pytest.raises(SinkError) as caught:
            sink.deliver([make_finding()])
        sink.close()
    finally:
        holder.close()
    assert caught.value.retryable
    assert f"tcp 127.0.0.1:{port}: connection refused" in str(caught.value)


def test_tls_with_the_private_ca_delivers(tls: Tls) -> None:
    receiver = StreamReceiver(tls=tls.server)
    sink = SyslogSink("127.0.0.1", receiver.port, protocol="tls", ca_file=tls.ca_file)
    try:
        sink.deliver([make_finding(0), make_finding(1)])
        frames = [receiver.next_frame() for _ in range(2)]
    finally:
        sink.close()
        receiver.stop()
    assert [parse_5424(f).sd["uid"] for _, f in frames] == ["f0000", "f0001"]


def test_tls_server_name_overrides_the_checked_name(tls: Tls) -> None:
    receiver = StreamReceiver(tls=tls.server)
    sink = SyslogSink(
        "127.0.0.1", receiver.port, protocol="tls", ca_file=tls.ca_file, server_name="localhost"
    )
    try:
        sink.deliver([make_finding()])
        assert receiver.next_frame()[0] == 0
    finally:
        sink.close()
        receiver.stop()


@pytest.mark.parametrize("trust", ["no-ca", "wrong-name"])
def test_tls_without_trust_is_not_retryable(tls: Tls, trust: str) -> None:
    receiver = StreamReceiver(tls=tls.server)
    if trust == "no-ca":
        sink = SyslogSink("127.0.0.1", receiver.port, protocol="tls")
    else:
        sink = SyslogSink(
            "127.0.0.1",
            receiver.port,
            protocol="tls",
            ca_file=tls.ca_file,
            server_name="siem.example.org",
        )
    try:
        with pytest.raises(SinkError) as caught:
            sink.deliver([make_finding()])
    finally:
        sink.close()
        receiver.stop()
    assert not caught.value.retryable
    assert "not trusted" in str(caught.value)
    assert receiver.frames.empty()


def test_cef_message_fields_and_escaping(udp: socket.socket) -> None:
    finding = make_finding(
        rule_title="Spray | many \\ accounts",
        entity={"user.name": "a=b\nc@contoso.com"},
        description="line one\nline two = more",
        observables={"src_endpoint.ip": ["not-an-ip", "2001:db8::1", "203.0.113.9"]},
    )
    sink = _udp_sink(udp, format="cef")
    sink.deliver([finding])
    sink.close()
    msg = parse_5424(udp.recv(65535)).msg
    assert msg.startswith(BOM + b"CEF:0|")
    line = msg[len(BOM) :].decode()
    assert "\n" not in line
    header, ext = parse_cef(line)
    assert header == [
        "tenantwatch",
        "tenantwatch",
        __version__,
        "tw_password_spray",
        "Spray | many \\ accounts",
        "8",
    ]
    assert ext["suser"] == "a=b\nc@contoso.com"
    assert ext["msg"] == "line one\nline two = more"
    assert ext["src"] == "203.0.113.9"
    assert ext["c6a2"] == "2001:db8::1"
    assert ext["rt"] == ext["end"] == str(int(finding.last_seen.timestamp() * 1000))
    assert ext["start"] == str(int(finding.first_seen.timestamp() * 1000))
    assert ext["cnt"] == "12"
    assert ext["externalId"] == finding.uid
    assert (ext["cs1Label"], ext["cs1"]) == ("tenant", "t-contoso")
    assert ext["cs2"] == "user.name=a=b\nc@contoso.com"
    assert ext["cs3"] == "T1110.003"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"protocol": "udp", "ca_file": "ca.pem"}, "need protocol: tls"),
        ({"protocol": "tcp", "facility": "local9"}, "facility"),
        ({"protocol": "smtp"}, "use udp, tcp or tls"),
        ({"protocol": "tcp", "format": "leef"}, "use json or cef"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SyslogSink("127.0.0.1", 514, **options)  # type: ignore[arg-type]


@given(st.text())
def test_sd_escape_round_trips(value: str) -> None:
    escaped = sd_escape(value)
    assert re.sub(r'\\(["\\\]])', r"\1", escaped) == value
    assert re.search(r'(?<!\\)(?:\\\\)*["\]]', escaped) is None


@given(st.text())
def test_cef_value_escape_round_trips(value: str) -> None:
    escaped = cef_value_escape(value)
    assert "\n" not in escaped
    assert "\r" not in escaped
    unescape = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
    assert re.sub(r"\\(.)", lambda m: unescape[m[1]], escaped) == value


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n")))
def test_cef_header_escape_round_trips(value: str) -> None:
    escaped = cef_header_escape(value)
    assert re.sub(r"\\(.)", r"\1", escaped) == value
    assert re.search(r"(?<!\\)(?:\\\\)*\|", escaped) is None
