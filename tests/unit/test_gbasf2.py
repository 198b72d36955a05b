"""Parsers for gb2 tool output, fed with recorded and synthetic text."""

from __future__ import annotations

import pytest

from b2env import gbasf2
from b2env.errors import GridError

STATUS = """\
3 jobs are selected.

 Job id     Status         MinorStatus        ApplicationStatus      Site
=============================================================================
400000001   Running   Application             Running             LCG.KEK2.jp
400000002   Waiting   Pilot Agent Submission  Unknown             Multiple
400000003   Failed    Watchdog identified this job as stalled  Executing RunScriptStep1  LCG.KIT.de

--- Summary of Selected Jobs ---
Completed:0  Deleted:0  Done:0  Failed:1  Killed:0  Running:1  Stalled:0  Waiting:1
"""


def test_job_status_rows_keep_multi_word_columns() -> None:
    report = gbasf2.parse_job_status(STATUS)
    assert [j.job_id for j in report.jobs] == ["400000001", "400000002", "400000003"]
    assert report.jobs[1].minor_status == "Pilot Agent Submission"
    assert report.jobs[2].minor_status == "Watchdog identified this job as stalled"
    assert report.jobs[2].application_status == "Executing RunScriptStep1"
    assert report.jobs[2].site == "LCG.KIT.de"
    assert report.summary["Failed"] == 1 and report.summary["Waiting"] == 1
    assert report.counts() == {"Failed": 1, "Running": 1, "Waiting": 1}


def test_job_status_single_space_row_falls_back_to_header_positions() -> None:
    text = (
        " Job id     Status    MinorStatus             ApplicationStatus   Site\n"
        "=====\n"
        "7          Done      Execution Complete      SOMEERROR           LCG.KEK.jp\n"
        "8          Done      Execution Complete Done LCG.KEK.jp\n"
    )
    report = gbasf2.parse_job_status(text)
    assert report.jobs[0].application_status == "SOMEERROR"
    assert report.jobs[1].minor_status == "Execution Complete"
    assert report.jobs[1].application_status == "Done"


def test_unknown_project_has_no_jobs() -> None:
    assert gbasf2.parse_job_status("0 jobs are selected.\n").jobs == ()


def test_garbage_status_output_is_an_error_not_zero_jobs() -> None:
    with pytest.raises(GridError):
        gbasf2.parse_job_status("Traceback (most recent call last):\n  boom\n")


def test_submission_project_summary_block() -> None:
    text = """\
************************************************
*************** Project summary ****************
** Project name: ana01
** Dataset path: /belle/user/aexample/ana01
** Steering file: steering_taupair.py
** Job owner: aexample @ belle (23:59:10)
** Number of input files: 20
** Number of jobs: 20
** Estimated CPU time per job: 10 min
************************************************
Are you sure to submit the project?
"""
    fields = gbasf2.parse_submission_summary(text)
    assert fields["Project name"] == "ana01"
    assert fields["Number of jobs"] == "20"
    assert fields["Job owner"] == "aexample @ belle (23:59:10)"


def test_project_summary_table() -> None:
    text = """\
Project      Owner     Status    Done Fail Run Wait Submission Time(UTC)  Duration
==================================================================================
ana01        aexample  Running   10   1    5   4    2026-12-04 10:00:00   01:02:03
"""
    (row,) = gbasf2.parse_project_summary(text)
    assert (row.project, row.status, row.done, row.failed, row.running, row.waiting) == (
        "ana01",
        "Running",
        10,
        1,
        5,
        4,
    )
    assert row.submitted == "2026-12-04 10:00:00" and row.duration == "01:02:03"


def test_ds_list_plain_and_long() -> None:
    plain = gbasf2.parse_ds_list("/belle/user/a/ana01/sub00\n/belle/user/a/ana01/sub01\n")
    assert [f.lfn for f in plain] == ["/belle/user/a/ana01/sub00", "/belle/user/a/ana01/sub01"]
    long = gbasf2.parse_ds_list(
        "/belle/user/a/p/sub00/n_00000_job1_00.root  12345  adler32:0a1b2c3d\n"
    )
    assert long[0].size == 12345 and long[0].adler32 == "0a1b2c3d"
    assert gbasf2.parse_ds_list("No datasets found\n") == []


def test_ds_get_sections() -> None:
    text = """\
Download 3 files from SE
Trying to download davs://se/x to /w/ana01/sub00/a_00000_job1_00.root
Successfully downloaded files:
/belle/user/a/ana01/sub00/a_00000_job1_00.root in /w/ana01/sub00
Failed files:
/belle/user/a/ana01/sub00/a_00001_job2_00.root
Files with duplicated jobID, not downloaded:
/belle/user/a/ana01/sub00/a_00002_job3_00.root
"""
    report = gbasf2.parse_ds_get(text)
    assert report.downloaded == ("/belle/user/a/ana01/sub00/a_00000_job1_00.root",)
    assert report.failed == ("/belle/user/a/ana01/sub00/a_00001_job2_00.root",)
    assert report.duplicated == ("/belle/user/a/ana01/sub00/a_00002_job3_00.root",)
    assert not report.nothing_found
    assert gbasf2.parse_ds_get("No file found\n").nothing_found


def test_failed_lfns_line_with_local_dir_tail_gives_only_the_lfn() -> None:
    # Field case C17: the failed list had " in <local dir>" on each line.
    lfn = "/belle/user/aexample/ana01/sub00/ntuple_00096_job196000001_00.root"
    line = f"{lfn} in /data/out/ana01/sub00"
    assert gbasf2.parse_failed_lfns(line + "\n") == [
        "/belle/user/aexample/ana01/sub00/ntuple_00096_job196000001_00.root"
    ]
    assert gbasf2.parse_failed_lfns("") == []


def test_ds_search_output() -> None:
    text = (
        "Matching datasets found:\n\t/belle/MC/r/DB1/MC15ri_b/p1/s00/e1003/4S/r00000/taupair/mdst\n"
    )
    assert gbasf2.parse_ds_search(text) == [
        "/belle/MC/r/DB1/MC15ri_b/p1/s00/e1003/4S/r00000/taupair/mdst"
    ]


def test_proxy_seconds_left_from_gb2_proxy_info() -> None:
    from b2env.runner import Completed

    def call(argv, *, cwd=None, input=None):  # type: ignore[no-untyped-def]
        text = "subject      : /DC=org/CN=x\ntimeleft     : 23:59:58\nDIRAC group  : belle\n"
        return Completed(list(argv), 0, text, "")

    def no_proxy(argv, *, cwd=None, input=None):  # type: ignore[no-untyped-def]
        return Completed(list(argv), 1, "Error: Proxy file /tmp/x does not exist\n", "")

    assert gbasf2.proxy_seconds_left(call) == 23 * 3600 + 59 * 60 + 58
    assert gbasf2.proxy_seconds_left(no_proxy) == 0


def test_checked_call_raises_on_error_line_even_with_exit_0() -> None:
    from b2env.runner import Completed

    def call(argv, *, cwd=None, input=None):  # type: ignore[no-untyped-def]
        return Completed(list(argv), 0, "Error: Operation not permitted ( 1 : )\n", "")

    with pytest.raises(GridError) as caught:
        gbasf2.checked(call, ["gb2_job_kill", "-p", "x"])
    assert "gb2_job_kill" in caught.value.what
