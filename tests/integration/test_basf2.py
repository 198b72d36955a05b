"""Local basf2 runs in the debian12 user image with the staged mock CVMFS (real engine)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from b2env import basf2, container, steering
from b2env.config import Config
from b2env.errors import Basf2Error

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.integration


@pytest.fixture
def cfg(mock_cfg: Config, user_image: str, tmp_path: Path) -> Config:
    """The session's mock configuration on a fresh work directory holding the examples."""
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    return mock_cfg.with_overrides(workdir=str(tmp_path))


def make_mdst(cfg: Config, name: str, events: int, seed: int) -> None:
    argv = container.with_basf2(cfg.release, ["b2mock-make-mdst", name, "--events", str(events),
                                              "--seed", str(seed)])
    done = container.execute(container.run_spec(cfg, argv, interactive=False), capture=True)
    assert done.returncode == 0, done.tail()


def test_release_test_passes_and_is_fast_when_warm(cfg):
    basf2.smoke_test(cfg)
    started = time.monotonic()
    result = basf2.smoke_test(cfg)
    assert time.monotonic() - started < 5
    assert result.version == ("basf2 (Belle II Analysis Software Framework), Version: "
                              "b2env-mock (Release: release-08-00-00)")


def test_light_release_and_unknown_release(cfg):
    assert basf2.smoke_test(cfg.with_overrides(release="light-2511-gacrux")).passed
    with pytest.raises(Basf2Error) as caught:
        basf2.smoke_test(cfg.with_overrides(release="release-09-09-09"))
    assert any("Error: No central release release-09-09-09 found." in line
               for line in caught.value.evidence)


def test_tutorial_test_file_runs(cfg):
    result = basf2.run(cfg, "test_basf2.py", capture=True)
    assert result.exit_code == 0
    assert "Processed:         10 events" in result.log


def test_taupair_ntuple_from_synthetic_mdst(cfg):
    make_mdst(cfg, "mdst_1.root", 40, 1)
    make_mdst(cfg, "mdst_2.root", 25, 2)
    result = basf2.run(cfg, "steering_taupair.py", inputs=["mdst_1.root", "mdst_2.root"],
                       capture=True)
    assert result.exit_code == 0, result.log
    written = {o.path.name: o.trees for o in result.outputs}
    assert list(written) == ["taupair.root"]
    trees = written["taupair.root"]
    assert trees is not None and list(trees) == ["tau"] and 0 < trees["tau"] <= 130


def test_root_output_with_n_and_o(cfg):
    (cfg.work_path / "make_output.py").write_text(
        "import basf2\nmain = basf2.Path()\nmain.add_module('EventInfoSetter')\n"
        "main.add_module('RootOutput')\nbasf2.process(main)\n")
    result = basf2.run(cfg, "make_output.py", events=12, output="twelve.root", capture=True)
    assert result.exit_code == 0, result.log
    assert [o.describe() for o in result.outputs] == [
        "twelve.root: tree (12 entries), persistent (1 entries)"]


@pytest.mark.parametrize(
    ("steering_file", "message"),
    [
        ("broken/unknown_module.py", "Could not create module: EventInfoSeter"),
        ("broken/bad_parameter.py", "Could not find the parameter with the name 'evtNum'"),
        ("broken/python_error.py", "NameError: name 'events_per_runs' is not defined"),
        ("steering_simple.py", "'tau+:selected' does not exist"),
    ],
)
def test_broken_steering_files_fail_with_exit_1(cfg, steering_file, message):
    result = basf2.run(cfg, steering_file, capture=True)
    assert result.exit_code == 1
    assert message in result.log
    assert result.outputs == []


def test_missing_input_and_zero_events(cfg):
    missing = basf2.run(cfg, "steering_taupair.py", inputs=["absent.root"], capture=True)
    assert missing.exit_code == 1
    assert "[FATAL] Couldn't open input file" in missing.log
    zero = basf2.run(cfg, "test_basf2.py", events=0, capture=True)
    assert zero.exit_code == 1
    assert "Invalid number of events (valid range: 1..4294967294)!" in zero.log


def test_dry_run_names_the_files(cfg):
    result = steering.dry_run(cfg, Path("steering_taupair.py"))
    assert result.exit_code == 0, result.log
    assert result.inputs == [] and result.outputs == ["taupair.root"]
    assert not (cfg.work_path / "taupair.root").exists()


def test_releases_are_listed_with_the_recommended_one(cfg):
    names, recommended = basf2.list_releases(cfg)
    assert names == ["light-2511-gacrux", "release-06-00-08", "release-08-00-00"]
    assert recommended == "release-08-00-00"
