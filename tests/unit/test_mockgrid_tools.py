"""The gb2 client tools against the mock grid served in-process (no Docker): proxies, the
project workflow with injected failures, output layouts and names."""

# ruff: noqa: F811  (pytest fixtures imported from the harness are redefined as arguments)
from __future__ import annotations

import re
import zlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from b2env import testca
from tests.unit.test_mockgrid_harness import GridEnv, grid_env  # noqa: F401 (fixture)

TAUPAIR = ("/belle/MC/release-08-00-00/DB00002481/MC15ri_a/prod00029130/s00/e1003/4S/r00000/"
           "taupair/mdst")
OUTPUT = re.compile(r"^/belle/user/aexample/(\w+)/sub00/ntuple_(\d{5})_job(\d+)_(\d{2})\.root$")


def test_proxy_init_writes_the_same_kind_of_proxy_as_testca(grid_env: GridEnv) -> None:
    path = Path(grid_env.env["X509_USER_PROXY"])
    assert path.stat().st_mode & 0o777 == 0o600
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    reference = x509.load_pem_x509_certificates(
        testca.make_proxy(testca.ensure_user(grid_env.cfg.state_path, "aexample",
                                             "Alex Example").identity)
    )
    assert len(certs) == 2 and b"RSA PRIVATE KEY" in path.read_bytes()
    proxy, user = certs
    assert proxy.issuer == user.subject
    assert list(proxy.subject)[:-1] == list(user.subject)
    assert str(list(proxy.subject)[-1].value).isdigit()
    public = proxy.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert proxy.signature_hash_algorithm is not None
    assert proxy.signature_hash_algorithm.name == "sha256"
    ours = {e.oid.dotted_string: (e.critical, e.value) for e in proxy.extensions}
    theirs = {e.oid.dotted_string: (e.critical, e.value) for e in reference[0].extensions}
    assert ours == theirs  # same extensions, same DER: group belle, VOMS /belle, ProxyCertInfo


def test_wrong_passphrase_prints_bad_passphrase_and_exits_zero(grid_env: GridEnv) -> None:
    before = Path(grid_env.env["X509_USER_PROXY"]).read_bytes()

    done = grid_env.gb2("gb2_proxy_init", "-g", "belle", "--pwstdin", stdin="wrong\n")

    assert done.returncode == 0
    assert "Bad passphrase" in done.stdout and "Error:" in done.stdout
    assert Path(grid_env.env["X509_USER_PROXY"]).read_bytes() == before


def test_proxy_info_prints_13_column_fields_in_dirac_order(grid_env: GridEnv) -> None:
    done = grid_env.gb2("gb2_proxy_info", check=True)

    names = [line[:13].rstrip() for line in done.stdout.splitlines()]
    assert names == ["subject", "issuer", "identity", "timeleft", "DIRAC group", "rfc", "path",
                     "username", "properties", "VOMS", "VOMS fqan"]
    fields = {line[:13].rstrip(): line[15:] for line in done.stdout.splitlines()}
    assert re.match(r"^2[34]:\d\d:\d\d$", fields["timeleft"])
    assert fields["DIRAC group"] == "belle" and fields["username"] == "aexample"
    assert fields["VOMS fqan"] == "['/belle']"
    assert fields["path"] == grid_env.env["X509_USER_PROXY"]


def test_proxy_info_without_a_proxy_fails(grid_env: GridEnv, tmp_path: Path) -> None:
    env = grid_env.env | {"X509_USER_PROXY": str(tmp_path / "none")}
    done = grid_env.gb2("gb2_proxy_info", env=env)
    assert done.returncode != 0 and "does not exist" in done.stdout


def test_dataset_search_and_collections(grid_env: GridEnv) -> None:
    found = grid_env.gb2("gb2_ds_search", "dataset", "--data_type", "mc", "--campaign",
                         "MC15ri_a", "--beam_energy", "4S", "--mc_event", "taupair",
                         "--bkg_level", "BGx1", check=True).stdout
    assert found.splitlines() == ["Matching datasets found:", f"\t{TAUPAIR}"]
    listed = grid_env.gb2("gb2_ds_search", "collection", "--list_datasets",
                          "/belle/collection/MC/MC15ri_a_taupair_4S_v1", check=True).stdout
    assert listed.split() == [TAUPAIR]
    blocks = grid_env.gb2("gb2_ds_list", TAUPAIR, check=True).stdout.split()
    assert blocks == [f"{TAUPAIR}/sub00"]
    files = grid_env.gb2("gb2_ds_list", f"{TAUPAIR}/sub00", check=True).stdout.split()
    assert len(files) == 24
    assert files[0] == f"{TAUPAIR}/sub00/mdst_000001_prod00029130_task10020000001.root"


