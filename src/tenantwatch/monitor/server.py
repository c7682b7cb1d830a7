"""The metrics endpoint: Prometheus text on ``/metrics`` behind a bearer token, ``/healthz`` open.

It binds to 127.0.0.1 unless the pipeline file says otherwise. Prometheus scrapes it with::

    scrape_configs:
      - job_name: tenantwatch
        authorization: {credentials_file: /etc/prometheus/tenantwatch.token}
        static_configs: [{targets: ["127.0.0.1:9464"]}]
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

__all__ = ["MetricsServer"]

log = logging.getLogger("tenantwatch.monitor")

StartResponse = Callable[..., Any]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics %s", format % args)


class MetricsServer:
    """Serves ``registry`` on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 9464,
        healthy: Callable[[], bool] = lambda: True,
    ) -> None:
        if not token:
            raise ValueError("the metrics endpoint needs a token (metrics: token: {env: ...})")
        self._token = token.encode()
        self._healthy = healthy
        self._metrics = make_wsgi_app(registry)
        self._server = make_server(
            host, port, self._app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    def __repr__(self) -> str:  # never the token
        return f"MetricsServer({self.host}:{self.port})"

    def _authorized(self, environ: dict[str, Any]) -> bool:
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self._token)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok = self._healthy()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
            )
            return [b"ok\n" if ok else b"unhealthy\n"]
        if path != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found; the metrics are at /metrics\n"]
        if not self._authorized(environ):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"missing or wrong bearer token\n"]
        return self._metrics(environ, start_response)  # type: ignore[no-any-return]

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
