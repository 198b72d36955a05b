"""Issue 5, "Done when": acting as a user inside the b2env user container with the mock CVMFS,
only through the gbasf2 client tools: source the bashrc, init a proxy, search a dataset, submit
a 10-job project with injected failures, watch it, reschedule, list, download and check the
checksums. Then the refusals, a restart of the service, and a 1,000-job project."""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from b2env import container, mockgrid, testca
from b2env.config import Config
from b2env.runner import Completed

TAUPAIR = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029130/s00/e1003/4S/r00000/"
           "taupair/mdst")
MUMU = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029134/s00/e1003/4S/r00000/"
        "mumu/mdst")
PASSPHRASE = "integration pass"
STEERING = """\
import basf2

path = basf2.create_path()
path.add_module("RootInput")
path.add_module("RootOutput", outputFileName="skim.root")
basf2.process(path)
"""
JOB_ROW = re.compile(r"^(\d{9})\s+(\S+)\s+(.*?)\s{2,}(.*?)\s{2,}(\S+)$")
RUN_ID = time.strftime("%H%M%S")  # project names are never reused, even across sessions


@dataclass
class User:
    cfg: Config
    env: dict[str, str]

    def gb2(self, *argv: str, input: str | None = None, cfg: Config | None = None) -> Completed:
        """One gb2 command in a fresh user container, in the gbasf2 environment."""
        cfg = cfg or self.cfg
        spec = container.run_spec(cfg, container.with_gbasf2(cfg, list(argv)),
                                  interactive=input is not None, env=self.env)
        return container.execute(spec, input=input, capture=True, timeout=300)

    def ok(self, *argv: str, input: str | None = None) -> str:
        done = self.gb2(*argv, input=input)
        assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
        return done.stdout

    def jobs(self, project: str) -> list[tuple[str, ...]]:
        out = self.ok("gb2_job_status", "-p", project)
        return [m.groups() for m in map(JOB_ROW.match, out.splitlines()) if m]

    def wait_final(self, project: str, timeout: float = 600) -> list[tuple[str, ...]]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.jobs(project)
            if rows and all(r[1] in ("Done", "Failed", "Killed", "Deleted") for r in rows):
                return rows
            time.sleep(2)
        raise AssertionError(f"{project} not final after {timeout} s: {rows}")


@pytest.fixture(scope="module")
def grid(mock_cfg: Config, user_image: str) -> Iterator[Config]:
    settings = mockgrid.FailureSettings(failure_rate=0.4, seed=5, time_scale=0.02,
                                        download_failure_rate=0.2)
    mockgrid.up(mock_cfg, settings)
    try:
        yield mock_cfg
    finally:
        mockgrid.down(mock_cfg, volumes=True)


@pytest.fixture(scope="module")
def alex(grid: Config) -> User:
    """aexample's certificate and encrypted key in the session's globus directory."""
    user = testca.ensure_user(grid.state_path, "aexample", "Alex Example")
    globus = grid.globus_path
    globus.mkdir(parents=True, exist_ok=True, mode=0o700)
    (globus / "usercert.pem").write_bytes(user.identity.cert_pem)
    key = globus / "userkey.pem"
    if key.exists():
        key.chmod(0o600)
    key.write_bytes(user.identity.key_pem(PASSPHRASE.encode()))
    key.chmod(0o400)
    env = {"X509_USER_CERT": str(globus / "usercert.pem"), "X509_USER_KEY": str(key)}
    return User(grid, env)


def test_user_workflow_with_injected_failures(alex: User) -> None:
    project = f"tau_it_{RUN_ID}"
    init = alex.ok("gb2_proxy_init", "-g", "belle", "--pwstdin", input=PASSPHRASE + "\n")
    assert "Proxy generated:" in init and "DIRAC group  : belle" in init
    found = alex.ok("gb2_ds_search", "dataset", "--data_type", "mc", "--campaign", "MC15ri_a",
                    "--beam_energy", "4S", "--mc_event", "taupair", "--bkg_level", "BGx1")
    assert f"\t{TAUPAIR}" in found.splitlines()
    files = alex.ok("gb2_ds_list", f"{TAUPAIR}/sub00").split()
    assert len(files) >= 20
    work = alex.cfg.work_path
    (work / "skim.py").write_text(STEERING)
    (work / "inputs.txt").write_text("".join(f"{lfn}\n" for lfn in files[:10]))

    summary = alex.ok("gbasf2", "skim.py", "-p", project, "-s", "release-08-00-00",
                      "--input_dslist", "inputs.txt", "--force")
    assert "** Number of jobs: 10" in summary

    rows = alex.wait_final(project)
    assert any(_failed(r) for r in rows), rows  # seed 5, rate 0.4: some attempts fail
    for _ in range(3):
        failed = [r[0] for r in rows if _failed(r)]
        if not failed:
            break
        alex.ok("gb2_job_reschedule", "-j", *failed, "--force")
        rows = alex.wait_final(project)
    assert all(r[1] == "Done" and r[3] == "Done" for r in rows), rows

    listed = alex.ok("gb2_ds_list", f"/belle/user/aexample/{project}/sub00/*", "-l").splitlines()
    catalog = {line.split()[0]: (int(line.split()[1]), line.split()[2]) for line in listed}
    names = [lfn.rsplit("/", 1)[1] for lfn in catalog]
    assert all(re.match(r"^skim_\d{5}_job\d+_\d{2}\.root$", n) for n in names), names
    assert any(n.endswith("_01.root") for n in names)  # a rescheduled job's second copy
    _download_all(alex, project, catalog)


