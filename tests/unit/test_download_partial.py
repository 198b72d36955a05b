"""No download or merge of an incomplete project unless the user allows it (C15)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from b2env.analysis import BelleIIGridAnalysis
from b2env.config import Config
from b2env.errors import ConfigError, GridError
from b2env.runner import Completed

STATUS = """\
2 jobs are selected.

 Job id     Status      MinorStatus          ApplicationStatus    Site
=========================================================================
300000001   Done        Execution Complete   Done                 LCG.KEK.jp
300000002   Done        Execution Complete   SOMEERROR            LCG.KEK.jp

--- Summary of Selected Jobs ---
Completed:0  Deleted:0  Done:2  Failed:0  Killed:0  Running:0  Stalled:0  Waiting:0
"""


class Grid:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        self.calls.append(list(argv))
        if argv[0] == "gb2_job_status":
            return Completed(list(argv), 0, STATUS, "")
        return Completed(list(argv), 0, "No datasets or files found for x\n", "")


def test_download_of_project_with_failed_job_is_refused(tmp_path: Path, fake_home: Path) -> None:
    grid = Grid()
    ana = BelleIIGridAnalysis(cfg=Config(workdir=str(tmp_path)), call=grid)
    with pytest.raises(GridError) as caught:
        ana.download("ana01")
    assert "1 of 2 jobs are not Done" in caught.value.what
    assert "--allow-partial" in (caught.value.fix or "")
    assert [c[0] for c in grid.calls] == ["gb2_job_status"]


def test_merge_needs_a_complete_download(tmp_path: Path, fake_home: Path) -> None:
    ana = BelleIIGridAnalysis(cfg=Config(workdir=str(tmp_path)), call=Grid())
    with pytest.raises(GridError, match="not complete"):
        ana.merge("ana01", hadd=lambda argv: pytest.fail("hadd ran"))
    directory = tmp_path / "results" / "ana01"
    directory.mkdir(parents=True)
    (directory / ".b2env-download.json").write_text(
        json.dumps(
            {
                "project": "ana01",
                "directory": str(directory),
                "expected": 2,
                "downloaded": ["a"],
                "retried": [],
                "missing": ["b"],
                "already_present": 0,
            }
        )
    )
    with pytest.raises(GridError, match="not complete"):
        ana.merge("ana01", hadd=lambda argv: pytest.fail("hadd ran"))


def test_output_dir_outside_the_analysis_directory_is_refused(
    tmp_path: Path, fake_home: Path
) -> None:
    ana = BelleIIGridAnalysis(cfg=Config(workdir=str(tmp_path / "ana")), call=Grid())
    (tmp_path / "ana").mkdir()
    with pytest.raises(ConfigError, match="outside the analysis directory"):
        ana.results_dir(tmp_path / "elsewhere")
