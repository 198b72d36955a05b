"""HTTPS front end: TLS with RFC 3820 proxy authentication, a JSON API, storage downloads."""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from mockgrid_service import execution
from mockgrid_service.auth import AuthError, Caller, authenticate
from mockgrid_service.catalog import Catalog, CatalogError
from mockgrid_service.db import Database
from mockgrid_service.jobs import JobError, Jobs
from mockgrid_service.settings import Settings

log = logging.getLogger(__name__)


class Grid:
    """Everything a request handler needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database)
        self.catalog = Catalog(self.db, settings.storage)
        self.jobs = Jobs(settings, self.db, self.catalog)
        self.users = settings.users()
        self.ready = threading.Event()
        self.download_rng = random.Random(f"{settings.seed}:downloads")
        self.rng_lock = threading.Lock()

    def transient_failure(self) -> bool:
        with self.rng_lock:
            return self.download_rng.random() < self.settings.download_failure_rate


def tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings.config_dir / "hostcert.pem", settings.config_dir / "hostkey.pem")
    context.load_verify_locations(cafile=str(settings.config_dir / "ca.pem"))
    context.verify_mode = ssl.CERT_OPTIONAL  # /ping answers without a proxy; the API does not
    context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return context


class GridServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, grid: Grid, context: ssl.SSLContext) -> None:
        self.grid = grid
        self.context = context
        super().__init__((grid.settings.host, grid.settings.port), Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The TLS handshake runs in the request's thread, so a slow client blocks nobody."""
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS refused %s: %s", client_address[0], exc)
            return
        super().finish_request(tls, client_address)


API: dict[str, Callable[[Grid, Caller, dict], dict]] = {}


def api(name: str) -> Callable:
    def register(func: Callable) -> Callable:
        API[name] = func
        return func

    return register


class Handler(BaseHTTPRequestHandler):
    server: GridServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        grid = self.server.grid
        if self.path == "/ping":
            self._json(200, {"ok": True, "ready": grid.ready.is_set(), "service": "b2env mock grid"})
            return
        caller = self._caller()
        if caller is None:
            return
        if self.path.startswith("/se/"):
            self._download(grid, caller, unquote(self.path[3:]))
            return
        self._json(404, {"ok": False, "error": f"no such resource {self.path}"})

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        caller = self._caller()
        if caller is None:
            return
        name = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/api/") or name not in API:
            self._json(404, {"ok": False, "error": f"unknown call {self.path}"})
            return
        started = time.time()
        try:
            _check_user(caller, body)
            result = API[name](self.server.grid, caller, body)
        except (JobError, CatalogError, AuthError) as exc:
            self._json(200, {"ok": False, "error": str(exc)})
            return
        log.info("%s@%s %s (%.0f ms)", caller.username, caller.group, name, 1000 * (time.time() - started))
        self._json(200, {"ok": True, **result})

    def _caller(self) -> Caller | None:
        der = self.connection.getpeercert(binary_form=True) if isinstance(
            self.connection, ssl.SSLSocket) else None
        try:
            return authenticate(der, self.server.grid.users)
        except AuthError as exc:
            log.info("refused %s: %s", self.address_string(), exc)
            self._json(403, {"ok": False, "error": str(exc)})
            return None

    def _download(self, grid: Grid, caller: Caller, lfn: str) -> None:
        try:
            Catalog.check_access(lfn, caller.username)
        except CatalogError as exc:
            self._json(403, {"ok": False, "error": str(exc)})
            return
        row = grid.db.one("SELECT * FROM files WHERE lfn = ?", (lfn,))
        if row is None:
            self._json(404, {"ok": False, "error": f"No such file {lfn}"})
            return
        if grid.transient_failure():
            self._json(503, {"ok": False, "error": "SRM_FAILURE: transfer failed (injected)"})
            return
        data = grid.catalog.path_of(dict(row)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _check_user(caller: Caller, body: dict) -> None:
    other = body.get("user")
    if other and other not in (caller.username,):
        raise AuthError(f"Unauthorized query: {caller.username} may not act for user {other}")


def _selection(grid: Grid, caller: Caller, body: dict) -> list[dict]:
    ids = [int(i) for i in body.get("job_ids") or []]
    projects = list(body.get("projects") or [])
    if not ids and not projects:
        raise JobError("give a project (-p) or job ids (-j)")
    return grid.jobs.select(caller.username, projects, ids)


@api("whoami")
def _whoami(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"username": caller.username, "group": caller.group, "dn": caller.dn,
            "seconds_left": caller.seconds_left}


@api("releases")
def _releases(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"releases": grid.jobs.releases()}


@api("submit")
def _submit(grid: Grid, caller: Caller, body: dict) -> dict:
    return grid.jobs.submit(caller.username, caller.group, body, bool(body.get("dry_run")))


@api("project_exists")
def _exists(grid: Grid, caller: Caller, body: dict) -> dict:
    row = grid.db.one("SELECT owner FROM projects WHERE name = ?", (body.get("project"),))
    return {"exists": row is not None}


@api("job_status")
def _job_status(grid: Grid, caller: Caller, body: dict) -> dict:
    rows = _selection(grid, caller, body)
    wanted = set(body.get("status") or [])
    keys = ("id", "project", "status", "minor", "app", "site", "rr", "submitted", "updated")
    return {"jobs": [[r[k] for k in keys] for r in rows if not wanted or r["status"] in wanted],
            "keys": list(keys)}


@api("project_summary")
def _project_summary(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"projects": grid.jobs.summary(caller.username, body.get("project"))}


@api("reschedule")
def _reschedule(grid: Grid, caller: Caller, body: dict) -> dict:
    done, skipped = grid.jobs.reschedule(_selection(grid, caller, body))
    return {"rescheduled": done, "skipped": skipped}


@api("kill")
def _kill(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"changed": grid.jobs.kill(_selection(grid, caller, body), "Killed")}


@api("delete")
def _delete(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"changed": grid.jobs.kill(_selection(grid, caller, body), "Deleted")}


@api("job_output")
def _job_output(grid: Grid, caller: Caller, body: dict) -> dict:
    out: dict[str, dict] = {}
    for job in _selection(grid, caller, body):
        box = execution.output_sandbox(grid.settings, job["id"])
        files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in sorted(box.glob("*"))
                 if p.is_file()} if box.is_dir() else {}
        out[str(job["id"])] = {"project": job["project"], "files": files}
    return {"jobs": out}


