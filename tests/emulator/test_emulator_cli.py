"""``tenantwatch emulator`` as a real process: prints its URLs and a working sample config."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tenantwatch.model.clock import SystemClock
from tenantwatch.sources.event_hub import EventHubSource


def test_emulator_command_serves_and_prints_a_sample_configuration(tmp_path: Path) -> None:
    gt = tmp_path / "gt.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenantwatch",
            "emulator",
            "--users",
            "50",
            "--scenario",
            "midnight-blizzard",
            "--ground-truth",
            str(gt),
            "--state-dir",
            str(tmp_path / "emu"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = ""
        deadline = time.monotonic() + 60
        while "Serving until Ctrl-C" not in out and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            out += line
        assert "Serving until Ctrl-C" in out, out
        base = re.search(r"health\s+(https://127\.0\.0\.1:\d+)/health", out)
        assert base, out
        ca = tmp_path / "emu" / "tls" / "ca.pem"
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(ca)), trust_env=False
        ) as http:
            assert http.get(f"{base[1]}/health").json()["status"] == "ok"
            assert http.get(f"{base[1]}/graph/v1.0/auditLogs/signIns").status_code == 401
        config = (tmp_path / "emu" / "pipeline.yml").read_text()
        assert "type: o365_management" in config
        assert "client_secret: {file:" in config
        secret = (tmp_path / "emu" / "client-secret").read_text()
        assert secret not in out
        assert secret not in config
        assert oct((tmp_path / "emu" / "client-secret").stat().st_mode)[-3:] == "600"
        truth = json.loads(gt.read_text())
        assert truth["scenarios"] == ["midnight-blizzard"]
        # the event hub its diagnostic setting streams to answers with the sample's settings
        assert "type: event_hub" in config
        hub_file = tmp_path / "emu" / "event-hub-connection"
        connection = hub_file.read_text()
        assert oct(hub_file.stat().st_mode)[-3:] == "600"
        key = connection.split("SharedAccessKey=")[1].split(";")[0]
        assert key not in out
        assert key not in config
        endpoint = re.search(r"endpoint: (sb://127\.0\.0\.1:\d+)", config)
        assert endpoint, config
        source = EventHubSource(
            source_id="entra_hub",
            tenant=truth["tenant_id"],
            connection_string=connection,
            clock=SystemClock(),
            endpoint=endpoint[1],
            ca_file=ca,
        )
        try:
            assert source.streams == [f"partition/{i}" for i in range(4)]
        finally:
            source.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_unknown_scenario_is_a_clear_error(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenantwatch",
            "emulator",
            "--scenario",
            "nope",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "unknown scenario 'nope'" in r.stderr
    assert "midnight-blizzard" in r.stderr
