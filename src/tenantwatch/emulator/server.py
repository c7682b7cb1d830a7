"""Running the emulator: a FastAPI app served over TLS on 127.0.0.1 by uvicorn, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from tenantwatch.emulator.control import control_router
from tenantwatch.emulator.graph import graph_router
from tenantwatch.emulator.login import login_router
from tenantwatch.emulator.manage import WebhookNotifier, manage_router
from tenantwatch.emulator.state import EmulatorState
from tenantwatch.emulator.tls import TlsFiles, ensure_tls

__all__ = ["EmulatorServer", "create_app"]


def create_app(state: EmulatorState) -> FastAPI:
    """The emulator's HTTP app: Entra ID at ``/``, Graph under ``/graph``, the Management
    Activity API under ``/manage``, its own control API under ``/_emulator``, health at
    ``/health`` (the only route without authentication)."""
    app = FastAPI(title="tenantwatch emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    def health() -> Response:
        return state.json_response({"status": "ok", "time": state.clock.now().isoformat()})

    app.include_router(graph_router(state), prefix="/graph")
    app.include_router(manage_router(state), prefix="/manage")
    app.include_router(control_router(state), prefix="/_emulator")
    app.include_router(login_router(state))
    return app


class EmulatorServer:
    """Serves an :class:`EmulatorState` on ``host:port`` (port 0 picks a free one).

    >>> with EmulatorServer(state, tls_dir=Path("tls")) as server:   # doctest: +SKIP
    ...     print(server.base_url)
    """

    def __init__(
        self, state: EmulatorState, *, tls_dir: Path, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = state
        self.host = host
        self.tls: TlsFiles = ensure_tls(tls_dir)
        self._sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit TCP_NODELAY on Linux; without it, a response written in
        # two pieces waits ~40 ms for the client's delayed ACK (Nagle).
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self._sock.listen(2048)  # connections wait in the backlog until the server accepts
        self.port = int(self._sock.getsockname()[1])
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"https://{shown}:{self.port}"
        state.base_url = self.base_url
        config = uvicorn.Config(
            create_app(state),
            ssl_certfile=str(self.tls.cert_file),
            ssl_keyfile=str(self.tls.key_file),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.notifier = WebhookNotifier(state)

    def start(self) -> EmulatorServer:
        self.notifier.start()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name="emulator"
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("emulator failed to start")
            time.sleep(0.02)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C)."""
        self.notifier.start()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self.notifier.stop.set()

    def stop(self) -> None:
        self.notifier.stop.set()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=3)
            if self._thread.is_alive():  # keep-alive clients still connected
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
