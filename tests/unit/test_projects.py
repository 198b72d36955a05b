"""Project names (field case C14), never-reused check and the project manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from b2env import projects
from b2env.errors import ConfigError, GridError
from b2env.runner import Completed


def test_c14_name_with_space_slash_and_hash_is_refused_with_a_valid_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        projects.check_name("Bd2KsPi0 ana/v2#3")
    error = caught.value
    assert "' '" in error.what and "'/'" in error.what and "'#'" in error.what
    suggestion = (error.fix or "").split("--project ")[1]
    assert projects.check_name(suggestion) == suggestion
    assert len(suggestion) <= 32 and suggestion.startswith("Bd2KsPi0_ana_v2_3_")


def test_c14_forty_character_name_is_refused_and_suggestion_fits() -> None:
    name = "a1" * 20
    with pytest.raises(ConfigError) as caught:
        projects.check_name(name)
    assert "40 characters" in caught.value.what
    suggestion = projects.suggest_name(name)
    assert len(suggestion) == 32 and projects.check_name(suggestion)


def test_suggestions_differ_for_different_names_with_the_same_prefix() -> None:
    assert projects.suggest_name("x" * 40 + "1") != projects.suggest_name("x" * 40 + "2")


def test_valid_name_passes() -> None:
    assert projects.check_name("tau_entanglement-2612") == "tau_entanglement-2612"
    assert projects.check_name("a" * 32) == "a" * 32


class ProjectList:
    def __init__(self, summary_rows: list[str], datasets: list[str]) -> None:
        self.summary_rows = summary_rows
        self.datasets = datasets
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        self.calls.append(list(argv))
        if argv[0] == "gb2_project_summary":
            head = "Project  Owner  Status  Done Fail Run Wait Submission Time(UTC) Duration\n===\n"
            return Completed(list(argv), 0, head + "".join(self.summary_rows), "")
        if argv[0] == "gb2_ds_list":
            found = [d for d in self.datasets if d.endswith("/" + argv[-1])]
            return Completed(list(argv), 0, "".join(f"{d}/sub00\n" for d in found), "")
        raise AssertionError(argv)


def test_c14_reused_project_name_is_refused() -> None:
    grid = ProjectList(["ana01 aexample Done 20 0 0 0 2026-11-01 10:00:00 01:00:00\n"], [])
    with pytest.raises(GridError) as caught:
        projects.ensure_unused(grid, "ana01")
    assert "used before" in caught.value.what and "never be reused" in (caught.value.why or "")


def test_c14_deleted_project_still_counts_through_its_dataset() -> None:
    grid = ProjectList([], ["/belle/user/aexample/old01"])
    with pytest.raises(GridError):
        projects.ensure_unused(grid, "old01")
    projects.ensure_unused(grid, "new01")
    assert [c[0] for c in grid.calls] == ["gb2_project_summary", "gb2_ds_list"] * 2


def test_manifest_round_trip(tmp_path: Path) -> None:
    steering = tmp_path / "steering.py"
    steering.write_text("import basf2\n")
    manifest = projects.Manifest(
        project="ana01",
        steering_file=str(steering),
        steering_sha256=projects.sha256_of(steering),
        release="release-08-00-00",
        image="b2env/user-el9@sha256:abc",
        datasets=["/belle/MC/x/taupair/mdst"],
        options={"files_per_job": 1},
        git_commit=projects.git_commit(tmp_path),
    )
    path = projects.write_manifest(tmp_path, manifest)
    assert path == tmp_path / ".b2env/projects/ana01.json"
    back = projects.read_manifest(tmp_path, "ana01")
    assert back is not None and back.steering_sha256 == manifest.steering_sha256
    assert back.submitted_at and back.git_commit is None
    assert projects.known_projects(tmp_path) == ["ana01"]


def test_damaged_manifest_is_reported(tmp_path: Path) -> None:
    path = projects.manifest_path(tmp_path, "ana01")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        projects.read_manifest(tmp_path, "ana01")
