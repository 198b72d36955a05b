"""Sites: --site / --banned_site choose where jobs run; a site outage stalls the jobs matched
there (Stalled, then Failed by the watchdog), and their reschedules avoid that site."""

from __future__ import annotations

import re
import time
from pathlib import Path

from b2env import mockgrid
from tests.unit.test_mockgrid_harness import GridEnv, start_grid

TAUPAIR = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029130/s00/e1003/4S/r00000/"
           "taupair/mdst/sub00")


def _rows(env: GridEnv, project: str) -> list[list[str]]:
    out = env.gb2("gb2_job_status", "-p", project, check=True).stdout
    return [re.split(r"\s{2,}", ln.strip()) for ln in out.splitlines() if re.match(r"^\d{9} ", ln)]


def _submit(env: GridEnv, project: str, *options: str) -> None:
    env.gb2("gbasf2", "steer.py", "-p", project, "-s", "release-08-00-00", "-i", TAUPAIR,
            "-n", "6", "--force", *options, check=True)


def test_sites_allowed_banned_and_outage(tmp_path: Path) -> None:
    # time scale 0.2: a job stays Stalled for 4 s, long enough to be seen by polling
    env, https = start_grid(tmp_path, mockgrid.FailureSettings(time_scale=0.2,
                                                               outage_site="LCG.KIT.de"))
    try:
        env.gb2("gb2_proxy_init", "--pwstdin", stdin="secret pass\n", check=True)
        (env.work / "steer.py").write_text("import basf2\n")
        _submit(env, "only_kek", "--site", "LCG.KEK.jp,LCG.KEK2.jp")
        _submit(env, "not_kek", "--banned_site", "LCG.KEK.jp,LCG.KEK2.jp,LCG.KIT.de")
        _submit(env, "outage", "--site", "LCG.KIT.de,LCG.Pisa.it")
        seen_stalled = _watch_for_stalled(env, "outage")
        env.wait_final("outage")
        env.wait_final("only_kek")
        env.wait_final("not_kek")

        assert {r[-1] for r in _rows(env, "only_kek")} <= {"LCG.KEK.jp", "LCG.KEK2.jp"}
        assert not {r[-1] for r in _rows(env, "not_kek")} & {"LCG.KEK.jp", "LCG.KEK2.jp",
                                                              "LCG.KIT.de"}
        at_kit = [r for r in _rows(env, "outage") if r[-1] == "LCG.KIT.de"]
        assert at_kit and seen_stalled
        assert all(r[1:3] == ["Failed", "Watchdog identified this job as stalled"] for r in at_kit)
        env.gb2("gb2_job_reschedule", "-p", "outage", "--force", check=True)
        env.wait_final("outage")
        after = {r[0]: r for r in _rows(env, "outage")}
        assert all(after[r[0]][1:4] == ["Done", "Execution Complete", "Done"] for r in at_kit)
        assert all(after[r[0]][-1] == "LCG.Pisa.it" for r in at_kit)
        bad = env.gb2("gbasf2", "steer.py", "-p", "bad_site", "-s", "release-08-00-00", "-i",
                      TAUPAIR, "--site", "LCG.Nowhere.xx", "--force")
        assert bad.returncode != 0 and "unknown site" in bad.stderr
    finally:
        env.grid.jobs.stop.set()
        https.shutdown()


def _watch_for_stalled(env: GridEnv, project: str) -> bool:
    end = time.time() + 30
    while time.time() < end:
        statuses = {r[1] for r in _rows(env, project)}
        if "Stalled" in statuses:
            return True
        if statuses <= {"Done", "Failed"}:
            return False
        time.sleep(0.05)
    return False


def test_output_dataset_rules(tmp_path: Path) -> None:
    env, https = start_grid(tmp_path, mockgrid.FailureSettings(time_scale=0.01))
    try:
        env.gb2("gb2_proxy_init", "-g", "belle_starterkit", "--pwstdin", stdin="secret pass\n",
                check=True)
        (env.work / "steer.py").write_text("import basf2\n")
        base = ["steer.py", "-s", "release-08-00-00", "-i", f"{TAUPAIR}/mdst_000001_prod00029130"
                "_task10020000001.root", "--force"]

        missing = env.gb2("gbasf2", *base, "-p", "sk_one")
        foreign = env.gb2("gbasf2", *base, "-p", "sk_two", "--output_ds",
                          "/belle/user/bexample/sk_two")
        group = env.gb2("gbasf2", *base, "-p", "sk_three", "--output_ds",
                        "/belle/group/starterkit/sk_three", check=True)

        assert missing.returncode != 0 and "needs an output dataset" in missing.stderr
        assert foreign.returncode != 0 and "outside /belle/user/aexample" in foreign.stderr
        assert "** Dataset path: /belle/group/starterkit/sk_three" in group.stdout
        env.wait_final("sk_three")
        listed = env.gb2("gb2_ds_list", "/belle/group/starterkit/sk_three/sub00", check=True)
        assert listed.stdout.split() == [
            "/belle/group/starterkit/sk_three/sub00/ntuple_00000_job400000001_00.root"]
    finally:
        env.grid.jobs.stop.set()
        https.shutdown()
