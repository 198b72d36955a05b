"""The mock grid at scale and over restarts: a 1,000-job project answers gb2_job_status in
under 2 s; state (projects, jobs, catalog) survives a restart of the service."""

from __future__ import annotations

import re
import time
from pathlib import Path

from b2env import mockgrid
from tests.unit.test_mockgrid_harness import seed, server, start_grid

MUMU = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029134/s00/e1003/4S/r00000/"
        "mumu/mdst")


def test_thousand_job_project_status_under_two_seconds(tmp_path: Path) -> None:
    env, https = start_grid(tmp_path, mockgrid.FailureSettings(failure_rate=0.2, seed=3,
                                                               time_scale=0.01))
    try:
        env.gb2("gb2_proxy_init", "--pwstdin", stdin="secret pass\n", check=True)
        (env.work / "steer.py").write_text("import basf2\n")
        env.gb2("gbasf2", "steer.py", "-p", "big1000", "-s", "release-08-00-00", "-i", MUMU,
                "--force", check=True)
        time.sleep(1)  # let the engine move jobs along while we ask

        started = time.perf_counter()
        done = env.gb2("gb2_job_status", "-p", "big1000", check=True)
        elapsed = time.perf_counter() - started

        print(f"gb2_job_status for 1000 jobs: {elapsed:.2f} s end to end")
        assert done.stdout.startswith("1000 jobs are selected.")
        assert len([ln for ln in done.stdout.splitlines() if re.match(r"^\d{9} ", ln)]) == 1000
        assert elapsed < 2.0
        waiting = env.gb2("gb2_job_status", "-p", "big1000", "--status", "Waiting", check=True)
        rows = [ln.split()[1] for ln in waiting.stdout.splitlines() if re.match(r"^\d{9} ", ln)]
        assert rows and set(rows) == {"Waiting"}
    finally:
        env.grid.jobs.stop.set()
        https.shutdown()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    env, https = start_grid(tmp_path, mockgrid.FailureSettings(time_scale=0.01))
    env.gb2("gb2_proxy_init", "--pwstdin", stdin="secret pass\n", check=True)
    (env.work / "steer.py").write_text("import basf2\n")
    env.gb2("gbasf2", "steer.py", "-p", "before_restart", "-s", "release-08-00-00", "-i",
            f"{MUMU}/sub00/mdst_000001_prod00029134_task10020000001.root", "--force", check=True)
    env.wait_final("before_restart")
    env.grid.jobs.stop.set()
    https.shutdown()
    https.server_close()

    again = server.Grid(env.grid.settings)  # same config and state directories
    seed.seed_catalog(again.settings, again.db, again.catalog)  # must not reseed
    https = server.serve(again)
    try:
        env.cfg = env.cfg.with_overrides(mock_grid_url=f"https://localhost:{server.port_of(https)}")
        (Path(env.env["DIRACSYSCONFIG"])).write_text(mockgrid.client_config(env.cfg))
        status = env.gb2("gb2_job_status", "-p", "before_restart", check=True).stdout
        outputs = env.gb2("gb2_ds_list", "before_restart/sub00/*", check=True).stdout.split()
    finally:
        https.shutdown()
    assert "Done:1" in status
    assert outputs == ["/belle/user/aexample/before_restart/sub00/ntuple_00000_job400000001_00.root"]
    assert again.db.one("SELECT COUNT(*) AS n FROM files WHERE lfn LIKE '%mumu%'")["n"] == 1000


def test_jobs_executing_at_a_restart_stall_then_fail(tmp_path: Path) -> None:
    env, https = start_grid(tmp_path, mockgrid.FailureSettings(time_scale=0.01))
    env.grid.jobs.stop.set()  # no engine: we put a job into the executing stage by hand
    https.shutdown()
    https.server_close()
    now = time.time()
    with env.grid.db.transaction() as conn:
        conn.execute("INSERT INTO projects VALUES ('p', 'aexample', 'belle', ?, "
                     "'release-08-00-00', 's.py', '{}', '/belle/user/aexample/p')", (now,))
        conn.execute("INSERT INTO jobs (id, project, owner, idx, status, minor, app, site, inputs,"
                     " next_at, stage, submitted, updated) VALUES (400000001, 'p', 'aexample', 0,"
                     " 'Running', 'Application', 'Running', 'LCG.KEK.jp', '[]', 1e18, 'exec', ?, ?)",
                     (now, now))

    again = server.Grid(env.grid.settings)
    for _ in range(200):
        again.jobs.step()
        row = again.db.one("SELECT status, minor FROM jobs WHERE id = 400000001")
        if row["status"] == "Failed":
            break
        time.sleep(0.01)

    assert (row["status"], row["minor"]) == ("Failed", "Watchdog identified this job as stalled")
