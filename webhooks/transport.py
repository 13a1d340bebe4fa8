"""One HTTP POST to a checked address: no redirects, bounded time and body."""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .addresses import Target

TIMEOUT_SECONDS = 10.0
# What is kept of a response body: enough to read an error message, no more.
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Response:
    status: int | None
    excerpt: str
    error: str
    latency_ms: int


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, with SNI and the certificate checked for the host name."""

    def __init__(self, host: str, address: str, **kwargs: object) -> None:
        super().__init__(host, **kwargs)  # type: ignore[arg-type]
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, **kwargs: object) -> None:
        super().__init__(host, **kwargs)  # type: ignore[arg-type]
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(target: Target, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body`; a 3xx is an answer like any other (never followed)."""
    started = time.monotonic()
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
            target.host,
            target.address,
            port=target.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = _PinnedHTTPConnection(
            target.host, target.address, port=target.port, timeout=TIMEOUT_SECONDS
        )
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        excerpt = answer.read(EXCERPT_BYTES).decode("utf-8", "replace")
        elapsed = time.monotonic() - started
        if elapsed > TIMEOUT_SECONDS:
            return Response(None, excerpt, "Answered after the timeout.", round(elapsed * 1000))
        return Response(answer.status, excerpt, "", round(elapsed * 1000))
    except (OSError, http.client.HTTPException) as error:
        elapsed = round((time.monotonic() - started) * 1000)
        return Response(None, "", f"{type(error).__name__}: {error}"[:500], elapsed)
    finally:
        connection.close()
