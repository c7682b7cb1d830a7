"""EmailSink against a real SMTP server (aiosmtpd) on 127.0.0.1 that requires STARTTLS and a
login: the message, its attachment, and how refusals map to SinkError."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tenantwatch.errors import SinkError
from tenantwatch.sinks import EmailSink
from tests.sinks.conftest import Tls
from tests.sinks.helpers import closed_port, make_finding

USERNAME = "tenantwatch-test"
PASSWORD = "test-only-smtp-p4ssword"
SENDER = "tenantwatch@contoso.example"
RECIPIENTS = ["soc@contoso.example", "oncall@contoso.example"]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    over_tls: bool
    authenticated: bool


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)
    reply: str = "250 OK"  # the answer to DATA

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message,
                session.ssl is not None,
                bool(session.authenticated),
            )
        )
        return self.reply


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


class EphemeralController(Controller):
    """A Controller on a port the OS picks (aiosmtpd wants a fixed one)."""

    def _create_server(self) -> Any:
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp(tls: Tls) -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = EphemeralController(
        mailbox,
        hostname="127.0.0.1",
        server_hostname="localhost",
        tls_context=tls.server,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticate,
        ready_timeout=5.0,
    )
    controller.start()
    yield SmtpServer(controller.port, mailbox)
    controller.stop()


def _sink(smtp: SmtpServer, tls: Tls, **options: Any) -> EmailSink:
    values: dict[str, Any] = {
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "username": USERNAME,
        "password": PASSWORD,
        "ca_file": tls.ca_file,
    }
    values.update(options)
    return EmailSink("127.0.0.1", smtp.port, **values)


def _error(sink: EmailSink) -> SinkError:
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_finding()])
    return caught.value


def test_one_message_per_delivery_over_starttls_with_login(smtp: SmtpServer, tls: Tls) -> None:
    sink = _sink(smtp, tls)
    sink.deliver([make_finding(0, severity="medium"), make_finding(1, severity="critical")])
    sink.close()
    (received,) = smtp.mailbox.received
    assert received.over_tls
    assert received.authenticated
    assert received.mail_from == SENDER
    assert received.rcpt_tos == RECIPIENTS
    assert received.message["Subject"] == (
        "[tenantwatch] 2 findings, highest CRITICAL: Password spray against many accounts"
    )
    assert received.message["Auto-Submitted"] == "auto-generated"


def test_attachment_is_the_ocsf_findings(smtp: SmtpServer, tls: Tls) -> None:
    findings = [make_finding(0), make_finding(1)]
    sink = _sink(smtp, tls)
    sink.deliver(findings)
    sink.close()
    message = smtp.mailbox.received[0].message
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "findings.json"
    assert attachment.get_content_type() == "application/json"
    expected = orjson.loads(orjson.dumps([f.to_ocsf() for f in findings]))
    assert orjson.loads(attachment.get_content()) == {"findings": expected}


def test_body_has_a_block_per_finding_with_values_on_one_line(smtp: SmtpServer, tls: Tls) -> None:
    forged = "eve@contoso.com\n  events    0"
    sink = _sink(smtp, tls)
    sink.deliver([make_finding(0), make_finding(1, entity={"user.name": forged})])
    sink.close()
    body = smtp.mailbox.received[0].message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "HIGH  Password spray against many accounts" in text
    assert "user0@contoso.com" in text
    assert "eve@contoso.com\\n  events    0" in text
    events = [line.split() for line in text.splitlines() if line.startswith("  events ")]
    assert events == [["events", "12"], ["events", "12"]]
    assert "T1110.003" in text
    assert "f0000" in text
    assert "f0001" in text


def test_wrong_password_is_not_retryable_and_not_shown(smtp: SmtpServer, tls: Tls) -> None:
    wrong = "wrong-p4ssword-value"
    sink = _sink(smtp, tls, password=wrong)
    error = _error(sink)
    assert not error.retryable
    assert "535" in str(error)
    assert "check the SMTP username and password" in str(error)
    assert wrong not in str(error)
    assert wrong not in repr(sink)
    assert smtp.mailbox.received == []


def test_untrusted_certificate_is_not_retryable(smtp: SmtpServer, tls: Tls) -> None:
    error = _error(_sink(smtp, tls, ca_file=None))
    assert not error.retryable
    assert "not trusted" in str(error)
    assert smtp.mailbox.received == []


def test_a_server_that_wants_starttls_refuses_a_plain_session(smtp: SmtpServer, tls: Tls) -> None:
    sink = _sink(smtp, tls, username=None, password=None, starttls=False, ca_file=None)
    error = _error(sink)
    assert not error.retryable
    assert "SMTP 530" in str(error)
    assert "starttls" in str(error)


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.3.0 Try again later", True), ("554 5.7.1 Message rejected as spam", False)],
)
def test_smtp_4xx_is_retryable_and_5xx_is_not(
    smtp: SmtpServer, tls: Tls, reply: str, retryable: bool
) -> None:
    smtp.mailbox.reply = reply
    error = _error(_sink(smtp, tls))
    assert error.retryable is retryable
    assert f"SMTP {reply[:3]} ({reply[4:]})" in str(error)


def test_closed_port_is_retryable() -> None:
    holder, port = closed_port()
    try:
        sink = EmailSink("127.0.0.1", port, sender=SENDER, recipients=RECIPIENTS)
        error = _error(sink)
    finally:
        holder.close()
    assert error.retryable
    assert f"127.0.0.1:{port}: connection refused" in str(error)


def test_credentials_without_starttls_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="set starttls: true") as caught:
        EmailSink(
            "smtp.example.org",
            587,
            sender=SENDER,
            recipients=RECIPIENTS,
            username=USERNAME,
            password=PASSWORD,
            starttls=False,
        )
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"recipients": []}, "no recipients"),
        ({"recipients": ["soc@contoso.example\r\nBcc: x@evil.example"]}, "not an email address"),
        ({"username": USERNAME}, "both username and password"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], match: str) -> None:
    values: dict[str, Any] = {"sender": SENDER, "recipients": RECIPIENTS, **options}
    with pytest.raises(ValueError, match=match):
        EmailSink("smtp.example.org", 587, **values)
