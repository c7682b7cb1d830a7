"""WebhookSink against a real HTTP(S) receiver on 127.0.0.1: body, signature, errors, TLS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import orjson
import pytest

from tenantwatch import __version__
from tenantwatch.errors import SinkError
from tenantwatch.sinks import WebhookSink, verify_signature
from tenantwatch.sinks.webhook import sign
from tests.sinks.conftest import Tls
from tests.sinks.helpers import Answer, HttpReceiver, closed_port, make_finding

SECRET = "test-only-hmac-secret-4b1d"


@pytest.fixture
def signed(http: HttpReceiver) -> Iterator[WebhookSink]:
    sink = WebhookSink(http.url("/hook?tenant=contoso"), secret=SECRET)
    yield sink
    sink.close()


def _deliver_error(sink: WebhookSink, count: int = 1) -> SinkError:
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_finding(n) for n in range(count)])
    return caught.value


def test_posts_one_ocsf_document_per_delivery(http: HttpReceiver, signed: WebhookSink) -> None:
    findings = [make_finding(0), make_finding(1, severity="critical")]
    signed.deliver(findings)
    (request,) = http.requests
    assert request.path == "/hook?tenant=contoso"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"tenantwatch/{__version__}"
    expected = orjson.loads(orjson.dumps([f.to_ocsf() for f in findings]))
    assert orjson.loads(request.body) == {"findings": expected}


def test_signature_verifies_with_the_secret(http: HttpReceiver, signed: WebhookSink) -> None:
    signed.deliver([make_finding()])
    (request,) = http.requests
    timestamp = request.headers["x-tenantwatch-timestamp"]
    signature = request.headers["x-tenantwatch-signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, request.body, signature)


@pytest.mark.parametrize(
    ("secret", "tamper", "later_secs"),
    [
        pytest.param("another-secret", b"", 0, id="wrong-secret"),
        pytest.param(SECRET, b" ", 0, id="altered-body"),
        pytest.param(SECRET, b"", 301, id="stale-timestamp"),
    ],
)
def test_signature_fails_when_anything_differs(
    http: HttpReceiver, signed: WebhookSink, secret: str, tamper: bytes, later_secs: int
) -> None:
    signed.deliver([make_finding()])
    (request,) = http.requests
    timestamp = request.headers["x-tenantwatch-timestamp"]
    now = int(timestamp) + later_secs
    assert not verify_signature(
        secret,
        timestamp,
        request.body + tamper,
        request.headers["x-tenantwatch-signature"],
        now=now,
    )


def test_signature_binds_the_timestamp(http: HttpReceiver, signed: WebhookSink) -> None:
    signed.deliver([make_finding()])
    (request,) = http.requests
    moved = str(int(request.headers["x-tenantwatch-timestamp"]) + 1)
    assert not verify_signature(
        SECRET, moved, request.body, request.headers["x-tenantwatch-signature"]
    )


def test_no_signature_headers_without_a_secret(http: HttpReceiver) -> None:
    sink = WebhookSink(http.url(), secret=None, headers={"Authorization": "Bearer t0ken-value"})
    sink.deliver([make_finding()])
    sink.close()
    (request,) = http.requests
    assert "x-tenantwatch-signature" not in request.headers
    assert request.headers["authorization"] == "Bearer t0ken-value"


def test_nothing_is_sent_for_no_findings(http: HttpReceiver, signed: WebhookSink) -> None:
    signed.deliver([])
    assert http.requests == []


@pytest.mark.parametrize(
    ("retry_after", "expected"), [("7", 7.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0), (None, None)]
)
def test_503_is_retryable_with_retry_after(
    http: HttpReceiver, signed: WebhookSink, retry_after: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    http.answers.append(Answer(503, headers, b"busy"))
    error = _deliver_error(signed)
    assert error.retryable
    assert error.retry_after == expected
    assert "HTTP 503 (busy)" in str(error)
    assert f"127.0.0.1:{http.port}" in str(error)


@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_server_trouble_is_retryable(http: HttpReceiver, signed: WebhookSink, status: int) -> None:
    http.answers.append(Answer(status, {"Retry-After": "2"}))
    error = _deliver_error(signed)
    assert error.retryable
    assert error.retry_after == 2.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_client_errors_are_not_retryable(
    http: HttpReceiver, signed: WebhookSink, status: int
) -> None:
    http.answers.append(Answer(status, {"Retry-After": "2"}, b'{"error":"nope"}'))
    error = _deliver_error(signed)
    assert not error.retryable
    assert error.retry_after is None
    assert f"HTTP {status}" in str(error)
    assert error.sink == "webhook"


def test_redirects_are_not_followed(http: HttpReceiver, signed: WebhookSink) -> None:
    http.answers.append(Answer(302, {"Location": http.url("/elsewhere")}))
    error = _deliver_error(signed)
    assert not error.retryable
    assert "configure the final URL" in str(error)
    assert len(http.requests) == 1


def test_closed_port_is_retryable_and_names_no_secret() -> None:
    holder, port = closed_port()
    try:
        url = f"http://127.0.0.1:{port}/hook?code=url-token-123456"
        sink = WebhookSink(url, secret=SECRET, headers={"Authorization": "Bearer hdr-secret-99"})
        error = _deliver_error(sink)
        sink.close()
    finally:
        holder.close()
    assert error.retryable
    assert f"127.0.0.1:{port}" in str(error)
    assert "connection refused" in str(error)
    for secret in (SECRET, "url-token-123456", "/hook", "hdr-secret-99"):
        assert secret not in str(error)
        assert secret not in repr(sink)


def test_a_slow_receiver_times_out_as_retryable(http: HttpReceiver) -> None:
    release = threading.Event()
    http.answers.append(Answer(hold=release))
    sink = WebhookSink(http.url(), secret=None, timeout_secs=0.2)
    try:
        error = _deliver_error(sink)
    finally:
        release.set()
        sink.close()
    assert error.retryable
    assert "did not answer within 0.2s" in str(error)


def test_https_with_the_private_ca_delivers(https: HttpReceiver, tls: Tls) -> None:
    sink = WebhookSink(https.url(), secret=SECRET, ca_file=tls.ca_file)
    sink.deliver([make_finding()])
    sink.close()
    assert len(https.requests) == 1


def test_https_without_the_ca_is_refused(https: HttpReceiver) -> None:
    sink = WebhookSink(https.url(), secret=SECRET)
    error = _deliver_error(sink)
    sink.close()
    assert not error.retryable
    assert "not trusted" in str(error)
    assert "ca_file" in str(error)
    assert https.requests == []


@pytest.mark.parametrize("name", ["X-Tenantwatch-Signature", "content-type", "User-Agent"])
def test_headers_cannot_replace_the_sinks_own(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        WebhookSink("https://example.org/hook", secret=SECRET, headers={name: "x"})


def test_plain_http_is_only_for_loopback() -> None:
    with pytest.raises(ValueError, match="use https://") as caught:
        WebhookSink("http://siem.example.org/hook?code=abc123456", secret=None)
    assert "abc123456" not in str(caught.value)


def test_verify_signature_rejects_a_malformed_timestamp() -> None:
    body = b"{}"
    now = int(time.time())
    assert verify_signature(SECRET, str(now), body, sign(SECRET, now, body))
    assert not verify_signature(SECRET, "12e9", body, sign(SECRET, "12e9", body))
    assert not verify_signature(SECRET, "", body, sign(SECRET, "", body))