def test_unknown_project_selects_zero_jobs(grid_env: GridEnv) -> None:
    done = grid_env.gb2("gb2_job_status", "-p", "no_such_project", check=True)
    assert done.stdout == "0 jobs are selected.\n"


def test_project_names_are_checked_and_never_reused(grid_env: GridEnv) -> None:
    (grid_env.work / "steer.py").write_text("import basf2\n")
    base = ["steer.py", "-s", "release-08-00-00", "-i", f"{TAUPAIR}/sub00", "--force"]

    bad = grid_env.gb2("gbasf2", *base, "-p", "bad name#1")
    long = grid_env.gb2("gbasf2", *base, "-p", "x" * 33)
    first = grid_env.gb2("gbasf2", *base, "-p", "reused_once")
    grid_env.gb2("gb2_job_delete", "-p", "reused_once", "--force", check=True)
    again = grid_env.gb2("gbasf2", *base, "-p", "reused_once")

    assert bad.returncode != 0 and "[a-zA-Z0-9_-]" in bad.stderr
    assert long.returncode != 0
    assert first.returncode == 0, first.stderr
    assert again.returncode != 0 and "never be reused" in again.stderr


def test_summary_prompt_and_dry_run_submit_nothing(grid_env: GridEnv) -> None:
    (grid_env.work / "steer.py").write_text("import basf2\n")
    base = ["steer.py", "-s", "release-08-00-00", "-i", f"{TAUPAIR}/sub00", "-n", "5"]

    dry = grid_env.gb2("gbasf2", *base, "-p", "dry_one", "--dry_run", check=True)
    refused = grid_env.gb2("gbasf2", *base, "-p", "dry_one", stdin="N\n")

    assert re.search(r"^\*+ Project summary \*+$", dry.stdout, re.M)
    lines = dict(line[3:].split(": ", 1) for line in dry.stdout.splitlines()
                 if line.startswith("** "))
    assert lines["Project name"] == "dry_one"
    assert lines["Dataset path"] == "/belle/user/aexample/dry_one"
    assert lines["Job owner"].startswith("aexample @ belle (")
    assert lines["Number of input files"] == "24" and lines["Number of jobs"] == "5"
    assert lines["Estimated CPU time per job"] == "10 min"
    assert "Please enter Y or N:" in refused.stdout and refused.returncode != 0
    assert grid_env.gb2("gb2_job_status", "-p", "dry_one").stdout == "0 jobs are selected.\n"


def test_project_with_failures_rescheduled_then_downloaded(grid_env: GridEnv) -> None:
    (grid_env.work / "ana.py").write_text("import basf2\n# writes ntuple.root\n")
    dslist = grid_env.work / "inputs.txt"
    dslist.write_text("".join(f"{TAUPAIR}/sub00/mdst_{i:06d}_prod00029130_task{10020000000 + i:011d}"
                              ".root\n" for i in range(1, 11)))
    grid_env.gb2("gbasf2", "ana.py", "-p", "tau_ana1", "-s", "release-08-00-00",
                 "--input_dslist", str(dslist), "--force", check=True)

    first = grid_env.wait_final("tau_ana1")
    rows = _rows(first)
    failed = [r for r in rows if r[1] == "Failed" or (r[1] == "Done" and r[-2] != "Done")]
    assert len(rows) == 10 and failed, first  # seed 7, rate 0.5: some attempts fail
    grid_env.gb2("gb2_job_reschedule", "-p", "tau_ana1", "--force", check=True)
    second = grid_env.wait_final("tau_ana1")
    assert "Done:10" in second and all(r[-2] == "Done" for r in _rows(second)), second

    listed = grid_env.gb2("gb2_ds_list", "/belle/user/aexample/tau_ana1/sub00/*", "-l",
                          check=True).stdout.splitlines()
    matches = [OUTPUT.match(line.split()[0]) for line in listed]
    assert all(matches) and {m.group(1) for m in matches if m} == {"tau_ana1"}
    assert any(m.group(4) == "01" for m in matches if m)  # reschedules write _01 copies
    _download_until_complete(grid_env, "tau_ana1", listed)


