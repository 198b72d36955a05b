"""Merging downloaded ntuples with ``hadd`` in the container, checked before and after.

Before: every input is opened with uproot; the trees and branch schemas must agree, and
zero-entry inputs are skipped with a note (field case C19: an empty first input made hadd
write nonsense into the first event). After: each merged tree must hold the sum of the input
entries, and its first N values must equal those of the inputs in order. The result is written
next to the output and renamed into place only when it passed; an existing output is never
replaced without ``force``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2env import runner
from b2env.config import Config
from b2env.errors import GridError

log = logging.getLogger(__name__)

FIRST_N = 100
Hadd = Callable[[list[str]], runner.Completed]


@dataclass(frozen=True)
class TreeInfo:
    name: str
    entries: int
    schema: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RootInput:
    path: Path
    trees: dict[str, TreeInfo]

    @property
    def entries(self) -> int:
        return sum(t.entries for t in self.trees.values())


@dataclass(frozen=True)
class MergeResult:
    output: Path
    inputs: tuple[Path, ...]
    skipped: tuple[Path, ...]
    entries: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        trees = ", ".join(f"{name} {n} entries" for name, n in self.entries.items())
        lines = [f"merged {len(self.inputs)} files into {self.output}: {trees}"]
        lines += [f"  note: skipped {p.name} (0 entries)" for p in self.skipped]
        return lines


def inspect(path: Path) -> RootInput:
    """Trees, entry counts and branch schemas of one ROOT file."""
    import uproot

    trees = {}
    try:
        with uproot.open(path) as root_file:
            for name, classname in root_file.classnames(cycle=False).items():
                if classname != "TTree":
                    continue
                tree = root_file[name]
                schema = tuple((b, str(tree[b].interpretation)) for b in tree.keys())
                trees[name] = TreeInfo(name, int(tree.num_entries), schema)
    except (OSError, ValueError) as exc:
        raise GridError(
            f"cannot read {path} as a ROOT file ({exc})",
            fix="download it again with 'inv grid.download' (broken files are fetched again)",
        ) from None
    return RootInput(path, trees)


def select_inputs(inputs: Sequence[RootInput]) -> tuple[list[RootInput], list[RootInput]]:
    """(inputs to merge, zero-entry inputs skipped); refuse differing schemas."""
    used = [i for i in inputs if i.entries > 0]
    skipped = [i for i in inputs if i.entries == 0]
    if not used:
        raise GridError(
            "every input file has 0 entries: nothing to merge",
            fix="check the steering file's selection on one input with 'inv basf2.run'",
        )
    reference = used[0]
    for other in used[1:]:
        _compare_schemas(reference, other)
    return used, skipped


def _compare_schemas(reference: RootInput, other: RootInput) -> None:
    if set(reference.trees) != set(other.trees):
        raise GridError(
            f"{other.path.name} has trees {sorted(other.trees)}, "
            f"{reference.path.name} has {sorted(reference.trees)}",
            why="hadd would merge files written by different steering files",
            fix="merge only the output of one project; remove stray files from the input list",
        )
    for name, tree in reference.trees.items():
        theirs = dict(other.trees[name].schema)
        ours = dict(tree.schema)
        differing = sorted(set(ours.items()) ^ set(theirs.items()))
        if differing:
            branch = differing[0][0]
            raise GridError(
                f"branch '{branch}' of tree '{name}' differs between {reference.path.name} "
                f"and {other.path.name}",
                why="the branch schemas must agree for hadd to merge the trees correctly",
                fix="merge only the output of one project and one steering file version",
            )


def container_hadd(cfg: Config) -> Hadd:
    """Run hadd in the user container with the project's basf2 release set up."""
    from b2env import container

    def hadd(argv: list[str]) -> runner.Completed:
        spec = container.run_spec(cfg, container.with_basf2(cfg.release, argv), interactive=False)
        return container.execute(spec, capture=True)

    return hadd


def merge(
    paths: Sequence[Path], output: Path, *, hadd: Hadd, force: bool = False, first_n: int = FIRST_N
) -> MergeResult:
    """Merge ``paths`` into ``output`` with the checks described in the module docstring."""
    if output.exists() and not force:
        raise GridError(
            f"{output} exists already",
            fix="pass --force to replace it, or choose another --output",
        )
    used, skipped = select_inputs([inspect(p) for p in paths])
    for empty in skipped:
        log.info("note: skipping %s, it has 0 entries", empty.path.name)
    partial = output.with_name(output.name.removesuffix(".root") + ".partial.root")
    partial.unlink(missing_ok=True)
    done = hadd(["hadd", "-f", str(partial), *(str(i.path) for i in used)])
    if done.returncode != 0 or not partial.is_file():
        raise GridError(
            f"hadd failed with exit code {done.returncode}", evidence=done.tail(), fix=None
        )
    try:
        entries = check_merged(partial, used, first_n)
    except GridError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    return MergeResult(output, tuple(i.path for i in used), tuple(i.path for i in skipped), entries)


def check_merged(merged: Path, used: Sequence[RootInput], first_n: int) -> dict[str, int]:
    """Entry counts equal the input sums and the first N values equal the inputs'."""
    result = inspect(merged)
    entries = {}
    for name in used[0].trees:
        expected = sum(i.trees[name].entries for i in used)
        got = result.trees[name].entries if name in result.trees else 0
        if got != expected:
            raise GridError(
                f"merged tree '{name}' has {got} entries, the inputs have {expected}",
                fix="re-run the merge; if it persists, report the hadd version in the image",
            )
        if _fingerprint([merged], name, first_n) != _fingerprint(
            [i.path for i in used], name, first_n
        ):
            raise GridError(
                f"the first {first_n} entries of merged tree '{name}' differ from the inputs",
                why="hadd wrote wrong values (see ROOT issue 12510: empty first input)",
                fix="re-run the merge; zero-entry inputs are skipped automatically",
            )
        entries[name] = got
    return entries


def _fingerprint(paths: Sequence[Path], tree_name: str, first_n: int) -> str:
    """Hash of the first ``first_n`` values of every branch, reading files in order."""
    import uproot

    columns: dict[str, list[Any]] = {}
    remaining = first_n
    for path in paths:
        if remaining <= 0:
            break
        with uproot.open(path) as root_file:
            tree = root_file[tree_name]
            arrays = tree.arrays(library="np", entry_stop=min(remaining, tree.num_entries))
            for branch, values in arrays.items():
                columns.setdefault(branch, []).extend(
                    v.tolist() if hasattr(v, "tolist") else v for v in values
                )
            remaining -= min(remaining, int(tree.num_entries))
    digest = hashlib.sha256()
    for branch in sorted(columns):
        digest.update(f"{branch}={columns[branch]!r};".encode())
    return digest.hexdigest()
