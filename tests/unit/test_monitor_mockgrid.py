"""The whole grid workflow against the mock grid service served in-process on 127.0.0.1 (no
Docker): the real mock gb2 client tools run as host subprocesses, jobs run a stand-in basf2
that writes real ROOT ntuples with uproot, and failures are injected. Covers the monitor with
rescheduling (killed and restarted mid-project, the grid restarted mid-monitor), the download
with transient failures, and the merge with the entry-count check."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from b2env import analysis, mockgrid, testca
from b2env.analysis import BelleIIGridAnalysis
from b2env.config import Config
from b2env.runner import Completed

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "containers" / "mock-grid" / "service"
GBASF2 = ROOT / "containers" / "mock-cvmfs" / "tree" / "belle.kek.jp" / "grid" / "gbasf2" / "pro"
if str(SERVICE) not in sys.path:
    sys.path.insert(0, str(SERVICE))

from mockgrid_service import seed, server, settings  # noqa: E402

EVENTS_PER_FILE = 20
TAUPAIR = (
    "/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029130/s00/e1003/4S/r00000/taupair/mdst"
)

# Stands in for the container's `with-basf2 <release> -- cmd ...` on the service side:
# b2mock-make-mdst writes an mdst-shaped tree, basf2 writes one ntuple row per input event.
WITH_BASF2 = r"""#!/usr/bin/env python3
import sys
import numpy as np
import uproot
release, sep, cmd, *args = sys.argv[1:]
if cmd == "b2mock-make-mdst":
    out, events = args[0], int(args[args.index("--events") + 1])
    seed = int(args[args.index("--seed") + 1])
    with uproot.recreate(out) as f:
        f.mktree("tree", {"event": np.int32, "px": np.float64})
        f["tree"].extend({"event": np.arange(events, dtype=np.int32),
                          "px": np.random.default_rng(seed).normal(size=events)})
    sys.exit(0)
if cmd == "basf2":
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-i"]
    parts = [uproot.open(p)["tree"].arrays(library="np") for p in inputs]
    with uproot.recreate("taupair.root") as f:
        f.mktree("tau", {"event": np.int32, "thrust": np.float64})
        if parts:
            f["tau"].extend({"event": np.concatenate([p["event"] for p in parts]),
                             "thrust": np.abs(np.concatenate([p["px"] for p in parts]))})
    print("[INFO] processed", sum(len(p["event"]) for p in parts), "events")
    sys.exit(0)
