"""Run one job attempt: stage its inputs, run its steering file with the mock basf2 of the
requested release, keep its log in the output sandbox, and collect its output files."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from mockgrid_service.catalog import Catalog
from mockgrid_service.settings import Settings

LOG_NAME = "Script1_basf2helper.py.log"


def work_dir(settings: Settings, job_id: int, rr: int) -> Path:
    return settings.state_dir / "work" / f"{job_id}_{rr:02d}"


def input_sandbox(settings: Settings, project: str) -> Path:
    return settings.state_dir / "isb" / project


def output_sandbox(settings: Settings, job_id: int) -> Path:
    return settings.sandboxes / str(job_id)


def run_job(settings: Settings, catalog: Catalog, job: dict, project: dict) -> dict:
    """Execute the attempt; returns ``{"rc", "outputs", "work"}``; never raises."""
    work = work_dir(settings, job["id"], job["rr"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    options = json.loads(project["options"])
    notes: list[str] = [f"{_now()} job {job['id']} attempt {job['rr']} on {job['site']}"]
    try:
        shutil.copytree(input_sandbox(settings, project["name"]), work, dirs_exist_ok=True)
        inputs = _stage_inputs(catalog, json.loads(job["inputs"]), work, notes)
        argv = [
            *settings.basf2_wrapper, project["release"], "--", "basf2", project["steering"],
            *[a for f in inputs for a in ("-i", f)], *shlex.split(options.get("basf2opt") or ""),
        ]
        notes.append(f"{_now()} running: {shlex.join(argv)}")
        rc, log_text = _run(argv, work, settings.job_timeout)
    except (OSError, KeyError, ValueError) as exc:
        rc, log_text, inputs = 1, f"job wrapper error: {exc}\n", []
    notes.append(f"{_now()} application exit code {rc}")
    outputs = sorted(
        p.name for p in work.glob("*.root") if p.is_file() and p.name not in set(inputs)
    )
    _write_sandbox(settings, job, project, log_text, notes, rc, outputs)
    return {"rc": rc, "outputs": outputs, "work": str(work)}


def _stage_inputs(catalog: Catalog, lfns: list[str], work: Path, notes: list[str]) -> list[str]:
    names = []
    for lfn in lfns:
        rows = catalog.db.query("SELECT * FROM files WHERE lfn = ?", (lfn,))
        if not rows:
            raise ValueError(f"input file {lfn} is not in the catalog")
        name = lfn.rsplit("/", 1)[1]
        source = catalog.path_of(dict(rows[0]))
        try:
            os.link(source, work / name)
        except OSError:
            shutil.copyfile(source, work / name)
        notes.append(f"{_now()} downloaded input LFN:{lfn}")
        names.append(name)
    return names


def clean_env(home: Path) -> dict[str, str]:
    """What a worker node gives a payload: no service variables (PYTHONPATH and the like)."""
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "BELLE2_NO_TOOLS_CHECK": "1"}


def _run(argv: list[str], work: Path, timeout: float) -> tuple[int, str]:
    env = clean_env(work)
    try:
        done = subprocess.run(
            argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return 1, out + f"\nJob has exceeded maximum wall clock time ({timeout:.0f} s)\n"
    except OSError as exc:
        return 1, f"cannot start {argv[0]}: {exc}\n"
    return done.returncode, done.stdout


def _write_sandbox(
    settings: Settings, job: dict, project: dict, log_text: str, notes: list[str], rc: int,
    outputs: list[str],
) -> None:
    box = output_sandbox(settings, job["id"])
    shutil.rmtree(box, ignore_errors=True)
    box.mkdir(parents=True)
    (box / LOG_NAME).write_text(log_text)
    (box / "std.out").write_text("\n".join(notes) + "\n")
    info = {
        "JobID": job["id"], "JobGroup": project["name"], "Owner": project["owner"],
        "OwnerGroup": project["grp"], "Site": job["site"], "Release": project["release"],
        "RescheduleCounter": job["rr"], "InputData": json.loads(job["inputs"]),
        "ApplicationExitCode": rc, "OutputFiles": outputs,
    }
    (box / "job.info").write_text(
        "".join(f"{k}: {json.dumps(v) if isinstance(v, list) else v}\n" for k, v in info.items())
    )


def append_log(settings: Settings, job_id: int, line: str) -> None:
    box = output_sandbox(settings, job_id)
    box.mkdir(parents=True, exist_ok=True)
    with (box / "std.out").open("a") as fh:
        fh.write(f"{_now()} {line}\n")


def output_lfn(output_ds: str, name: str, index: int, job_id: int, rr: int) -> str:
    """``<stem>_<nnnnn>_job<id>_<rr><ext>``; a multi-part extension stays after the suffix."""
    stem, _, ext = name.partition(".")
    return f"{output_ds}/sub{index // 1000:02d}/{stem}_{index:05d}_job{job_id}_{rr:02d}.{ext}"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
