"""Pure helpers: output LFN naming, reschedule de-duplication, local download layout."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_mockgrid_harness import execution, tools_data

latest_copies, local_path = tools_data.latest_copies, tools_data.local_path
output_lfn = execution.output_lfn


def test_output_lfn_follows_the_gbasf2_v5_scheme() -> None:
    assert (output_lfn("/belle/user/aexample/ana", "ntuple.root", 7, 400000012, 1)
            == "/belle/user/aexample/ana/sub00/ntuple_00007_job400000012_01.root")
    assert (output_lfn("/belle/user/aexample/ana", "B2X.udst.root", 1234, 400000099, 0)
            == "/belle/user/aexample/ana/sub01/B2X_01234_job400000099_00.udst.root")


def test_only_the_newest_reschedule_copy_is_kept() -> None:
    block = "/belle/user/aexample/ana/sub00"
    files = [{"lfn": f"{block}/{n}"} for n in (
        "ntuple_00000_job400000001_00.root", "ntuple_00000_job400000001_01.root",
        "ntuple_00001_job400000002_00.root")]

    kept, older = latest_copies(files)

    assert [f["lfn"].rsplit("/", 1)[1] for f in kept] == [
        "ntuple_00000_job400000001_01.root", "ntuple_00001_job400000002_00.root"]
    assert [f["lfn"].rsplit("/", 1)[1] for f in older] == ["ntuple_00000_job400000001_00.root"]


def test_local_layout_is_project_subnn_file() -> None:
    assert local_path("/belle/user/aexample/ana/sub00/x_00000_job1_00.root") == Path(
        "ana/sub00/x_00000_job1_00.root")
    assert local_path("/belle/MC/r/DB/c/prod/s00/e1003/4S/r00000/taupair/mdst/sub00/m.root") == Path(
        "mdst/sub00/m.root")
