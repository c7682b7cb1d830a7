"""Findings appended to a file, one OCSF Detection Finding (2004) JSON document per line."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from tenantwatch.errors import SinkError
from tenantwatch.model.finding import Finding

__all__ = ["JsonlSink"]


class JsonlSink:
    """Appends findings to ``path`` and flushes to disk after every delivery."""

    def __init__(self, path: Path | str, *, sink_id: str = "jsonl") -> None:
        self.id = sink_id
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def deliver(self, findings: list[Finding]) -> None:
        if not findings:
            return
        data = b"".join(orjson.dumps(f.to_ocsf()) + b"\n" for f in findings)
        try:
            with self.path.open("ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror}", sink=self.id) from None

    def close(self) -> None:
        return None
