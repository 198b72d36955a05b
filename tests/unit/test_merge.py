"""Merge checks with uproot-written inputs and an uproot stand-in for hadd (no Docker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from b2env import merge
from b2env.errors import GridError
from b2env.runner import Completed


def write(path: Path, x: np.ndarray, *, tree: str = "ntuple", extra: bool = False) -> Path:
    branches = {"x": x.astype(np.float64), "n": np.arange(len(x), dtype=np.int32)}
    if extra:
        branches["y"] = x.astype(np.float32)
    with uproot.recreate(path) as out:
        out.mktree(tree, {k: v.dtype for k, v in branches.items()})
        if len(x):
            out[tree].extend(branches)
    return path


def fake_hadd(argv: list[str], *, corrupt_first: bool = False) -> Completed:
    """Concatenate like hadd: argv = ["hadd", "-f", output, *inputs]."""
    assert argv[:2] == ["hadd", "-f"]
    output, inputs = argv[2], argv[3:]
    parts = [uproot.open(p)["ntuple"].arrays(library="np") for p in inputs]
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if corrupt_first:
        joined["x"][0] = 1e30  # what ROOT issue 12510 did to event 0
    with uproot.recreate(output) as out:
        out.mktree("ntuple", {k: v.dtype for k, v in joined.items()})
        out["ntuple"].extend(joined)
    return Completed(argv, 0, "", "")


def test_c19_empty_first_input_is_skipped_and_result_checked(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.array([]))
    values = np.random.default_rng(1).normal(size=1000)
    b = write(tmp_path / "b.root", values)
    calls: list[list[str]] = []

    def hadd(argv: list[str]) -> Completed:
        calls.append(argv)
        return fake_hadd(argv)

    result = merge.merge([a, b], tmp_path / "merged.root", hadd=hadd)
    assert result.entries == {"ntuple": 1000}
    assert result.skipped == (a,) and calls[0][3:] == [str(b)]
    merged = uproot.open(tmp_path / "merged.root")["ntuple"].arrays(library="np")
    assert np.array_equal(merged["x"][:100], values[:100])
    assert "skipped a.root (0 entries)" in "\n".join(result.lines())


def test_wrong_first_values_after_hadd_fail_the_merge(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.arange(10.0))
    b = write(tmp_path / "b.root", np.arange(5.0))
    with pytest.raises(GridError) as caught:
        merge.merge([a, b], tmp_path / "m.root", hadd=lambda v: fake_hadd(v, corrupt_first=True))
    assert "first 100 entries" in caught.value.what
    assert not (tmp_path / "m.root").exists() and not (tmp_path / "m.partial.root").exists()


def test_entry_count_mismatch_fails(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.arange(10.0))
    b = write(tmp_path / "b.root", np.arange(5.0))

    def drops_b(argv: list[str]) -> Completed:
        return fake_hadd(argv[:3] + argv[3:4])

    with pytest.raises(GridError) as caught:
        merge.merge([a, b], tmp_path / "m.root", hadd=drops_b)
    assert "has 10 entries, the inputs have 15" in caught.value.what


def test_differing_branch_schemas_are_refused_before_hadd(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.arange(3.0))
    b = write(tmp_path / "b.root", np.arange(3.0), extra=True)
    with pytest.raises(GridError) as caught:
        merge.merge([a, b], tmp_path / "m.root", hadd=lambda v: pytest.fail("hadd ran"))
    assert "branch 'y'" in caught.value.what


def test_existing_output_needs_force(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.arange(3.0))
    out = tmp_path / "m.root"
    out.write_text("keep me")
    with pytest.raises(GridError) as caught:
        merge.merge([a], out, hadd=fake_hadd)
    assert "--force" in (caught.value.fix or "") and out.read_text() == "keep me"
    merge.merge([a], out, hadd=fake_hadd, force=True)
    assert uproot.open(out)["ntuple"].num_entries == 3


def test_all_inputs_empty_is_an_error(tmp_path: Path) -> None:
    a = write(tmp_path / "a.root", np.array([]))
    with pytest.raises(GridError, match="0 entries"):
        merge.merge([a], tmp_path / "m.root", hadd=fake_hadd)
