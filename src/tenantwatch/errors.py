"""The one exception tree of tenantwatch.

Every error raised on purpose by tenantwatch derives from :class:`TenantwatchError` and carries
the context a user needs to act on it (tenant, stream, record id, rule path, line)::

    TenantwatchError
    ├── ConfigError            a pipeline or policy file is wrong (file, line, what to change)
    ├── SourceError            an upstream API failed in a way a retry will not fix
    │   ├── AuthenticationError   the token endpoint refused our credentials
    │   ├── ThrottledError        the API asked us to slow down (carries retry_after_secs)
    │   └── GapError              data that can no longer be fetched (expired content, disabled
    │                             subscription): recorded as a gap, never silent
    ├── NormalizationError     a record could not be mapped (the record goes to quarantine)
    ├── RuleError              a detection rule could not be loaded or compiled (rule path)
    ├── StoreError             the event store refused an operation
    └── SinkError              an alert output refused or missed a delivery (retryable or not)

Messages never contain secrets: credentials are referred to by the name of the environment
variable or file they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "GapError",
    "NormalizationError",
    "RuleError",
    "SinkError",
    "SourceError",
    "StoreError",
    "TenantwatchError",
    "ThrottledError",
]


class TenantwatchError(Exception):
    """Root of every error tenantwatch raises on purpose."""


class ConfigError(TenantwatchError):
    """A configuration, pipeline or policy file is invalid.

    ``str(error)`` reads ``file:line: problem (fix)`` so editors and terminals can jump to it.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, fix: str = ""
    ) -> None:
        self.path = path
        self.line = line
        self.fix = fix
        self.problem = message
        where = path or "<config>"
        if line is not None:
            where = f"{where}:{line}"
        text = f"{where}: {message}"
        if fix:
            text = f"{text} (fix: {fix})"
        super().__init__(text)


class SourceError(TenantwatchError):
    """An upstream API call failed after retries; carries tenant, stream, and the HTTP status and
    Microsoft error code when the API gave them (``AF20023``, ``BadRequest``, ...)."""

    def __init__(
        self, message: str, *, tenant: str = "", stream: str = "", status: int = 0, code: str = ""
    ) -> None:
        self.tenant = tenant
        self.stream = stream
        self.status = status
        self.code = code
        prefix = "/".join(p for p in (tenant, stream) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class AuthenticationError(SourceError):
    """The identity platform refused to issue a token (wrong secret, tenant, certificate)."""


class ThrottledError(SourceError):
    """The API throttled us (HTTP 429, or HTTP 403 with code AF429) and retries ran out."""

    def __init__(
        self, message: str, *, retry_after_secs: float, tenant: str = "", stream: str = ""
    ) -> None:
        self.retry_after_secs = retry_after_secs
        super().__init__(message, tenant=tenant, stream=stream)


@dataclass(frozen=True)
class Gap:
    """A stretch of upstream data that was not, and can no longer be, collected."""

    tenant: str
    stream: str
    start: datetime
    end: datetime
    reason: str
    content_ids: tuple[str, ...] = field(default=())


class GapError(SourceError):
    """Data was lost upstream (expired content, disabled subscription); see :class:`Gap`."""

    def __init__(self, gap: Gap) -> None:
        self.gap = gap
        super().__init__(
            f"gap from {gap.start.isoformat()} to {gap.end.isoformat()}: {gap.reason}",
            tenant=gap.tenant,
            stream=gap.stream,
        )


class NormalizationError(TenantwatchError):
    """A record could not be normalized; the record is quarantined with this reason."""

    def __init__(self, reason: str, *, record_id: str | None = None) -> None:
        self.reason = reason
        self.record_id = record_id
        super().__init__(f"record {record_id}: {reason}" if record_id else reason)


class RuleError(TenantwatchError):
    """A detection rule could not be loaded, validated or compiled."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.reason = message
        self.path = path
        self.line = line
        where = path or "<rule>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class StoreError(TenantwatchError):
    """The event store could not complete an operation."""


class SinkError(TenantwatchError):
    """An alert sink failed to deliver.

    ``retryable`` is False when trying again cannot help until someone changes something (HTTP
    400/401/403/404/413, an untrusted certificate, SMTP 5xx); ``retry_after`` is the wait in
    seconds the receiver asked for (HTTP ``Retry-After`` on 429/503), None when it gave none;
    ``code`` is a short bounded label for metrics (``http_503``, ``conn_refused``, ``timeout``,
    ``tls_untrusted``, ``smtp_535``...).
    """

    def __init__(
        self,
        message: str,
        *,
        sink: str = "",
        retryable: bool = True,
        retry_after: float | None = None,
        code: str = "",
    ) -> None:
        self.sink = sink
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code
        super().__init__(f"sink {sink}: {message}" if sink else message)
