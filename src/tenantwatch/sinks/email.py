"""Findings mailed over SMTP: one message per delivery, the OCSF JSON attached.

The message has a plain-text body with one block per finding and ``findings.json`` attached
(``{"findings": [<OCSF Detection Finding>, ...]}``, as the webhook sends it). STARTTLS is on by
default and verifies the server's certificate; a username and password are only ever sent after
STARTTLS, so a sink with a username and ``starttls=False`` is refused when it is built.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import orjson

from tenantwatch.errors import SinkError
from tenantwatch.model.finding import SEVERITY_IDS, Finding

__all__ = ["EmailSink", "email_message"]

MAX_VALUE_CHARS = 500  # one entity or observable value in the body
MAX_VALUES = 10  # observable values listed per observable
MAX_SUBJECT_CHARS = 200

log = logging.getLogger("tenantwatch.sinks")

# Control and bidirectional-override characters would let a value fake lines or reverse text.
_INVISIBLE = (
    {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}
    | {c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
)
# What an SMTP reply code means for the user.
_CODE_HINTS = {
    530: "the server wants STARTTLS or a login first; set starttls, username and password",
    550: "the server refused the sender or a recipient; check the addresses",
    552: "the message is too large for the server",
    553: "the server refused an address; check sender and recipients",
    554: "the server refused the message (policy or spam filter)",
}


def email_message(
    findings: list[Finding],
    *,
    sender: str,
    recipients: list[str],
    subject_prefix: str = "[tenantwatch]",
) -> EmailMessage:
    """The message for one delivery: a summary subject, a text body, ``findings.json``."""
    top = max(findings, key=lambda f: SEVERITY_IDS.get(f.severity, 0))
    count = f"{len(findings)} finding" + ("s" if len(findings) > 1 else "")
    highest = "highest " if len(findings) > 1 else ""
    subject = f"{subject_prefix} {count}, {highest}{top.severity.upper()}: {top.rule_title}"
    message = EmailMessage()
    message["Subject"] = _cut(" ".join(_visible(subject).split()), MAX_SUBJECT_CHARS)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid("tenantwatch", domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    intro = f"tenantwatch raised {count}. The OCSF documents are attached as findings.json."
    message.set_content("\n\n".join([intro, *(_block(f) for f in findings)]) + "\n")
    body = orjson.dumps({"findings": [f.to_ocsf() for f in findings]}, option=orjson.OPT_INDENT_2)
    message.add_attachment(body, maintype="application", subtype="json", filename="findings.json")
    return message


class EmailSink:
    """Mails each delivery to ``recipients`` through the SMTP server at ``host:port``.

    TLS is verified against ``ca_file`` alone when it is given, else the system store.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        recipients: list[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        sink_id: str = "email",
        timeout_secs: float = 10,
        ca_file: Path | str | None = None,
        subject_prefix: str = "[tenantwatch]",
    ) -> None:
        self.id = sink_id
        if username is not None and not starttls:
            raise ValueError(
                f"{sink_id}: refusing to send the SMTP password over a connection without "
                "STARTTLS; set starttls: true (or remove username and password)"
            )
        if (username is None) != (password is None):
            raise ValueError(f"{sink_id}: set both username and password, or neither")
        if not recipients:
            raise ValueError(f"{sink_id}: no recipients; list at least one address")
        for address in (sender, *recipients):
            if "@" not in address or any(c.isspace() or ord(c) < 32 for c in address):
                raise ValueError(f"{sink_id}: {address!r} is not an email address")
        if ca_file is not None and not starttls:
            raise ValueError(f"{sink_id}: ca_file needs starttls: true")
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.timeout_secs = timeout_secs
        self.subject_prefix = subject_prefix
        self._username = username
        self._password = password
        self._context: ssl.SSLContext | None = None
        if starttls:
            try:
                self._context = ssl.create_default_context(
                    cafile=None if ca_file is None else str(ca_file)
                )
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{sink_id}: cannot load ca_file {ca_file}: {exc}") from None
        self._local_hostname: str | None = None

    @property
    def endpoint(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def deliver(self, findings: list[Finding]) -> None:
        if not findings:
            return
        message = email_message(
            findings,
            sender=self.sender,
            recipients=self.recipients,
            subject_prefix=self.subject_prefix,
        )
        refused = self._send(message)
        if refused:
            # The others got it: failing now would mail them again on every retry.
            who = ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in sorted(refused.items()))
            log.warning("sink %s: %s refused some recipients: %s", self.id, self.endpoint, who)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        login = "login" if self._username is not None else "no login"
        tls = "starttls" if self._context is not None else "plain"
        return f"EmailSink(id={self.id!r}, endpoint={self.endpoint!r}, {tls}, {login})"

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        if self._local_hostname is None:
            # What smtplib would use for EHLO, looked up once rather than on every delivery.
            self._local_hostname = socket.getfqdn()
        smtp: smtplib.SMTP | None = None
        try:
            # 1. Connect, 2. STARTTLS, 3. log in, 4. send.
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout_secs
            )
            smtp.ehlo()
            if self._context is not None:
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if self._username is not None and self._password is not None:
                smtp.login(self._username, self._password)
            refused = smtp.send_message(message, self.sender, self.recipients)
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()  # sent already: a rude goodbye changes nothing
            return refused
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(exc) from None
        finally:
            if smtp is not None:
                smtp.close()

    def _error(self, exc: OSError) -> SinkError:
        retryable = True
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            # Never the server's text here: some echo what they were sent.
            code = exc.smtp_code
            retryable = code < 500
            what = (
                f"the server refused the login of {self._username!r} ({code}); check the SMTP "
                "username and password"
            )
        elif isinstance(exc, smtplib.SMTPNotSupportedError):
            retryable = False
            if "STARTTLS" in str(exc):
                what = "the server does not offer STARTTLS; use its submission port (587)"
            else:
                what = "the server offers no AUTH after STARTTLS; check the port and login"
        elif isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            retryable = all(code < 500 for code in codes)
            refused = ", ".join(f"{r} ({c})" for r, (c, _) in sorted(exc.recipients.items()))
            what = f"the server refused every recipient: {refused}; check the addresses"
        elif isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            retryable = code < 500
            said = _server_text(exc.smtp_error, self._password)
            hint = _CODE_HINTS.get(code, "temporary; it will be retried" if retryable else "")
            what = f"SMTP {code} ({said})" + (f": {hint}" if hint else "")
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            what = f"the server hung up ({exc}); check the server's logs"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            retryable = False
            what = (
                f"the TLS certificate is not trusted ({exc.verify_message}); set ca_file to the "
                "CA that issued it"
            )
        elif isinstance(exc, TimeoutError):
            what = f"no answer within {self.timeout_secs:g}s; check the server and the network"
        elif isinstance(exc, socket.gaierror):
            what = f"cannot resolve {self.host} ({exc.strerror}); check the host name"
        elif isinstance(exc, ConnectionRefusedError):
            what = "connection refused; check that the server runs and the host and port"
        elif isinstance(exc, ssl.SSLError):
            what = f"STARTTLS failed ({exc.reason or exc})"
        else:
            what = f"{type(exc).__name__}: {exc.strerror or exc}"
        what = _redact(what, self._password)
        if isinstance(exc, smtplib.SMTPResponseException):
            label = f"smtp_{exc.smtp_code}"
        elif isinstance(exc, smtplib.SMTPRecipientsRefused):
            label = "smtp_recipients"
        else:
            label = {
                TimeoutError: "timeout",
                socket.gaierror: "dns",
                ConnectionRefusedError: "conn_refused",
                ssl.SSLCertVerificationError: "tls_untrusted",
            }.get(type(exc), "smtp")
        return SinkError(
            f"smtp {self.endpoint}: {what}", sink=self.id, retryable=retryable, code=label
        )