sys.exit("unknown command " + cmd)
"""


@dataclass
class MockGrid:
    cfg: Config
    env: dict[str, str]
    work: Path
    grid: server.Grid
    https: server.GridServer
    conf: settings.Settings

    def call(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        """A Gb2Caller running the mock client tools on the host."""
        done = subprocess.run(
            [sys.executable, str(GBASF2 / "bin" / argv[0]), *argv[1:]],
            input=input or "",
            text=True,
            capture_output=True,
            env=self.env,
            cwd=cwd or self.work,
            timeout=120,
            check=False,
        )
        return Completed(list(argv), done.returncode, done.stdout, done.stderr)

    def restart(self) -> None:
        """Stop the HTTPS endpoint and serve the same state again on a new port."""
        self.https.shutdown()
        self.https.server_close()
        self.https = server.serve(self.grid)
        port = server.port_of(self.https)
        dirac_cfg = Path(self.env["DIRACSYSCONFIG"])
        url = f"https://localhost:{port}"
        dirac_cfg.write_text(mockgrid.client_config(self.cfg.with_overrides(mock_grid_url=url)))


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockGrid]:
    tmp = tmp_path_factory.mktemp("grid")
    failures = mockgrid.FailureSettings(
        failure_rate=0.3, seed=5, time_scale=0.005, download_failure_rate=0.2
    )
    cfg = Config(state_dir=str(tmp / "state"), workdir=str(tmp))
    conf = settings.load_from(mockgrid.write_config(cfg, failures), tmp / "var")
    wrapper = tmp / "with-basf2"
    wrapper.write_text(WITH_BASF2)
    wrapper.chmod(0o755)
    conf.host, conf.port, conf.seed_events = "127.0.0.1", 0, EVENTS_PER_FILE
    conf.basf2_wrapper = [sys.executable, str(wrapper)]
    conf.cvmfs_root = tmp / "cvmfs"
    (conf.cvmfs_root / "belle.cern.ch" / "el9" / "releases" / "release-08-00-00").mkdir(
        parents=True
    )
    grid = server.Grid(conf)
    https = server.serve(grid)
    seed.seed_catalog(conf, grid.db, grid.catalog)
    grid.ready.set()
    threading.Thread(target=grid.jobs.run_engine, daemon=True).start()
    cfg = cfg.with_overrides(mock_grid_url=f"https://localhost:{server.port_of(https)}")
    env = client_env(tmp, cfg)
    mock = MockGrid(cfg, env, tmp / "work", grid, https, conf)
    done = mock.call(["gb2_proxy_init", "-g", "belle", "--pwstdin"], input="demo pass\n")
    assert "Proxy generated:" in done.stdout, done.stdout + done.stderr
    yield mock
    grid.jobs.stop.set()
    mock.https.shutdown()


def client_env(tmp: Path, cfg: Config) -> dict[str, str]:
    dirac_cfg = tmp / "dirac.cfg"
    dirac_cfg.write_text(mockgrid.client_config(cfg))
    cert_dir = testca.write_ca_dir(testca.ensure_ca(cfg.state_path), tmp / "certificates")
    home = tmp / "home"
    (tmp / "work").mkdir()
    (tmp / "work" / "steering_taupair.py").write_text("import basf2\nmain = basf2.Path()\n")
    user = testca.ensure_user(cfg.state_path, "aexample", "Alex Example")
    globus = home / ".globus"
    globus.mkdir(parents=True)
    (globus / "usercert.pem").write_bytes(user.identity.cert_pem)
    (globus / "userkey.pem").write_bytes(user.identity.key_pem(b"demo pass"))
    (globus / "userkey.pem").chmod(0o400)
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DIRACSYSCONFIG": str(dirac_cfg),
        "X509_CERT_DIR": str(cert_dir),
        "X509_USER_PROXY": str(home / "x509up"),
    }


def uproot_hadd(argv: list[str]) -> Completed:
    """hadd stand-in: concatenate the 'tau' trees with uproot (argv = hadd -f OUT IN...)."""
    import numpy as np
    import uproot

    parts = [uproot.open(p)["tau"].arrays(library="np") for p in argv[3:]]
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    with uproot.recreate(argv[2]) as out:
        out.mktree("tau", {k: v.dtype for k, v in joined.items()})
        out["tau"].extend(joined)
    return Completed(argv, 0, "", "")


@pytest.mark.slow
def test_submit_monitor_restart_download_merge(
    mock: MockGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis, "image_id", lambda cfg: "b2env/user:test")
    ana = BelleIIGridAnalysis(cfg=Config(workdir=str(mock.work), max_retries=5), call=mock.call)
    assert TAUPAIR in ana.search_datasets(mc_event="taupair")
    result = ana.submit(
        "steering_taupair.py", project="wf_taupair_01", datasets=[TAUPAIR], skip_local_test=True
    )
    assert result.submitted and result.summary["Number of jobs"] == "24"
    events_in = int(result.summary["Processed events"])
    assert events_in == 24 * EVENTS_PER_FILE

    # Two polls, then the monitor "is killed"; the grid restarts; a new monitor resumes.
    first = ana.monitor("wf_taupair_01", interval=0.3, auto_resubmit=True, max_polls=2)
    assert not first.finished
    mock.restart()
    summary = ana.monitor("wf_taupair_01", interval=0.3, auto_resubmit=True, max_polls=400)
    assert summary.exit_code == 0, summary.lines()
    assert summary.done == 24 and summary.reschedules >= 1

    report = ana.download("wf_taupair_01")
    assert report.complete and report.expected == 24, report.lines()
    merged = ana.merge("wf_taupair_01", hadd=uproot_hadd)
    assert merged.entries == {"tau": events_in}

    with pytest.raises(Exception, match="used before"):
        ana.submit(
            "steering_taupair.py", project="wf_taupair_01", datasets=[TAUPAIR], skip_local_test=True
        )


def test_thousand_job_project_is_polled_in_one_call_under_3_s(
    mock: MockGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from b2env import monitor

    monkeypatch.setattr(analysis, "image_id", lambda cfg: "b2env/user:test")
    mumu = TAUPAIR.replace("prod00029130", "prod00029134").replace("taupair", "mumu")
    ana = BelleIIGridAnalysis(cfg=Config(workdir=str(mock.work)), call=mock.call)
    ana.submit("steering_taupair.py", project="wf_mumu_1000", datasets=[mumu], skip_local_test=True)
    calls: list[list[str]] = []

    def counting(argv: Sequence[str], **kw: object) -> Completed:
        calls.append(list(argv))
        return mock.call(argv, **kw)  # type: ignore[arg-type]

    watcher = monitor.Monitor(
        counting, "wf_mumu_1000", mock.work / "m1000.json", auto_resubmit=False
    )
    started = time.perf_counter()
    progress = watcher.poll()
    elapsed = time.perf_counter() - started
    ana.kill("wf_mumu_1000")
    assert progress.total == 1000 and [c[0] for c in calls] == ["gb2_job_status"]
    assert elapsed < 3.0, f"one poll of 1000 jobs took {elapsed:.2f} s"
    print(f"1000-job poll: {elapsed:.2f} s")