def _failed(row: tuple[str, ...]) -> bool:
    return row[1] in ("Failed", "Killed") or (row[1] == "Done" and row[3] != "Done")


def _download_all(alex: User, project: str, catalog: dict[str, tuple[int, str]]) -> None:
    out = alex.ok("gb2_ds_get", project, "--force", "--failed_lfns", "failed.txt")
    assert out.startswith("Download 10 files from SE")
    failed_list = alex.cfg.work_path / "failed.txt"
    for _ in range(10):
        if not failed_list.read_text().split():
            break
        alex.ok("gb2_ds_get", project, "--force", "--input_dslist", "failed.txt",
                "--failed_lfns", "failed.txt")
    assert failed_list.read_text() == ""
    local = sorted((alex.cfg.work_path / project / "sub00").glob("*.root"))
    assert len(local) == 10
    for path in local:
        data = path.read_bytes()
        lfn = f"/belle/user/aexample/{project}/sub00/{path.name}"
        assert (len(data), f"{zlib.adler32(data):08x}") == catalog[lfn]


def test_refusals(alex: User, tmp_path: Path) -> None:
    project = f"tau_it_{RUN_ID}"
    proxies = alex.cfg.proxy_file.parent
    user = testca.ensure_user(alex.cfg.state_path, "aexample", "Alex Example")
    eve = testca.make_user(testca.ensure_ca(alex.cfg.state_path), "Eve Unregistered")
    blair = testca.ensure_user(alex.cfg.state_path, "bexample", "Blair Example")
    for name, identity, hours in (("expired", user.identity, 1 / 3600),
                                  ("eve", eve, 24), ("blair", blair.identity, 24)):
        (proxies / name).write_bytes(testca.make_proxy(identity, hours=hours))
        (proxies / name).chmod(0o600)
    time.sleep(2)

    def as_proxy(name: str, *argv: str) -> Completed:
        return alex.gb2(*argv, cfg=alex.cfg.with_overrides(proxy_path=str(proxies / name)))

    missing = as_proxy("none", "gb2_job_status", "-p", project)
    expired = as_proxy("expired", "gb2_job_status", "-p", project)
    stranger = as_proxy("eve", "gb2_job_status", "-p", project)
    other = as_proxy("blair", "gb2_job_status", "-p", project)
    steal = as_proxy("blair", "gb2_ds_get", f"/belle/user/aexample/{project}", "--force")

    assert missing.returncode != 0 and "No proxy found" in missing.stderr
    assert expired.returncode != 0 and "Proxy is expired" in expired.stderr
    assert stranger.returncode != 0 and "is not registered" in stranger.stderr
    assert other.returncode == 0 and other.stdout == "0 jobs are selected.\n"
    assert steal.returncode != 0 and "Permission denied" in steal.stderr


def test_state_survives_a_restart(alex: User) -> None:
    project = f"tau_it_{RUN_ID}"
    before = alex.jobs(project)

    mockgrid.restart(alex.cfg)

    assert alex.jobs(project) == before
    assert f"/belle/user/aexample/{project}/sub00" in alex.ok("gb2_ds_list", project)


def test_thousand_job_project_status(alex: User) -> None:
    project = f"big_it_{RUN_ID}"
    alex.ok("gbasf2", "skim.py", "-p", project, "-s", "release-08-00-00", "-i", MUMU, "--force")
    try:
        timed = alex.gb2("bash", "-c", "TIMEFORMAT=%R; time gb2_job_status -p "
                         f"{project} >/tmp/status.txt; head -1 /tmp/status.txt")
        seconds = float(timed.stderr.strip().splitlines()[-1])
        print(f"gb2_job_status for 1000 jobs inside the container: {seconds:.2f} s")
        assert timed.stdout.strip() == "1000 jobs are selected."
        assert seconds < 2.0
    finally:
        alex.ok("gb2_job_kill", "-p", project, "--force")