@api("ds_list")
def _ds_list(grid: Grid, caller: Caller, body: dict) -> dict:
    entries = grid.catalog.listing(body["lpn"], caller.username)
    details = {}
    if body.get("long"):
        for f in grid.catalog.files(body["lpn"], caller.username):
            details[f["lfn"]] = {"size": f["size"], "adler32": f["adler32"], "se": f["se"],
                                 "created": f["created"]}
    return {"entries": entries, "details": details}


@api("ds_files")
def _ds_files(grid: Grid, caller: Caller, body: dict) -> dict:
    files: list[dict] = []
    for lpn in body.get("lpns") or []:
        files += grid.catalog.files(lpn, caller.username)
    keys = ("lfn", "size", "adler32", "se", "owner")
    return {"files": [{k: f[k] for k in keys} for f in files]}


@api("ds_search")
def _ds_search(grid: Grid, caller: Caller, body: dict) -> dict:
    return {"datasets": grid.catalog.search(body.get("filters") or {})}


@api("collections")
def _collections(grid: Grid, caller: Caller, body: dict) -> dict:
    pattern = body.get("pattern") or "*"
    if body.get("list_datasets"):
        return {"datasets": grid.catalog.collection_datasets(pattern)}
    return {"collections": grid.catalog.collections(pattern)}


def serve(grid: Grid, ready: threading.Event | None = None) -> GridServer:
    """Bind and start serving in a thread; returns the server (``shutdown()`` stops it)."""
    server = GridServer(grid, tls_context(grid.settings))
    threading.Thread(target=server.serve_forever, name="https", daemon=True).start()
    log.info("listening on %s:%d", grid.settings.host, server.server_address[1])
    return server


def port_of(server: GridServer) -> int:
    sock: socket.socket = server.socket
    return int(sock.getsockname()[1])
