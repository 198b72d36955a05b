"""Submission through BelleIIGridAnalysis against a fake grid: every check runs before
anything is submitted, and bad input means nothing runs at all (no Docker)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from b2env import analysis
from b2env.analysis import BelleIIGridAnalysis
from b2env.config import Config
from b2env.errors import ConfigError, GridError, ProxyError
from b2env.projects import Options
from b2env.runner import Completed

DATASET = (
    "/belle/MC/release-06-00-08/DB00002100/MC15ri_b/prod00029043/s00/e1003/4S/r00000/taupair/mdst"
)
SUMMARY = """\
**************************************************
**************** Project summary *****************
** Project name: {project}
** Number of input files: 20
** Number of jobs: 20
** Processed events: 20000
**************************************************
"""


class FakeGrid:
    def __init__(self, used: Sequence[str] = (), proxy_left: str = "23:00:00") -> None:
        self.used = set(used)
        self.proxy_left = proxy_left
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        argv = list(argv)
        self.calls.append(argv)
        out = ""
        if argv[0] == "gb2_proxy_info":
            out = f"timeleft     : {self.proxy_left}\nDIRAC group  : belle\n"
        elif argv[0] == "gb2_project_summary":
            out = "".join(
                f"{p} aexample Done 1 0 0 0 2026-11-01 10:00:00 01:00:00\n" for p in self.used
            )
        elif argv[0] == "gb2_ds_list":
            out = f"{DATASET}/sub00\n" if argv[-1] == DATASET else ""
            if argv[-1] == f"{DATASET}/sub00":
                out = "".join(f"{DATASET}/sub00/mdst_{i:06d}.root 100\n" for i in range(20))
        elif argv[0] == "gb2_check_release":
            out = "release-06-01-12\nrelease-08-00-00\nlight-2511-gacrux\n"
        elif argv[0] == "gbasf2":
            project = argv[argv.index("-p") + 1]
            out = SUMMARY.format(project=project)
            if "--force" in argv:
                self.used.add(project)
        return Completed(argv, 0, out, "")

    def tools(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture
def workdir(tmp_path: Path, fake_home: Path) -> Path:
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "steering.py").write_text("import basf2\nmain = basf2.Path()\n")
    return tmp_path / "ana"


def make(workdir: Path, grid: FakeGrid, monkeypatch: pytest.MonkeyPatch) -> BelleIIGridAnalysis:
    monkeypatch.setattr(analysis, "image_id", lambda cfg: "b2env/user-debian12:test@sha256:x")
    return BelleIIGridAnalysis(cfg=Config(workdir=str(workdir)), call=grid)


def test_submit_checks_then_submits_with_real_gbasf2_options_and_writes_manifest(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    ana = make(workdir, grid, monkeypatch)
    options = Options(files_per_job=2, cputime=30, priority=5, sites=("LCG.KEK.jp",))
    result = ana.submit(
        "steering.py", project="tau_01", datasets=[DATASET], options=options, skip_local_test=True
    )
    assert result.submitted and result.summary["Number of jobs"] == "20"
    assert grid.tools() == [
        "gb2_proxy_info",
        "gb2_project_summary",
        "gb2_ds_list",
        "gb2_check_release",
        "gb2_ds_list",
        "gbasf2",
        "gbasf2",
    ]
    final = grid.calls[-1]
    assert final[:7] == [
        "gbasf2",
        str(workdir / "steering.py"),
        "-p",
        "tau_01",
        "-s",
        "release-08-00-00",
        "-i",
    ]
    for pair in (["-n", "2"], ["--cputime", "30"], ["--priority", "5"], ["--site", "LCG.KEK.jp"]):
        assert " ".join(pair) in " ".join(final)
    assert final[-1] == "--force" and grid.calls[-2][-1] == "--dry_run"
    manifest = json.loads((workdir / ".b2env/projects/tau_01.json").read_text())
    assert manifest["release"] == "release-08-00-00" and manifest["datasets"] == [DATASET]
    assert manifest["steering_file"] == "steering.py" and len(manifest["steering_sha256"]) == 64
    assert manifest["image"].endswith("@sha256:x")


def test_dry_run_submits_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = FakeGrid()
    result = make(workdir, grid, monkeypatch).submit(
        "steering.py", project="tau_02", datasets=[DATASET], dry_run=True, skip_local_test=True
    )
    assert not result.submitted and "--force" not in grid.calls[-1]
    assert not (workdir / ".b2env/projects/tau_02.json").exists()


@pytest.mark.parametrize(
    "lpn", ["/belle/MC/x; rm -rf ~", "/belle/MC/$(id)", "/belle/user/aexample/my data/"]
)
def test_dataset_lpn_with_shell_metacharacters_runs_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, lpn: str
) -> None:
    grid = FakeGrid()
    with pytest.raises(ConfigError):
        make(workdir, grid, monkeypatch).submit("steering.py", project="tau_03", datasets=[lpn])
    assert grid.calls == []


def test_bad_project_name_runs_nothing(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = FakeGrid()
    with pytest.raises(ConfigError) as caught:
        make(workdir, grid, monkeypatch).submit(
            "steering.py", project="Bd2KsPi0 ana/v2#3", datasets=[DATASET]
        )
    assert "--project Bd2KsPi0_ana_v2_3_" in (caught.value.fix or "")
    assert grid.calls == []


def test_reused_project_name_is_refused_before_gbasf2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid(used=["tau_04"])
    with pytest.raises(GridError, match="used before"):
        make(workdir, grid, monkeypatch).submit(
            "steering.py", project="tau_04", datasets=[DATASET], skip_local_test=True
        )
    assert "gbasf2" not in grid.tools()


def test_second_submission_of_the_same_name_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    ana = make(workdir, grid, monkeypatch)
    ana.submit("steering.py", project="tau_05", datasets=[DATASET], skip_local_test=True)
    with pytest.raises(GridError, match="used before"):
        ana.submit("steering.py", project="tau_05", datasets=[DATASET], skip_local_test=True)


def test_short_proxy_refuses_submission(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = FakeGrid(proxy_left="00:20:00")
    with pytest.raises(ProxyError, match="20 min left"):
        make(workdir, grid, monkeypatch).submit(
            "steering.py", project="tau_06", datasets=[DATASET], skip_local_test=True
        )
    assert grid.tools() == ["gb2_proxy_info"]


def test_unknown_release_and_missing_dataset(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    ana = make(workdir, grid, monkeypatch)
    with pytest.raises(GridError, match="release-07-00-00 is not available"):
        ana.submit(
            "steering.py",
            project="tau_07",
            datasets=[DATASET],
            release="release-07-00-00",
            skip_local_test=True,
        )
    with pytest.raises(GridError, match="does not exist on the grid"):
        ana.submit(
            "steering.py",
            project="tau_08",
            datasets=["/belle/MC/nothing/here"],
            skip_local_test=True,
        )
    assert "gbasf2" not in grid.tools()


@pytest.mark.parametrize(
    "options, message",
    [
        (Options(priority=11), "not in 0-10"),
        (Options(cputime=0), "minutes"),
        (Options(sites=("LCG.KEK.jp;reboot",)), "not a DIRAC site"),
        (Options(sandbox_files=("missing.txt",)), "does not exist"),
    ],
)
def test_bad_options_run_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, options: Options, message: str
) -> None:
    grid = FakeGrid()
    with pytest.raises(ConfigError, match=message):
        make(workdir, grid, monkeypatch).submit(
            "steering.py", project="tau_09", datasets=[DATASET], options=options
        )
    assert grid.calls == []


def test_steering_outside_workdir_or_broken_is_refused(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    ana = make(workdir, grid, monkeypatch)
    with pytest.raises(ConfigError, match="outside the analysis directory"):
        ana.submit(str(outside), project="tau_10", datasets=[DATASET])
    (workdir / "broken.py").write_text("def (:\n")
    with pytest.raises(ConfigError, match="syntax error on line 1"):
        ana.submit("broken.py", project="tau_10", datasets=[DATASET])
    assert grid.calls == []


def test_dslist_file_is_read_and_checked(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "inputs.txt").write_text(f"# taupair\n{DATASET}\n")
    grid = FakeGrid()
    make(workdir, grid, monkeypatch).submit(
        "steering.py", project="tau_11", dslist="inputs.txt", skip_local_test=True
    )
    assert ["--input_dslist", str(workdir / "inputs.txt")] == grid.calls[-1][6:8]
    (workdir / "bad.txt").write_text("/belle/MC/a b\n")
    with pytest.raises(ConfigError):
        make(workdir, FakeGrid(), monkeypatch).submit(
            "steering.py", project="tau_12", dslist="bad.txt"
        )


def test_c18_output_name_with_space_or_too_long_in_steering_runs_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    ana = make(workdir, grid, monkeypatch)
    (workdir / "bad_name.py").write_text(
        "import modularAnalysis as ma\n"
        "ma.variablesToNtuple('tau+', [], filename='B2Kpi ntuple;v1.root')\n"
    )
    with pytest.raises(ConfigError, match="cannot handle"):
        ana.submit("bad_name.py", project="tau_13", datasets=[DATASET])
    (workdir / "long_name.py").write_text(f"out = '{'x' * 201}.root'\n")
    with pytest.raises(ConfigError, match="206 characters"):
        ana.submit("long_name.py", project="tau_13", datasets=[DATASET])
    assert grid.calls == []


def test_basf2_check_errors_refuse_submission(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = FakeGrid()
    (workdir / "dir_output.py").write_text(
        "import modularAnalysis as ma\n"
        "ma.variablesToNtuple('tau+', [], filename='out/ntuple.root')\n"
    )
    with pytest.raises(ConfigError, match="not ready for the grid") as caught:
        make(workdir, grid, monkeypatch).submit("dir_output.py", project="t14", datasets=[DATASET])
    assert "plain basename" in "\n".join(caught.value.evidence)
    assert grid.calls == []


def test_tutorial_style_submit_tau_entanglement_job(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis, "image_id", lambda cfg: "b2env/user:test")
    grid = FakeGrid()
    monkeypatch.setattr(analysis.BelleIIGridAnalysis, "local_test", lambda *a, **k: None)
    ana = BelleIIGridAnalysis(
        workdir, call=grid, project_name="TauEntanglement", basf2_release="release-08-00-00"
    )
    project = ana.submit_tau_entanglement_job(
        steering_file="steering.py", input_dataset=DATASET + "/*.root", n_jobs=10, priority=5
    )
    final = " ".join(grid.calls[-1])
    assert project == "TauEntanglement" and f"-i {DATASET} " in final
    assert "-n 2" in final and "--priority 5" in final and final.endswith("--force")
