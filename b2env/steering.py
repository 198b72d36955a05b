"""Static checks of a steering file before it goes to the grid (``inv basf2.check``).

On the grid the input files come from the dataset (gbasf2 passes them like ``basf2 -i``) and
every output ROOT file is uploaded under the project with the job number appended, so a
steering file must not depend on hard-coded inputs or absolute paths and must name its outputs
as plain basenames ending in ``.root``. ``dry_run`` asks basf2 itself (``--dry-run``) which
files it would read and write.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from b2env import container
from b2env.config import Config

Level = Literal["error", "warning"]

#: Calls whose first argument or keyword names input files.
INPUT_CALLS = {"inputMdst": ("filename", 0), "inputMdstList": ("filelist", 0)}
#: Calls whose keyword (or positional index) names an output file.
OUTPUT_CALLS = {
    "variablesToNtuple": ("filename", 3),
    "variablesToEventBasedTree": ("filename", 3),
    "outputMdst": ("filename", 0),
    "outputUdst": ("filename", 0),
}
INPUT_PARAMS = ("inputFileName", "inputFileNames")
OUTPUT_PARAMS = ("outputFileName", "fileName")
DRY_RUN_INPUTS = "[INFO] Dry run input files: "
DRY_RUN_OUTPUTS = "[INFO] Dry run output files: "


@dataclass(frozen=True)
class Finding:
    level: Level
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.level}: {self.message}" if self.line else \
            f"{self.level}: {self.message}"


@dataclass(frozen=True)
class DryRun:
    exit_code: int
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    log: str = ""


def check_file(path: Path) -> list[Finding]:
    """All static findings for the steering file at ``path`` (missing/unparsable = error)."""
    if not path.is_file():
        return [Finding("error", 0, f"the steering file {path} does not exist")]
    source = path.read_text(errors="replace")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        return [Finding("error", exc.lineno or 0, f"Python syntax error: {exc.msg}")]
    return check_tree(tree)


def check_tree(tree: ast.AST) -> list[Finding]:
    findings: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            findings += _call_findings(node)
        elif isinstance(node, ast.Constant) and _is_absolute_path(node.value):
            findings.append(Finding(
                "warning", node.lineno,
                f"absolute path {node.value!r}: it will not exist on a grid worker",
            ))
    return sorted(set(findings), key=lambda f: (f.line, f.message))


def _call_findings(call: ast.Call) -> list[Finding]:
    name = _call_name(call)
    found: list[Finding] = []
    if name in INPUT_CALLS:
        found += _inputs(call, _argument(call, *INPUT_CALLS[name]))
    if name in OUTPUT_CALLS:
        found += _output(call, _argument(call, *OUTPUT_CALLS[name]))
    if name in ("add_module", "register_module"):
        for keyword in call.keywords:
            if keyword.arg in INPUT_PARAMS:
                found += _inputs(call, keyword.value)
            elif keyword.arg in OUTPUT_PARAMS:
                found += _output(call, keyword.value)
    if name == "param" and call.args and isinstance(call.args[0], ast.Constant):
        value = call.args[1] if len(call.args) > 1 else None
        if call.args[0].value in INPUT_PARAMS:
            found += _inputs(call, value)
        elif call.args[0].value in OUTPUT_PARAMS:
            found += _output(call, value)
    return found


def _call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return ""


def _argument(call: ast.Call, keyword: str, index: int) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    return call.args[index] if len(call.args) > index else None


def _inputs(call: ast.Call, value: ast.expr | None) -> list[Finding]:
    if value is None:
        return []
    empty = (isinstance(value, ast.List | ast.Tuple) and not value.elts) or (
        isinstance(value, ast.Constant) and value.value in ("", None))
    if empty:
        return []
    return [Finding(
        "warning", call.lineno,
        "hard-coded input file(s): on the grid the inputs come from the dataset (like "
        "basf2 -i); leave the list empty or make sure -i overrides it",
    )]


def _output(call: ast.Call, value: ast.expr | None) -> list[Finding]:
    if value is None:
        return []
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return [Finding("warning", call.lineno,
                        "output file name is computed at run time; it cannot be checked here")]
    return [Finding("error", call.lineno, problem)
            for problem in output_name_problems(value.value)]


def output_name_problems(name: str) -> list[str]:
    """Why ``name`` is not a valid grid output name (empty list: it is fine)."""
    problems = []
    if "/" in name:
        problems.append(f"output file {name!r} must be a plain basename (no directories): "
                        "the grid uploads outputs from the job's working directory")
    if not name.endswith(".root"):
        problems.append(f"output file {name!r} must end in .root: the grid only uploads "
                        "ROOT files")
    return problems


def _is_absolute_path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("/") and len(value) > 1 and (
        "/" in value[1:] or value.endswith(".root")) and "\n" not in value


def dry_run(cfg: Config, steering: Path) -> DryRun:
    """``basf2 --dry-run`` in the container: the files basf2 would read and write."""
    from b2env import basf2

    inside = basf2.in_work_dir(cfg, str(steering), "steering file")
    argv = container.with_basf2(cfg.release, basf2.basf2_argv(inside, dry_run=True))
    done = container.execute(container.run_spec(cfg, argv, interactive=False), capture=True)
    inputs, outputs = parse_dry_run(done.stdout)
    return DryRun(done.returncode, inputs, outputs, done.stdout + done.stderr)


def parse_dry_run(text: str) -> tuple[list[str], list[str]]:
    """The input and output file lists from basf2's ``--dry-run`` log."""
    inputs: list[str] = []
    outputs: list[str] = []
    for line in text.splitlines():
        for prefix, target in ((DRY_RUN_INPUTS, inputs), (DRY_RUN_OUTPUTS, outputs)):
            if line.startswith(prefix):
                listed = line[len(prefix):].strip()
                if listed != "(none)":
                    target.extend(n.strip() for n in listed.split(",") if n.strip())
    return inputs, outputs
