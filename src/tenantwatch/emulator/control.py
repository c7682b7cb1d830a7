"""The emulator's own control API (not Microsoft's): faults, token revocation, what was served.

Every call needs the ``X-Emulator-Key`` header (the key is printed when the emulator starts and
written to its state directory with mode 0600).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantwatch.emulator.state import EmulatorState

__all__ = ["control_router"]


def control_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()

    def denied(request: Request) -> Response | None:
        key = request.headers.get("x-emulator-key", "")
        if not secrets.compare_digest(key, state.control_key):
            return state.json_response({"error": "missing or wrong X-Emulator-Key"}, 401)
        return None

    @router.post("/faults")
    async def set_faults(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        try:
            settings: dict[str, Any] = await request.json()
            state.faults.update(settings, now=state.clock.now())
        except (ValueError, TypeError) as exc:
            return state.json_response({"error": str(exc)}, 400)
        return state.json_response({"ok": True})

    @router.post("/revoke-tokens")
    def revoke(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        state.idp.revoke_all()
        return state.json_response({"ok": True})

    @router.post("/graph-limit")
    async def graph_limit(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        body = await request.json()
        state.set_graph_limit(int(body.get("requests_per_10s", 5)))
        return state.json_response({"ok": True})

    @router.get("/served")
    def served(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        return state.json_response(
            {f"{tenant}|{stream}": sorted(ids) for (tenant, stream), ids in state.served.items()}
        )

    @router.get("/ground-truth")
    def ground_truth(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        return state.json_response([t.ground_truth_document() for t in state.tenants.values()])

    @router.get("/clock")
    def clock(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        return state.json_response(
            {"now": state.clock.now().isoformat(), "speed": state.clock.speed}
        )

    return router
