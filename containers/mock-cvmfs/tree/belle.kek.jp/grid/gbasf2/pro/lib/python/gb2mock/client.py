"""HTTPS calls to the mock grid, authenticated by the user's proxy, server checked against
``$X509_CERT_DIR``. Errors end the command with an ``Error: ...`` line, like the real tools."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
from typing import Any, Dict, Optional, Tuple
from urllib.parse import quote, urlsplit

from gb2mock import diraccfg
from gb2mock.proxy import ProxyInfo, proxy_location

TIMEOUT = 120


class GridError(Exception):
    """The grid refused or failed; ``str()`` is the message for the user."""


def fail(message: str, code: int = 1) -> "SystemExit":
    print(f"Error: {message}", file=sys.stderr)
    return SystemExit(code)


class Client:
    def __init__(self) -> None:
        cfg = diraccfg.load()
        self.url = urlsplit(diraccfg.service_url(cfg))
        self.proxy = proxy_location()
        if not self.proxy.is_file():
            raise fail(f"No proxy found at {self.proxy}: run gb2_proxy_init -g <group> first")
        self.context = ssl.create_default_context()
        cert_dir = os.environ.get("X509_CERT_DIR", "/etc/grid-security/certificates")
        self.context.load_verify_locations(capath=cert_dir)
        try:
            self.context.load_cert_chain(str(self.proxy))
        except (ssl.SSLError, OSError) as exc:
            raise fail(f"Can't load proxy {self.proxy}: {exc}") from None

    def _connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.url.hostname or "", self.url.port or 443, context=self.context, timeout=TIMEOUT
        )

    def _request(self, method: str, path: str, body: Optional[bytes]) -> Tuple[int, bytes]:
        conn = self._connection()
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
            raise fail(self._tls_message(exc)) from None
        except OSError as exc:
            raise fail(f"Cannot contact the DIRAC service at {self.url.geturl()}: {exc}") from None
        finally:
            conn.close()

    def call(self, name: str, **body: Any) -> Dict:
        """Call API ``name``; refusals and errors raise GridError."""
        status, data = self._request("POST", f"/api/{name}", json.dumps(body).encode())
        try:
            answer = json.loads(data)
        except ValueError:
            raise GridError(f"bad answer from the grid (HTTP {status})") from None
        if not answer.get("ok"):
            raise GridError(answer.get("error") or f"HTTP {status}")
        return answer

    def must(self, name: str, **body: Any) -> Dict:
        """Like ``call``, but a refusal ends the command with ``Error: ...``."""
        try:
            return self.call(name, **body)
        except GridError as exc:
            raise fail(str(exc)) from None

    def pfn(self, lfn: str) -> str:
        return f"{self.url.scheme}://{self.url.netloc}/se{quote(lfn)}"

    def download(self, lfn: str) -> bytes:
        status, data = self._request("GET", f"/se{quote(lfn)}", None)
        if status != 200:
            try:
                message = json.loads(data).get("error")
            except ValueError:
                message = f"HTTP {status}"
            raise GridError(message or f"HTTP {status}")
        return data


    def _tls_message(self, exc: OSError) -> str:
        """Explain a refused handshake; with TLS 1.3 the server's alert may arrive as a bare EOF."""
        text = str(exc)
        try:
            expired = ProxyInfo(self.proxy).seconds_left == 0
        except (OSError, ValueError):
            expired = False
        if expired or "expired" in text:
            return f"Proxy is expired: the grid refused it ({text}); run gb2_proxy_init"
        if "certificate verify failed" in text:
            return f"SSL handshake with the grid failed ({text}); check X509_CERT_DIR"
        return f"SSL error talking to the grid: {text}; the grid refused your proxy or its CA"
