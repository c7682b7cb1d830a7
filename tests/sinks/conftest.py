"""Fixtures for sink tests: a private CA (trustme) and receivers on 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.sinks.helpers import HttpReceiver


@dataclass(frozen=True)
class Tls:
    """A CA the sinks can be told to trust, and a server certificate it issued."""

    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    ca = trustme.CA(organization_name="tenantwatch sink tests")
    ca_file = tmp_path_factory.mktemp("sink-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    return Tls(ca_file, server)


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def https(tls: Tls) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(tls=tls.server)
    yield receiver
    receiver.stop()
