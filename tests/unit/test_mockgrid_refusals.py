"""What the mock grid refuses, as the real grid does: no proxy, an expired proxy, an
unregistered DN, a group the user is not in, and everything of another user."""

# ruff: noqa: F811  (pytest fixtures imported from the harness are redefined as arguments)
from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import time
from pathlib import Path

import pytest

from b2env import testca
from tests.unit.test_mockgrid_harness import GridEnv, grid_env  # noqa: F401 (fixture)

TAUPAIR = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029130/s00/e1003/4S/r00000/"
           "taupair/mdst/sub00")


@pytest.fixture(scope="module")
def alex_project(grid_env: GridEnv) -> str:
    (grid_env.work / "steer.py").write_text("import basf2\n")
    grid_env.gb2("gbasf2", "steer.py", "-p", "alex_private", "-s", "release-08-00-00", "-i",
                 TAUPAIR, "-n", "12", "--force", check=True)
    grid_env.wait_final("alex_private")
    return "alex_private"


def _as(grid_env: GridEnv, proxy: Path) -> dict[str, str]:
    return grid_env.env | {"X509_USER_PROXY": str(proxy)}


def test_no_proxy_is_refused_before_anything_is_sent(grid_env: GridEnv, tmp_path: Path) -> None:
    env = _as(grid_env, tmp_path / "missing")
    done = grid_env.gb2("gb2_job_status", "-p", "alex_private", env=env)
    assert done.returncode != 0 and "No proxy found" in done.stderr


def test_expired_proxy_is_refused_by_the_grid(grid_env: GridEnv) -> None:
    proxy = grid_env.proxy_for("aexample", "Alex Example", hours=1 / 3600)
    time.sleep(2)

    done = grid_env.gb2("gb2_job_status", "-p", "alex_private", env=_as(grid_env, proxy))

    assert done.returncode != 0
    assert "Proxy is expired: the grid refused it" in done.stderr


def test_unregistered_dn_is_refused(grid_env: GridEnv) -> None:
    ca = testca.ensure_ca(grid_env.cfg.state_path)
    eve = testca.make_user(ca, "Eve Unregistered")
    proxy = grid_env.home / "proxy-eve"
    proxy.write_bytes(testca.make_proxy(eve))
    proxy.chmod(0o600)

    done = grid_env.gb2("gb2_ds_list", TAUPAIR, env=_as(grid_env, proxy))

    assert done.returncode != 0
    assert "Unauthorized query" in done.stderr and "is not registered" in done.stderr


def test_proxy_of_a_foreign_ca_fails_the_handshake(grid_env: GridEnv) -> None:
    stranger = testca.make_user(testca.make_ca(), "Alex Example")
    proxy = grid_env.home / "proxy-foreign"
    proxy.write_bytes(testca.make_proxy(stranger))
    proxy.chmod(0o600)

    done = grid_env.gb2("gb2_ds_list", TAUPAIR, env=_as(grid_env, proxy))

    assert done.returncode != 0 and "SSL" in done.stderr


def test_group_the_user_is_not_in_is_refused(grid_env: GridEnv) -> None:
    proxy = grid_env.proxy_for("aexample", "Alex Example", group="belle_admin")
    done = grid_env.gb2("gb2_ds_list", TAUPAIR, env=_as(grid_env, proxy))
    assert done.returncode != 0 and "not a member of group belle_admin" in done.stderr


def test_another_users_project_is_invisible_and_untouchable(
    grid_env: GridEnv, alex_project: str
) -> None:
    blair = _as(grid_env, grid_env.proxy_for("bexample", "Blair Example"))
    alex_jobs = grid_env.gb2("gb2_job_status", "-p", alex_project, check=True).stdout
    job_id = next(line.split()[0] for line in alex_jobs.splitlines() if re.match(r"\d{9} ", line))

    status = grid_env.gb2("gb2_job_status", "-p", alex_project, env=blair)
    as_alex = grid_env.gb2("gb2_job_status", "-p", alex_project, "--user", "aexample", env=blair)
    kill = grid_env.gb2("gb2_job_kill", "-j", job_id, "--force", env=blair)
    reschedule = grid_env.gb2("gb2_job_reschedule", "-j", job_id, "--force", env=blair)
    sandbox = grid_env.gb2("gb2_job_output", "-j", job_id, env=blair)
    files = grid_env.gb2("gb2_ds_get", f"/belle/user/aexample/{alex_project}", "--force",
                         env=blair)
    listing = grid_env.gb2("gb2_ds_list", f"/belle/user/aexample/{alex_project}", env=blair)

    assert status.stdout == "0 jobs are selected.\n"
    assert as_alex.returncode != 0 and "Unauthorized" in as_alex.stderr
    for refused in (kill, reschedule, sandbox):
        assert refused.returncode != 0 and "not yours" in refused.stderr
    for refused in (files, listing):
        assert refused.returncode != 0 and "Permission denied" in refused.stderr
    after = grid_env.gb2("gb2_job_status", "-p", alex_project, check=True).stdout
    assert after == alex_jobs


def test_plain_tls_without_proxy_reaches_only_ping(grid_env: GridEnv) -> None:
    port = int(grid_env.cfg.mock_grid_url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(grid_env.cfg.state_path / "mock-grid" / "ca.pem"))

    def get(path: str) -> str:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                return b"".join(iter(lambda: tls.recv(65536), b"")).decode()

    assert get("/ping").startswith("HTTP/1.1 200") and '"ready": true' in get("/ping")
    assert get(f"/se{TAUPAIR}/mdst_000001_prod00029130_task10020000001.root").startswith(
        "HTTP/1.1 403")


def test_server_refuses_an_expired_proxy_at_the_handshake(grid_env: GridEnv) -> None:
    user = testca.ensure_user(grid_env.cfg.state_path, "aexample", "Alex Example")
    proxy = grid_env.home / "proxy-short"
    proxy.write_bytes(testca.make_proxy(
        user.identity, not_after=testca.now() + dt.timedelta(seconds=1)))
    time.sleep(2)
    context = ssl.create_default_context(cafile=str(grid_env.cfg.state_path / "mock-grid" / "ca.pem"))
    context.load_cert_chain(proxy)
    port = int(grid_env.cfg.mock_grid_url.rsplit(":", 1)[1])

    # TLS 1.3: the refusal shows as an alert or as the connection closing before any answer.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                if not tls.recv(1):
                    raise ConnectionError("closed without an answer")
