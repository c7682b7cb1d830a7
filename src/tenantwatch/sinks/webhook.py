"""Findings POSTed as signed JSON to an HTTPS endpoint you own.

One request per delivery::

    POST <url>
    Content-Type: application/json
    User-Agent: tenantwatch/0.1.0
    X-Tenantwatch-Timestamp: 1768208400
    X-Tenantwatch-Signature: sha256=<hex HMAC-SHA256(secret, b"1768208400." + body)>

    {"findings": [<OCSF Detection Finding (2004)>, ...]}

A receiver checks the two headers with :func:`verify_signature` (docs/SINKS.md has a receiver).
:class:`JsonPoster` is shared with the Slack sink: it turns HTTP answers into
:class:`~tenantwatch.errors.SinkError` and keeps the URL's path and query, which may hold a
token, out of error messages and of httpx's log lines.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import ssl
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import orjson

from tenantwatch import __version__
from tenantwatch.errors import SinkError
from tenantwatch.model.finding import Finding

__all__ = ["WebhookSink", "sign", "verify_signature"]

USER_AGENT = f"tenantwatch/{__version__}"
TIMESTAMP_HEADER = "X-Tenantwatch-Timestamp"
SIGNATURE_HEADER = "X-Tenantwatch-Signature"
# Headers the sink sets itself; `headers=` may not replace them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent"}
    | {"x-tenantwatch-timestamp", "x-tenantwatch-signature"}
)
# What a failed answer means and what to do, by HTTP status.
STATUS_HINTS = {
    400: "the receiver rejected the payload; check that it accepts this sink's JSON format",
    401: "the receiver wants credentials; check the headers configured for this sink",
    403: "the receiver refused the request; check the secret and headers on both sides",
    404: "nothing listens at this path; check the URL",
    408: "the receiver timed out reading the request",
    413: "the payload is too large for the receiver; raise its body limit",
    429: "the receiver is rate limiting us",
}
_SNIPPET_BYTES = 256


def sign(secret: str | bytes, timestamp: str | int, body: bytes) -> str:
    """The ``X-Tenantwatch-Signature`` value: ``sha256=`` + HMAC-SHA256 of ``b"<ts>." + body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes,
    header: str,
    *,
    tolerance_secs: float = 300,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` and the timestamp is recent.

    ``timestamp`` and ``header`` are the raw header values, ``body`` the raw request bytes
    (before any JSON parsing)::

        ok = verify_signature(secret, request.headers["X-Tenantwatch-Timestamp"],
                              request.body, request.headers["X-Tenantwatch-Signature"])
    """
    stamp = str(timestamp).strip()
    if not (stamp.isascii() and stamp.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_secs:
        return False  # a replay of an old request, or a clock far off
    expected = sign(secret, stamp, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


class WebhookSink:
    """POSTs each delivery as one JSON document, HMAC-signed when ``secret`` is set.

    ``headers`` adds headers (e.g. ``Authorization``); their values are treated as secrets.
    TLS is always verified, against ``ca_file`` alone when it is given.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | None,
        sink_id: str = "webhook",
        timeout_secs: float = 10,
        ca_file: Path | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.id = sink_id
        extra = dict(headers or {})
        for name, value in extra.items():
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{sink_id}: header {name} is set by the sink; remove it")
            if any(c in value for c in "\r\n\0") or any(c in name for c in ":\r\n\0 "):
                raise ValueError(f"{sink_id}: header {name!r} has a line break or a bad name")
        if secret is not None and not secret:
            raise ValueError(f"{sink_id}: the signing secret is empty; set it or omit it")
        self._secret = secret
        self._headers = {"Content-Type": "application/json", **extra}
        self._poster = JsonPoster(
            url,
            sink_id=sink_id,
            timeout_secs=timeout_secs,
            ca_file=ca_file,
            hints=STATUS_HINTS,
            redact=tuple(v for v in (secret, *extra.values()) if v),
        )

    @property
    def endpoint(self) -> str:
        """``host:port`` of the receiver (the rest of the URL may hold a token)."""
        return self._poster.endpoint

    def deliver(self, findings: list[Finding]) -> None:
        if not findings:
            return
        body = orjson.dumps({"findings": [f.to_ocsf() for f in findings]})
        headers = dict(self._headers)
        if self._secret is not None:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self._secret, timestamp, body)
        self._poster.post(body, headers)

    def close(self) -> None:
        self._poster.close()

    def __repr__(self) -> str:
        signed = self._secret is not None
        return f"WebhookSink(id={self.id!r}, endpoint={self.endpoint!r}, signed={signed})"


class JsonPoster:
    """One ``httpx.Client`` POSTing to one URL, once per call, mapping failures to SinkError.

    Redirects are not followed (the body could be re-sent elsewhere). ``hints`` maps an HTTP
    status to what the user should do; ``redact`` lists secrets that must never show up in an
    error message.
    """

    def __init__(
        self,
        url: str,
        *,
        sink_id: str,
        timeout_secs: float,
        ca_file: Path | str | None,
        hints: Mapping[int, str],
        redact: tuple[str, ...] = (),
    ) -> None:
        self.sink_id = sink_id
        self.timeout_secs = timeout_secs
        self._url = _parse_url(url, sink_id)
        port = self._url.port or (443 if self._url.scheme == "https" else 80)
        host = self._url.host
        self.endpoint = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._hints = hints
        query = self._url.query.decode("ascii", "replace")
        parts = (str(self._url), url, self._url.path + (f"?{query}" if query else ""))
        hidden = {p for p in parts if len(p) > 1} | {s for s in redact if len(s) >= 4}
        # Longest first, so a secret that contains another is replaced whole.
        self._redact = sorted(hidden, key=len, reverse=True)
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{sink_id}: cannot load ca_file {ca_file}: {exc}") from None
        self._client = httpx.Client(
            verify=verify,
            # Without a private CA, honour HTTPS_PROXY / SSL_CERT_FILE like other HTTP clients.
            trust_env=ca_file is None,
            timeout=httpx.Timeout(timeout_secs),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._log_filter = _HideUrl(str(self._url), f"{self._url.scheme}://{self.endpoint}/…")
        logging.getLogger("httpx").addFilter(self._log_filter)

    def post(self, body: bytes, headers: Mapping[str, str]) -> None:
        """POST ``body`` once; return on 2xx, raise :class:`SinkError` otherwise."""
        try:
            with self._client.stream("POST", self._url, content=body, headers=headers) as resp:
                if resp.is_success:
                    return
                raise self._status_error(resp)
        except httpx.TimeoutException:
            raise self._error(
                f"{self.endpoint} did not answer within {self.timeout_secs:g}s; check that the "
                "receiver is up, or raise timeout_secs",
                code="timeout",
            ) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None

    def close(self) -> None:
        self._client.close()
        logging.getLogger("httpx").removeFilter(self._log_filter)

    def _status_error(self, resp: httpx.Response) -> SinkError:
        status = resp.status_code
        retryable = status in (408, 425, 429) or status >= 500
        hint = self._hints.get(status) or STATUS_HINTS.get(status)
        if hint is None and 300 <= status < 400:
            hint = "the receiver redirects (not followed); configure the final URL"
        elif hint is None:
            hint = "the receiver failed" if retryable else "the receiver refused the request"
        snippet = _snippet(resp)
        said = f" ({snippet})" if snippet else ""
        retry_after = _retry_after(resp.headers.get("Retry-After")) if retryable else None
        return self._error(
            f"{self.endpoint} answered HTTP {status}{said}: {hint}",
            retryable=retryable,
            retry_after=retry_after,
            code=f"http_{status}",
        )

    def _transport_error(self, exc: httpx.HTTPError) -> SinkError:
        root = _root_cause(exc)
        if isinstance(root, ssl.SSLCertVerificationError):
            return self._error(
                f"the TLS certificate of {self.endpoint} is not trusted "
                f"({root.verify_message}); set ca_file to the CA that issued it",
                retryable=False,
                code="tls_untrusted",
            )
        if isinstance(root, ConnectionRefusedError):
            what, code = (
                "connection refused; check that the receiver runs and the host and port",
                "conn_refused",
            )
        elif isinstance(exc, httpx.ConnectError):
            what = f"cannot connect ({_describe(root)}); check the host name and the network"
            code = "connect"
        else:
            what, code = f"{type(exc).__name__}: {_describe(root)}", "transport"
        return self._error(f"{self.endpoint}: {what}", code=code)

    def _error(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        code: str = "",
    ) -> SinkError:
        for secret in self._redact:
            message = message.replace(secret, "***")
        return SinkError(
            message, sink=self.sink_id, retryable=retryable, retry_after=retry_after, code=code
        )

    def __repr__(self) -> str:
        return f"JsonPoster(sink={self.sink_id!r}, endpoint={self.endpoint!r})"


class _HideUrl(logging.Filter):
    """Rewrites httpx's ``HTTP Request: POST <url> ...`` log lines to show only ``shown``."""

    def __init__(self, url: str, shown: str) -> None:
        super().__init__()
        self._url = url
        self._shown = shown

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(str(a) == self._url for a in args):
            record.args = tuple(self._shown if str(a) == self._url else a for a in args)
        return True


def _parse_url(url: str, sink_id: str) -> httpx.URL:
    # Never echo the URL: for Slack and many webhooks it is itself the credential.
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ValueError(f"{sink_id}: the URL is not a valid http(s) URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{sink_id}: the URL must start with https:// and name a host")
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise ValueError(
            f"{sink_id}: plain http:// is only allowed to a loopback address; use https://"
        )
    return parsed


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _snippet(resp: httpx.Response) -> str:
    """The start of the answer's body, on one line, for the error message."""
    data = b""
    try:
        for chunk in resp.iter_bytes():
            data += chunk
            if len(data) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        pass  # the body is a courtesy; the status says what happened
    text = data[:_SNIPPET_BYTES].decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:200]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(exc))
        exc = nxt
    return exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
