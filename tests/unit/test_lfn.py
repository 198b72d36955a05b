"""LFN/LPN hygiene (field case C18) and output-file naming."""

from __future__ import annotations

import pytest

from b2env import lfn
from b2env.errors import ConfigError

GOOD = (
    "/belle/MC/release-06-00-08/DB00002100/MC15ri_b/prod00029043/s00/e1003/4S/r00000/taupair/mdst"
)


def test_clean_lpn_passes_and_lfn_prefix_is_dropped() -> None:
    assert lfn.check_lpn(GOOD) == GOOD
    assert lfn.check_lpn("LFN:" + GOOD) == GOOD


@pytest.mark.parametrize(
    "bad",
    [
        "/belle/user/aexample/my data/",  # C18: a space
        "/belle/user/aexample/x;rm -rf ~",
        "/belle/user/aexample/$(touch pwned)",
        "/belle/user/aexample/a`id`",
        "/belle/user/aexample/a|b",
        "/belle/user/aexample/a\nb",
        "/belle/user/aexample/a,b",
    ],
)
def test_lpn_with_whitespace_or_shell_metacharacters_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        lfn.check_lpn(bad)
    assert "characters the grid catalog cannot handle" in caught.value.what


@pytest.mark.parametrize("bad", ["belle/user/x", "/other/x", "/belle/user//x", "/belle/../etc"])
def test_lpn_must_be_an_absolute_belle_path(bad: str) -> None:
    with pytest.raises(ConfigError):
        lfn.check_lpn(bad)


def test_output_name_with_space_and_semicolon_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        lfn.check_output_name("B2Kpi ntuple;v1.root", 200)
    assert "' '" in caught.value.what and "';'" in caught.value.what


def test_output_name_longer_than_limit_is_refused_and_limit_is_configurable() -> None:
    name = "n" * 201 + ".root"
    with pytest.raises(ConfigError) as caught:
        lfn.check_output_name(name, 200)
    assert "206 characters" in caught.value.what
    assert lfn.check_output_name(name, 300) == name


def test_output_lfn_is_split_into_naming_fields() -> None:
    parsed = lfn.parse_output_lfn(
        "/belle/user/aexample/ana01/sub00/ntuple_00096_job196000001_02.root"
    )
    assert parsed is not None
    assert (parsed.stem, parsed.index, parsed.job_id, parsed.retry, parsed.ext) == (
        "ntuple",
        96,
        "196000001",
        2,
        ".root",
    )
    multi = lfn.parse_output_lfn("/belle/user/a/p/sub00/skim_00001_job5_00.udst.root")
    assert multi is not None and multi.ext == ".udst.root" and multi.stem == "skim"


def test_only_the_newest_reschedule_copy_is_kept() -> None:
    base = "/belle/user/aexample/ana01/sub00/"
    lfns = [
        base + "ntuple_00000_job11_00.root",
        base + "ntuple_00001_job12_00.root",
        base + "ntuple_00001_job12_01.root",
        base + "ntuple_00001_job12_02.root",
        base + "ntuple_00002_job13_00.root",
        base + "hist_00001_job12_00.root",
    ]
    assert lfn.newest_copies(lfns) == sorted([lfns[0], lfns[3], lfns[4], lfns[5]])


def test_local_path_follows_gb2_ds_get_layout() -> None:
    path = lfn.local_relative_path("/belle/user/aexample/ana01/sub00/n_00000_job1_00.root", "ana01")
    assert str(path) == "ana01/sub00/n_00000_job1_00.root"