def _rows(status: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in status.splitlines()
            if re.match(r"^\d{9}\s", line)]


def _download_until_complete(grid_env: GridEnv, project: str, listed: list[str]) -> None:
    done = grid_env.gb2("gb2_ds_get", project, "--force", "--failed_lfns", "failed.txt",
                        check=True)
    assert done.stdout.startswith("Download 10 files from SE")
    for _ in range(10):
        failed = (grid_env.work / "failed.txt").read_text().split()
        if not failed:
            break
        grid_env.gb2("gb2_ds_get", project, "--force", "--input_dslist", "failed.txt",
                     "--failed_lfns", "failed.txt", check=True)
    assert (grid_env.work / "failed.txt").read_text() == ""
    catalog = {line.split()[0]: (int(line.split()[1]), line.split()[2]) for line in listed}
    local = sorted((grid_env.work / project / "sub00").glob("*.root"))
    assert len(local) == 10
    for path in local:
        lfn = f"/belle/user/aexample/{project}/sub00/{path.name}"
        data = path.read_bytes()
        assert (len(data), f"{zlib.adler32(data):08x}") == catalog[lfn]


def test_job_output_fetches_the_sandbox(grid_env: GridEnv) -> None:
    status = grid_env.gb2("gb2_job_status", "-p", "tau_ana1", check=True).stdout
    job_id = _rows(status)[0][0]

    done = grid_env.gb2("gb2_job_output", "-j", job_id, check=True)

    box = grid_env.work / "log" / job_id
    assert f"download output sandbox below ./log/{job_id}" in done.stdout
    assert {p.name for p in box.iterdir()} == {"job.info", "Script1_basf2helper.py.log",
                                               "std.out"}
    assert "[INFO] Steering file: ana.py" in (box / "Script1_basf2helper.py.log").read_text()
    assert "JobGroup: tau_ana1" in (box / "job.info").read_text()


def test_collection_and_several_lpns_as_input(grid_env: GridEnv) -> None:
    (grid_env.work / "steer.py").write_text("import basf2\n")
    collection = "/belle/collection/MC/MC15ri_a_BBbar_4S_v1"  # charged (6) + mixed (6)
    several = f"{TAUPAIR}/sub00/mdst_000001_prod00029130_task10020000001.root,{TAUPAIR}"

    by_collection = grid_env.gb2("gbasf2", "steer.py", "-p", "coll_in", "-s", "release-08-00-00",
                                 "-i", collection, "--dry_run", check=True).stdout
    by_list = grid_env.gb2("gbasf2", "steer.py", "-p", "many_in", "-s", "release-08-00-00",
                           "-i", several, "--dry_run", check=True).stdout

    assert "** Number of input files: 12" in by_collection
    assert "** Number of input files: 25" in by_list


def test_kill_then_reschedule_and_project_summary(grid_env: GridEnv) -> None:
    (grid_env.work / "steer.py").write_text("import basf2\n")
    settings = grid_env.grid.settings
    settings.time_scale = 1.0  # seconds in Received/Checking/Waiting: time to kill them there
    try:
        grid_env.gb2("gbasf2", "steer.py", "-p", "to_kill", "-s", "release-08-00-00", "-i",
                     f"{TAUPAIR}/sub00", "-n", "8", "--force", check=True)
        killed = grid_env.gb2("gb2_job_kill", "-p", "to_kill", "--force", check=True)
    finally:
        settings.time_scale = 0.01
    after_kill = _rows(grid_env.gb2("gb2_job_status", "-p", "to_kill", check=True).stdout)
    grid_env.gb2("gb2_job_reschedule", "-p", "to_kill", "--force", check=True)
    final = grid_env.wait_final("to_kill")
    summary = grid_env.gb2("gb2_project_summary", "-p", "to_kill", check=True).stdout.splitlines()

    assert killed.stdout.startswith("Kill 3 jobs:")
    assert [r[1:3] for r in after_kill] == [["Killed", "Marked for termination"]] * 3
    assert "Done:3" in final
    assert summary[0].split() == ["Project", "Owner", "Status", "Done", "Fail", "Run", "Wait",
                                  "Submission", "Time(UTC)", "Duration"]
    assert set(summary[1]) == {"="}
    assert summary[2].split()[:7] == ["to_kill", "aexample", "Done", "3", "0", "0", "0"]
