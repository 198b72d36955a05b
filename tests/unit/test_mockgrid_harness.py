"""The mock grid served in-process on 127.0.0.1 for unit tests (no Docker), and its clients.

``FAKE_WITH_BASF2`` stands in for the container's with-basf2; it mimics ``with-basf2 <release> -- cmd ...`` for the two commands the service
runs: ``b2mock-make-mdst`` (writes a small file) and ``basf2`` (writes ``ntuple.root`` from its
inputs; a steering file containing ``FAIL`` exits 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from b2env import mockgrid, testca
from b2env.config import Config

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "containers" / "mock-grid" / "service"
GBASF2 = ROOT / "containers" / "mock-cvmfs" / "tree" / "belle.kek.jp" / "grid" / "gbasf2" / "pro"
for _path in (SERVICE, GBASF2 / "lib" / "python"):  # the service and the client library
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from gb2mock import diraccfg, tools_data  # noqa: E402
from mockgrid_service import execution, seed, server, settings  # noqa: E402

__all__ = ["diraccfg", "execution", "seed", "server", "settings", "tools_data"]

FAKE_WITH_BASF2 = r'''#!/usr/bin/env python3
import hashlib, sys
release, sep, cmd, *args = sys.argv[1:]
assert sep == "--"
if cmd == "b2mock-make-mdst":
    out = args[0]
    seed = args[args.index("--seed") + 1]
    with open(out, "wb") as fh:
        fh.write(b"mdst " + release.encode() + b" " + hashlib.sha256(seed.encode()).digest() * 64)
    sys.exit(0)
if cmd == "basf2":
    steering = args[0]
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-i"]
    text = open(steering).read()
    print(f"[INFO] Steering file: {steering}")
    print(f"[INFO] release {release}, inputs {inputs}")
    if "FAIL" in text:
        print("[FATAL] steering file asked to fail", file=sys.stderr)
        sys.exit(1)
    digest = hashlib.sha256(b"".join(open(f, "rb").read() for f in inputs)).digest()
    with open("ntuple.root", "wb") as fh:
        fh.write(b"ntuple " + digest * 16)
    sys.exit(0)
sys.exit(f"fake with-basf2: unknown command {cmd}")
'''


@dataclass
class GridEnv:
    """A mock grid served in-process on 127.0.0.1 and the environment its clients use."""

    cfg: Config
    grid: server.Grid
    env: dict[str, str]
    home: Path
    work: Path

    def gb2(self, tool: str, *args: str, stdin: str = "", env: dict[str, str] | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, str(GBASF2 / "bin" / tool), *args], input=stdin, text=True,
            capture_output=True, env=env or self.env, cwd=self.work, timeout=120, check=False,
        )
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def proxy_for(self, username: str, common_name: str, **kwargs: object) -> Path:
        user = testca.ensure_user(self.cfg.state_path, username, common_name)
        path = self.home / f"proxy-{username}"
        path.write_bytes(testca.make_proxy(user.identity, **kwargs))  # type: ignore[arg-type]
        path.chmod(0o600)
        return path

    def wait_final(self, project: str, timeout: float = 60) -> str:
        import time

        end = time.time() + timeout
        while time.time() < end:
            out = self.gb2("gb2_job_status", "-p", project, check=True).stdout
            if "Running:0" in out and "Waiting:0" in out and "Stalled:0" in out:
                return out
            time.sleep(0.2)
        raise AssertionError(f"project {project} not final after {timeout} s:\n{out}")


def start_grid(tmp: Path, failures: mockgrid.FailureSettings) -> tuple[GridEnv, server.GridServer]:
    state = tmp / "state"
    cfg = Config(state_dir=str(state))
    config_dir = mockgrid.write_config(cfg, failures)
    wrapper = tmp / "with-basf2"
    wrapper.write_text(FAKE_WITH_BASF2)
    wrapper.chmod(0o755)
    cvmfs = tmp / "cvmfs"
    for release in ("release-08-00-00", "light-2503-b2env"):
        (cvmfs / "belle.cern.ch" / "el9" / "releases" / release).mkdir(parents=True)
    conf = settings.load_from(config_dir, tmp / "var")
    conf.host, conf.port = "127.0.0.1", 0
    conf.basf2_wrapper = [sys.executable, str(wrapper)]
    conf.cvmfs_root = cvmfs
    grid = server.Grid(conf)
    https = server.serve(grid)
    seed.seed_catalog(conf, grid.db, grid.catalog)
    grid.ready.set()
    threading.Thread(target=grid.jobs.run_engine, daemon=True).start()
    cfg = cfg.with_overrides(mock_grid_url=f"https://localhost:{server.port_of(https)}")
    return _client_env(tmp, cfg, grid), https


def _client_env(tmp: Path, cfg: Config, grid: server.Grid) -> GridEnv:
    dirac_cfg = tmp / "dirac.cfg"
    dirac_cfg.write_text(mockgrid.client_config(cfg))
    cert_dir = testca.write_ca_dir(testca.ensure_ca(cfg.state_path), tmp / "certificates")
    home, work = tmp / "home", tmp / "work"
    work.mkdir()
    user = testca.ensure_user(cfg.state_path, "aexample", "Alex Example")
    globus = home / ".globus"
    globus.mkdir(parents=True)
    (globus / "usercert.pem").write_bytes(user.identity.cert_pem)
    (globus / "userkey.pem").write_bytes(user.identity.key_pem(b"secret pass"))
    (globus / "userkey.pem").chmod(0o400)
    env = {
        "HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
        "DIRACSYSCONFIG": str(dirac_cfg), "X509_CERT_DIR": str(cert_dir),
        "X509_USER_PROXY": str(home / "x509up"),
    }
    return GridEnv(cfg, grid, env, home, work)


@pytest.fixture(scope="module")
def grid_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridEnv]:
    failures = mockgrid.FailureSettings(
        failure_rate=0.5, seed=7, time_scale=0.01, download_failure_rate=0.3
    )
    env, https = start_grid(tmp_path_factory.mktemp("grid"), failures)
    done = env.gb2("gb2_proxy_init", "-g", "belle", "--pwstdin", stdin="secret pass\n")
    assert done.returncode == 0 and "Proxy generated:" in done.stdout, done.stdout + done.stderr
    yield env
    env.grid.jobs.stop.set()
    https.shutdown()
