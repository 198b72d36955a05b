"""b2env.basf2 and the inv basf2.* tasks without an engine: container.execute is replaced by
a fake that records the command and writes what basf2 would write."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import uproot
from invoke import Context
from invoke.exceptions import Exit

from b2env import basf2, container, runner
from b2env.config import Config
from b2env.errors import Basf2Error
from b2env.tasks import basf2 as tasks

VERSION = "basf2 (Belle II Analysis Software Framework), Version: x (Release: release-08-00-00)"


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    work = tmp_path / "work"
    work.mkdir()
    return Config(os="debian12", cvmfs_mode="mock", workdir=str(work),
                  state_dir=str(tmp_path / "state"), image="b2env/user:test")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[container.RunSpec]:
    seen: list[container.RunSpec] = []
    monkeypatch.setattr(container, "staged_mock_cvmfs", lambda cfg: Path("/nonexistent"))
    monkeypatch.setattr(container, "cvmfs_mounts", lambda cfg, use: [])
    return seen


def fake_execute(seen, returncode=0, stdout="", write=None):
    def execute(spec, *, input=None, capture=False, check=False, timeout=None):
        seen.append(spec)
        if write:
            write(Path(spec.workdir))
        return runner.Completed(list(spec.argv), returncode, stdout, "")
    return execute


def write_ntuple(work: Path, entries: int = 3) -> None:
    with uproot.recreate(work / "taupair.root") as root_file:
        tree = root_file.mktree("tau", {"__event__": np.uint32, "M": np.float64})
        tree.extend({"__event__": np.arange(entries, dtype=np.uint32), "M": np.zeros(entries)})


def test_argv_is_basf2_with_options_and_steering_arguments():
    assert basf2.basf2_argv("/w/s.py", inputs=["/w/a.root", "/w/b.root"], events=5,
                            output="o.root", args=["7", "--x"]) == [
        "basf2", "/w/s.py", "-i", "/w/a.root", "-i", "/w/b.root", "-n", "5", "-o", "o.root",
        "--", "7", "--x"]
    assert basf2.basf2_argv("s.py", dry_run=True) == ["basf2", "s.py", "--dry-run"]


def test_run_wraps_with_the_release_and_lists_written_files(cfg, calls, monkeypatch):
    (cfg.work_path / "s.py").write_text("pass\n")
    (cfg.work_path / "old.root").write_bytes(b"untouched")
    monkeypatch.setattr(container, "execute", fake_execute(calls, write=write_ntuple))
    result = basf2.run(cfg, "s.py", inputs=["in.root"], events=10)
    argv = list(calls[0].argv)
    assert argv[:3] == ["/usr/local/libexec/b2env/with-basf2", "release-08-00-00", "--"]
    assert argv[3:] == ["basf2", f"{cfg.work_path}/s.py", "-i", f"{cfg.work_path}/in.root",
                        "-n", "10"]
    assert result.exit_code == 0
    assert [o.describe() for o in result.outputs] == ["taupair.root: tau (3 entries)"]


def test_run_returns_basf2s_exit_code(cfg, calls, monkeypatch):
    (cfg.work_path / "s.py").write_text("pass\n")
    monkeypatch.setattr(container, "execute", fake_execute(calls, returncode=3))
    assert basf2.run(cfg, "s.py").exit_code == 3


def test_missing_steering_file_and_paths_outside_the_work_dir_are_refused(cfg, calls):
    with pytest.raises(Basf2Error, match="does not exist"):
        basf2.run(cfg, "nothere.py")
    (cfg.work_path / "s.py").write_text("pass\n")
    with pytest.raises(Basf2Error, match="outside the work directory"):
        basf2.run(cfg, "s.py", inputs=["/data/elsewhere.root"])
    assert calls == []


def test_unwritable_work_dir_is_refused(cfg, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(Basf2Error, match="not writable"):
        basf2.check_work_dir(cfg)


def test_unreadable_root_file_is_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.root"
    bad.write_bytes(b"not root")
    assert basf2.describe_file(bad).describe() == "bad.root: not readable as a ROOT file"


def test_release_test_reads_the_version_line(cfg, calls, monkeypatch):
    log = f"{VERSION}\n[INFO] Processed:         10 events\n"
    monkeypatch.setattr(container, "execute", fake_execute(calls, stdout=log))
    result = basf2.smoke_test(cfg)
    assert result.passed and result.version == VERSION
    assert list(calls[0].argv)[-3:] == ["bash", "-c", "basf2 --version && basf2 -n 10"]


def test_failed_release_test_raises_with_evidence(cfg, calls, monkeypatch):
    monkeypatch.setattr(container, "execute", fake_execute(
        calls, returncode=1, stdout="Error: No central release release-09-09-09 found.\n"))
    with pytest.raises(Basf2Error) as caught:
        basf2.smoke_test(cfg.with_overrides(release="release-09-09-09"))
    assert "No central release release-09-09-09 found." in caught.value.evidence[-1]
    assert caught.value.exit_code == 7


def test_release_listing_is_parsed():
    text = ("Belle II software tools set up at: /cvmfs/belle.cern.ch/tools\nusage: b2setup\n"
            "\nThe following releases are available:\n  light-2511-gacrux\n"
            "  release-08-00-00\n--recommended--\nrelease-08-00-00\n")
    assert basf2.parse_release_listing(text) == (
        ["light-2511-gacrux", "release-08-00-00"], "release-08-00-00")


def test_run_task_prints_outputs_and_exits_with_basf2s_code(cfg, calls, monkeypatch, capsys):
    (cfg.work_path / "s.py").write_text("pass\n")
    monkeypatch.setattr(tasks, "config", lambda **kw: cfg)
    monkeypatch.setattr(container, "execute", fake_execute(calls, write=write_ntuple))
    context = Context()
    tasks.run(context, "s.py")
    assert "taupair.root: tau (3 entries)" in capsys.readouterr().out
    monkeypatch.setattr(container, "execute", fake_execute(calls, returncode=1))
    with pytest.raises(Exit) as caught:
        tasks.run(context, "s.py")
    assert caught.value.code == 1


def test_releases_task_marks_the_recommended_one(cfg, monkeypatch, capsys):
    monkeypatch.setattr(tasks, "config", lambda **kw: cfg)
    monkeypatch.setattr(basf2, "list_releases",
                        lambda c: (["light-2511-gacrux", "release-08-00-00"], "release-08-00-00"))
    tasks.releases(Context())
    assert capsys.readouterr().out.splitlines() == [
        "light-2511-gacrux", "release-08-00-00  (recommended, configured)"]
