"""The dispatcher: sinks deliver in their own threads, retry, dead-letter, never block."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenantwatch.errors import SinkError
from tenantwatch.model.finding import Finding
from tenantwatch.sinks.dispatch import Delivery, Dispatcher, RetrySchedule
from tenantwatch.sinks.webhook import WebhookSink
from tests.sinks.helpers import WAIT_SECS, Answer, HttpReceiver, closed_port, make_finding

FAST = RetrySchedule(max_attempts=3, initial_backoff_secs=0.01, max_backoff_secs=0.02)


def now() -> datetime:
    return datetime.now(UTC)


class Recorder:
    """A sink that records deliveries; ``fail`` raises for the first N calls; ``hold`` blocks."""

    def __init__(
        self,
        sink_id: str,
        *,
        fail: int = 0,
        retryable: bool = True,
        hold: threading.Event | None = None,
    ) -> None:
        self.id = sink_id
        self.fail = fail
        self.retryable = retryable
        self.hold = hold
        self.calls = 0
        self.delivered: list[str] = []
        self.closed = False

    def deliver(self, findings: list[Finding]) -> None:
        self.calls += 1
        if self.hold is not None:
            self.hold.wait(WAIT_SECS)
        if self.calls <= self.fail:
            raise SinkError("receiver down", sink=self.id, retryable=self.retryable)
        self.delivered.extend(f.uid for f in findings)

    def close(self) -> None:
        self.closed = True


def settle(dispatcher: Dispatcher) -> tuple[list[Delivery], list[str]]:
    deliveries, settled = dispatcher.settled()
    return deliveries, [uid for uid, _ in settled]


@pytest.fixture
def dead_letters(tmp_path: Path) -> Path:
    return tmp_path / "dead-letter"


def test_a_stuck_sink_holds_up_neither_the_caller_nor_the_other_sinks(dead_letters: Path) -> None:
    release = threading.Event()
    stuck, fast = Recorder("stuck", hold=release), Recorder("fast")
    dispatcher = Dispatcher([stuck, fast], now=now, dead_letter_dir=dead_letters, schedule=FAST)
    try:
        dispatcher.submit([make_finding(1), make_finding(2)])  # returns at once
        assert dispatcher.flush(0.2) is False  # the stuck sink still has them
        assert fast.delivered == ["f0001", "f0002"]
        deliveries, settled = settle(dispatcher)
        assert [(d.sink, d.outcome) for d in deliveries] == [("fast", "delivered")]
        assert settled == []  # not every sink has them yet
        release.set()
        assert dispatcher.flush(WAIT_SECS)
        _, settled = settle(dispatcher)
        assert sorted(settled) == ["f0001", "f0002"]
    finally:
        release.set()
        dispatcher.close(1)
    assert stuck.closed
    assert fast.closed


def test_retryable_failures_are_retried_until_delivered(dead_letters: Path) -> None:
    flaky = Recorder("flaky", fail=2)
    dispatcher = Dispatcher([flaky], now=now, dead_letter_dir=dead_letters, schedule=FAST)
    dispatcher.submit([make_finding(1)])
    assert dispatcher.flush(WAIT_SECS)
    dispatcher.close(1)
    deliveries, settled = settle(dispatcher)
    assert [(d.outcome, d.attempts) for d in deliveries] == [("delivered", 3)]
    assert settled == ["f0001"]
    assert not dead_letters.exists()


def test_a_sink_that_stays_down_dead_letters_the_findings(dead_letters: Path) -> None:
    down = Recorder("down", fail=100)
    dispatcher = Dispatcher([down], now=now, dead_letter_dir=dead_letters, schedule=FAST)
    dispatcher.submit([make_finding(1), make_finding(2)])
    assert dispatcher.flush(WAIT_SECS)
    dispatcher.close(1)
    deliveries, settled = settle(dispatcher)
    assert [(d.outcome, d.attempts) for d in deliveries] == [("dead_letter", 3)]
    assert sorted(settled) == ["f0001", "f0002"]  # handled: they are in the dead-letter file
    path = dead_letters / "down.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["finding"]["finding_info"]["uid"] for line in lines] == ["f0001", "f0002"]
    assert all("receiver down" in line["error"] for line in lines)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_refusal_is_not_retried(dead_letters: Path) -> None:
    refused = Recorder("refused", fail=100, retryable=False)
    dispatcher = Dispatcher([refused], now=now, dead_letter_dir=dead_letters, schedule=FAST)
    dispatcher.submit([make_finding(1)])
    assert dispatcher.flush(WAIT_SECS)
    dispatcher.close(1)
    assert refused.calls == 1
    assert [d.outcome for d in settle(dispatcher)[0]] == ["dead_letter"]


def test_a_full_queue_dead_letters_at_once_instead_of_growing(dead_letters: Path) -> None:
    release = threading.Event()
    stuck = Recorder("stuck", hold=release)
    dispatcher = Dispatcher(
        [stuck], now=now, dead_letter_dir=dead_letters, schedule=FAST, queue_limit=3
    )
    try:
        dispatcher.submit([make_finding(1)])  # taken by the worker, which blocks
        assert not dispatcher.flush(0.1)
        dispatcher.submit([make_finding(2), make_finding(3)])  # queued
        dispatcher.submit([make_finding(4), make_finding(5)])  # over the limit
        lines = (dead_letters / "stuck.jsonl").read_text().splitlines()
        assert [json.loads(x)["finding"]["finding_info"]["uid"] for x in lines] == [
            "f0004",
            "f0005",
        ]
    finally:
        release.set()
        dispatcher.close(WAIT_SECS)
    assert stuck.delivered == ["f0001", "f0002", "f0003"]


def test_closing_leaves_what_did_not_go_undelivered(dead_letters: Path) -> None:
    down = Recorder("down", fail=100)
    slow = RetrySchedule(max_attempts=50, initial_backoff_secs=5, max_backoff_secs=5)
    dispatcher = Dispatcher([down], now=now, dead_letter_dir=dead_letters, schedule=slow)
    dispatcher.submit([make_finding(1)])
    dispatcher.close(0.2)  # the sink is mid-backoff: stop retrying, do not dead-letter
    deliveries, settled = settle(dispatcher)
    assert deliveries == []
    assert settled == []
    assert not dead_letters.exists()


def test_retry_after_from_the_receiver_is_honoured(dead_letters: Path) -> None:
    receiver = HttpReceiver()
    receiver.answers.append(Answer(503, {"Retry-After": "0"}))
    sink = WebhookSink(receiver.url(), secret="s3cret", sink_id="hook")
    dispatcher = Dispatcher([sink], now=now, dead_letter_dir=dead_letters, schedule=FAST)
    try:
        dispatcher.submit([make_finding(1)])
        assert dispatcher.flush(WAIT_SECS)
    finally:
        dispatcher.close(1)
        receiver.stop()
    assert [(d.outcome, d.attempts) for d in settle(dispatcher)[0]] == [("delivered", 2)]
    assert len(receiver.requests) == 2


def test_a_dead_webhook_is_dead_lettered_without_its_secret(dead_letters: Path) -> None:
    holder, port = closed_port()
    try:
        sink = WebhookSink(f"http://127.0.0.1:{port}/hook", secret="s3cret-value", sink_id="hook")
        dispatcher = Dispatcher([sink], now=now, dead_letter_dir=dead_letters, schedule=FAST)
        dispatcher.submit([make_finding(1)])
        assert dispatcher.flush(WAIT_SECS)
        dispatcher.close(1)
    finally:
        holder.close()
    text = (dead_letters / "hook.jsonl").read_text()
    assert "f0001" in text
    assert "s3cret-value" not in text
    (delivery,) = settle(dispatcher)[0]
    assert delivery.outcome == "dead_letter"
    assert delivery.error_code


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    yield r
    r.stop()
