"""Downloads against a fake grid storage that writes real ROOT files (no Docker)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import uproot

from b2env import download
from b2env.runner import Completed

USER_AREA = "/belle/user/aexample"


def root_bytes(tmp: Path, entries: int, seed: int) -> bytes:
    path = tmp / f"src{seed}.root"
    with uproot.recreate(path) as out:
        out.mktree("tau", {"x": np.float64})
        out["tau"].extend({"x": np.arange(entries, dtype=np.float64) + seed})
    return path.read_bytes()


class FakeStorage:
    """gb2_ds_list -l and gb2_ds_get over an in-memory project with reschedule copies."""

    def __init__(self, tmp: Path, project: str = "ana01", n: int = 5) -> None:
        self.project = project
        self.files: dict[str, bytes] = {}
        for i in range(n):
            self.files[self.lfn(i, 0)] = root_bytes(tmp, 10 + i, i)
        self.files[self.lfn(2, 1)] = root_bytes(tmp, 50, 99)  # a reschedule copy: newest wins
        self.fail_once: set[str] = set()
        self.fail_always: set[str] = set()
        self.truncate_once: set[str] = set()
        self.write_failed_list = True
        self.failed_line_tail = True
        self.gets: list[list[str]] = []

    def lfn(self, i: int, retry: int) -> str:
        return f"{USER_AREA}/{self.project}/sub00/ntuple_{i:05d}_job{700 + i}_{retry:02d}.root"

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        argv = list(argv)
        if argv[:2] == ["gb2_ds_list", "-l"]:
            target = argv[2]
            if target == self.project:
                return Completed(argv, 0, f"{USER_AREA}/{self.project}/sub00\n", "")
            lines = [
                f"{lfn}  {len(data)}  {zlib.adler32(data) & 0xFFFFFFFF:08x}"
                for lfn, data in sorted(self.files.items())
                if lfn.startswith(target + "/")
            ]
            return Completed(argv, 0, "\n".join(lines) + "\n", "")
        if argv[0] == "gb2_ds_get":
            return self.get(argv, cwd)
        raise AssertionError(argv)

    def get(self, argv: list[str], cwd: Path | None) -> Completed:
        assert cwd is not None and argv[1] == self.project  # positional query always given
        self.gets.append(argv)
        wanted = Path(argv[argv.index("--input_dslist") + 1]).read_text().split()
        failed_file = Path(argv[argv.index("--failed_lfns") + 1])
        ok, failed = [], []
        for lfn in wanted:
            target = cwd / self.project / "sub00" / Path(lfn).name
            target.parent.mkdir(parents=True, exist_ok=True)
            if lfn in self.fail_always or lfn in self.fail_once:
                self.fail_once.discard(lfn)
                failed.append(lfn)
                continue
            data = self.files[lfn]
            if lfn in self.truncate_once:  # an interrupted transfer leaves half a file
                self.truncate_once.discard(lfn)
                data = data[: len(data) // 2]
            target.write_bytes(data)
            ok.append(lfn)
        if self.write_failed_list and failed:
            tail = f" in {cwd}/{self.project}/sub00" if self.failed_line_tail else ""
            failed_file.write_text("".join(f"{lfn}{tail}\n" for lfn in failed))
        text = "Successfully downloaded files:\n" + "".join(f"{x}\n" for x in ok)
        text += "Failed files:\n" + "".join(f"{x}\n" for x in failed)
        return Completed(argv, 0, text, "")


def test_full_download_keeps_only_newest_copy_and_verifies(tmp_path: Path) -> None:
    grid = FakeStorage(tmp_path)
    report = download.download(grid, "ana01", tmp_path / "results")
    local = sorted(p.name for p in (tmp_path / "results/ana01/sub00").glob("*.root"))
    assert report.complete and report.expected == 5 and len(report.downloaded) == 5
    assert "ntuple_00002_job702_01.root" in local and "ntuple_00002_job702_00.root" not in local
    assert report.missing == [] and report.retried == []


def test_c17_failed_list_with_local_dir_tail_retries_only_that_file(tmp_path: Path) -> None:
    grid = FakeStorage(tmp_path)
    bad = grid.lfn(3, 0)
    grid.fail_once.add(bad)
    report = download.download(grid, "ana01", tmp_path / "out")
    assert report.complete and report.retried == [bad]
    second = Path(grid.gets[1][grid.gets[1].index("--input_dslist") + 1]).read_text().split()
    assert second == [bad]
    assert "downloaded 5" in report.lines()[1] and "retried 1" in report.lines()[1]


@pytest.mark.parametrize("write_list", [True, False])
def test_c17_absent_or_empty_failed_list_still_compares_remote_and_local(
    tmp_path: Path, write_list: bool
) -> None:
    grid = FakeStorage(tmp_path)
    grid.write_failed_list = write_list
    grid.fail_always.add(grid.lfn(1, 0))
    report = download.download(grid, "ana01", tmp_path / "out", attempts=2)
    assert not report.complete
    assert report.missing == [grid.lfn(1, 0)]
    assert "INCOMPLETE" in report.lines()[0] and "missing 1" in report.lines()[1]


def test_interrupted_download_resumes_and_refetches_the_broken_file(tmp_path: Path) -> None:
    grid = FakeStorage(tmp_path)
    grid.truncate_once.add(grid.lfn(0, 0))
    grid.fail_always = {grid.lfn(4, 0)}
    first = download.download(grid, "ana01", tmp_path / "out", attempts=1)
    assert not first.complete  # interrupted: one file half-written, one never came

    grid.fail_always.clear()
    second = download.download(grid, "ana01", tmp_path / "out")
    assert second.complete and second.already_present == 3
    asked = Path(grid.gets[-1][grid.gets[-1].index("--input_dslist") + 1]).read_text().split()
    assert sorted(asked) == sorted([grid.lfn(0, 0), grid.lfn(4, 0)])  # the partial copy remained


def test_size_matches_but_file_is_not_root_readable(tmp_path: Path) -> None:
    path = tmp_path / "x.root"
    path.write_bytes(b"\0" * 400)
    listed = download.gbasf2.ListedFile("/belle/user/a/p/sub00/x.root", 400, None)
    problem = download.problem_with(path, listed)
    assert problem is not None and "not readable as a ROOT file" in problem


def test_adler32_mismatch_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"hello")
    listed = download.gbasf2.ListedFile("/belle/user/a/p/x.txt", 5, "00000001")
    assert "adler32" in (download.problem_with(path, listed) or "")
    good = download.gbasf2.ListedFile("/belle/user/a/p/x.txt", 5, download.adler32_of(path))
    assert download.problem_with(path, good) is None