def _block(finding: Finding) -> str:
    rows = [("rule", finding.rule_id), ("tenant", finding.tenant)]
    rows += [(key, _value(value)) for key, value in finding.entity.items()]
    first, last = _utc(finding.first_seen), _utc(finding.last_seen)
    rows.append(("seen", f"{first:%Y-%m-%d %H:%M:%S} → {last:%Y-%m-%d %H:%M:%S} UTC"))
    rows.append(("events", str(finding.count)))
    if finding.techniques:
        rows.append(("ATT&CK", ", ".join(finding.techniques)))
    for key, values in finding.observables.items():
        shown = ", ".join(_value(v) for v in values[:MAX_VALUES])
        more = f" (+{len(values) - MAX_VALUES} more)" if len(values) > MAX_VALUES else ""
        rows.append((key, shown + more))
    rows.append(("finding", finding.uid))
    width = max(len(key) for key, _ in rows)
    lines = [f"{finding.severity.upper()}  {_visible(finding.rule_title)}"]
    lines += [f"  {_visible(key).ljust(width)}  {value}" for key, value in rows]
    if finding.description:
        lines += ["", *(f"  {line}" for line in finding.description.strip().splitlines())]
    return "\n".join(lines)


def _value(value: str) -> str:
    """An attacker-chosen value on one line, control characters shown as escapes."""
    return _visible(_cut(value, MAX_VALUE_CHARS))


def _visible(text: str) -> str:
    return text.translate(_INVISIBLE)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _server_text(reply: bytes | str, password: str | None) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return _redact(_cut(" ".join(_visible(text).split()), 200), password)


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
