"""Applying :class:`~tenantwatch.emulator.state.Faults` to a response."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.responses import Response

from tenantwatch.emulator.state import EmulatorState, graph_error, manage_error

__all__ = ["with_faults"]


def with_faults(
    state: EmulatorState, api: str, method: str, respond: Callable[[], Response]
) -> Response:
    """``respond()``, unless a fault is due: then an error, a throttle, a truncated body, or a
    delay (slow, or longer than a client will wait)."""
    fault = state.faults.pick(api)
    if fault is None:
        return respond()
    if fault == "throttle":
        wait = {"Retry-After": str(state.faults.retry_after_secs)}
        if api == "graph":
            return graph_error(429, "TooManyRequests", "Too many requests.", wait)
        return manage_error(403, "AF429", f"Too many requests. Method={method}, PublisherId=", wait)
    if fault == "error":
        if api == "graph":
            return graph_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        return manage_error(500, "AF50000", "An internal error occurred. Retry the request.")
    if fault in ("slow", "hang"):
        time.sleep(state.faults.slow_secs if fault == "slow" else state.faults.hang_secs)
        return respond()
    response = respond()
    body = bytes(response.body)
    return Response(
        body[: max(1, len(body) // 2)],
        status_code=response.status_code,
        media_type=response.media_type,
        headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
    )
