"""Projects and jobs: submission, the DIRAC state machine, failure injection, user actions."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mockgrid_service import execution, failures
from mockgrid_service.catalog import Catalog
from mockgrid_service.db import Database
from mockgrid_service.settings import Settings

log = logging.getLogger(__name__)

RESCHEDULABLE = ("Failed", "Killed", "Stalled")
PROJECT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NEVER = 1e18
ACTIVE_STAGES = ("matched", "init", "input", "exec")


class JobError(Exception):
    """A request the grid refuses (bad option, unknown project, not your job, ...)."""


class Jobs:
    def __init__(self, settings: Settings, db: Database, catalog: Catalog) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.max_running))
        self.stop = threading.Event()
        self._recover()

    def _recover(self) -> None:
        """After a restart, jobs that were executing lost their process: like a lost pilot,
        they stall and the watchdog fails them (reschedule them as usual)."""
        with self.db.transaction() as conn:
            lost = conn.execute(
                "UPDATE jobs SET stage='stallrun', next_at=? WHERE stage='exec'", (time.time(),)
            ).rowcount
        if lost:
            log.info("%d jobs were executing when the service stopped: they will stall", lost)

    # -- submission ---------------------------------------------------------------------------
    def submit(self, user: str, group: str, request: dict, dry_run: bool) -> dict:
        name = request.get("project") or ""
        self._check_name(name)
        release = request.get("release") or ""
        if release not in self.releases():
            raise JobError(f"release {release!r} is not available on the grid; see gb2_check_release")
        inputs = self._inputs(request.get("inputs") or [], user)
        per_job = int(request.get("files_per_job") or 1)
        if per_job < 1:
            raise JobError("-n must be at least 1 file per job")
        chunks = [inputs[i : i + per_job] for i in range(0, len(inputs), per_job)]
        options = self._options(request)
        output_ds = self._output_ds(user, group, name, request.get("output_ds"))
        summary = {
            "project": name, "output_ds": output_ds, "jobs": len(chunks),
            "files": len(inputs), "first_job_inputs": [f["lfn"] for f in chunks[0]],
            "megabytes": sum(f["size"] for f in inputs) / 1e6,
            "events": sum(f["events"] for f in inputs),
        }
        if dry_run:
            return summary
        self._store_sandbox(name, request)
        summary["job_ids"] = self._create(user, group, name, release, request, options, output_ds, chunks)
        return summary

    def _check_name(self, name: str) -> None:
        if not PROJECT_NAME.match(name):
            raise JobError(
                f"invalid project name {name!r}: at most 32 characters from [a-zA-Z0-9_-]"
            )
        if self.db.one("SELECT name FROM projects WHERE name = ?", (name,)):
            raise JobError(f"project {name} already exists; project names can never be reused")

    def _output_ds(self, user: str, group: str, name: str, given: str | None) -> str:
        if not given:
            if group != "belle":
                raise JobError(f"group {group} needs an output dataset: give --output_ds <LPN>")
            return f"/belle/user/{user}/{name}"
        output_ds = self.catalog.absolute(given, user)
        if not output_ds.startswith((f"/belle/user/{user}/", "/belle/group/")):
            raise JobError(f"--output_ds {output_ds} is outside /belle/user/{user} and /belle/group")
        return output_ds

    def _inputs(self, lpns: Sequence[str], user: str) -> list[dict]:
        if not lpns:
            raise JobError("no input given: use -i <LPN> or --input_dslist <file>")
        files: list[dict] = []
        for lpn in lpns:
            found = self.catalog.files(lpn, user)
            if not found:
                raise JobError(f"no file found for input {lpn}")
            files += found
        return files

    def _options(self, request: dict) -> dict:
        priority = int(request.get("priority") or 0)
        if not 0 <= priority <= 10:
            raise JobError(f"priority {priority} is out of range 0-10")
        for key in ("sites", "banned_sites"):
            unknown = [s for s in request.get(key) or [] if s not in failures.SITES]
            if unknown:
                raise JobError(f"unknown site(s) {', '.join(unknown)}; sites: {', '.join(failures.SITES)}")
        keys = ("sites", "banned_sites", "basf2opt", "cputime", "priority", "jobtype",
                "files_per_job", "sandbox_names")
        return {k: request.get(k) for k in keys}

    def _store_sandbox(self, name: str, request: dict) -> None:
        import base64

        box = execution.input_sandbox(self.settings, name)
        shutil.rmtree(box, ignore_errors=True)
        box.mkdir(parents=True)
        files = dict(request.get("sandbox") or {})
        files[request["steering"]] = request["steering_b64"]
        for file_name, content in files.items():
            safe = Path(file_name).name
            (box / safe).write_bytes(base64.b64decode(content))

    def _create(
        self, user: str, group: str, name: str, release: str, request: dict, options: dict,
        output_ds: str, chunks: list[list[dict]],
    ) -> list[int]:
        now = time.time()
        ids = []
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, user, group, now, release, Path(request["steering"]).name,
                 json.dumps(options), output_ds),
            )
            first = self.db.next_job_id(conn)
            for index, chunk in enumerate(chunks):
                job_id = first + index
                plan = failures.plan(self.settings, name, index, 0)
                conn.execute(
                    "INSERT INTO jobs (id, project, owner, idx, status, minor, app, site, inputs,"
                    " rr, plan, next_at, stage, submitted, updated) VALUES"
                    " (?, ?, ?, ?, 'Received', 'Job accepted', 'Unknown', 'Multiple', ?, 0, ?,"
                    " ?, 'received', ?, ?)",
                    (job_id, name, user, index, json.dumps([f["lfn"] for f in chunk]), plan,
                     now + failures.delay(self.settings, "received", plan), now, now),
                )
                ids.append(job_id)
        log.info("project %s of %s: %d jobs", name, user, len(ids))
        return ids

    # -- the state machine --------------------------------------------------------------------
    def run_engine(self) -> None:
        tick = max(0.05, min(0.5, self.settings.time_scale * 0.5))
        while not self.stop.wait(tick):
            try:
                self.step()
            except Exception:  # keep the grid alive; the error is in the service log
                log.exception("engine step failed")

    def step(self) -> None:
        now = time.time()
        due = self.db.query(
            "SELECT j.*, p.options FROM jobs j JOIN projects p ON p.name = j.project"
            " WHERE j.stage NOT IN ('final', 'exec') AND j.next_at <= ? ORDER BY j.next_at"
            " LIMIT 2000",
            (now,),
        )
        if not due:
            return
        active = self.db.one(
            f"SELECT COUNT(*) AS n FROM jobs WHERE stage IN {ACTIVE_STAGES}"
        )["n"]
        for row in due:
            job = dict(row)
            if job["stage"] == "waiting":
                if active >= self.settings.max_running:
                    continue
                active += 1
            self._advance(job, json.loads(job.pop("options")), now)

    def _advance(self, job: dict, options: dict, now: float) -> None:
        stage = job["stage"]
        if stage == "received":
            self._set(job, "Checking", "JobSanity", "Unknown", "checking", now)
        elif stage == "checking":
            self._set(job, "Waiting", "Pilot Agent Submission", "Unknown", "waiting", now)
        elif stage == "waiting":
            site = failures.pick_site(self.settings, job, options)
            if site is None:
                self._set(job, "Waiting", "No candidate sites available", "Unknown", "waiting", now)
                return
            self._set(job, "Matched", "Assigned", "Unknown", "matched", now, site=site)
        elif stage == "matched":
            self._set(job, "Running", "Job Initialization", "Unknown", "init", now)
        elif stage == "init":
            self._set(job, "Running", "Input Data Resolution", "Unknown", "input", now)
        elif stage == "input":
            self._start(job, now)
        elif stage == "stallrun":
            self._set(job, "Stalled", "Job stalled: pilot not running",
                      "Executing RunScriptStep1", "stalled", now)
        elif stage == "stalled":
            self._set(job, "Failed", "Watchdog identified this job as stalled",
                      "Executing RunScriptStep1", "final", now)
        elif stage == "completing":
            self._complete(job, now)

    def _set(
        self, job: dict, status: str, minor: str, app: str, stage: str, now: float,
        site: str | None = None, result: str | None = None, only_if_stage: str | None = None,
    ) -> bool:
        next_at = NEVER if stage in ("final", "exec") else (
            now + failures.delay(self.settings, stage, job["plan"]))
        sql = ("UPDATE jobs SET status=?, minor=?, app=?, stage=?, next_at=?, updated=?,"
               " site=COALESCE(?, site), result=COALESCE(?, result) WHERE id=? AND rr=?")
        args: list = [status, minor, app, stage, next_at, now, site, result, job["id"], job["rr"]]
        if only_if_stage:
            sql += " AND stage=?"
            args.append(only_if_stage)
        with self.db.transaction() as conn:
            return conn.execute(sql, args).rowcount == 1

    def _start(self, job: dict, now: float) -> None:
        outage = job["site"] == self.settings.outage_site
        if job["plan"] == "stall" or outage:
            self._set(job, "Running", "Application", "Executing RunScriptStep1", "stallrun", now)
            return
        self._set(job, "Running", "Application", "Running", "exec", now)
        self.pool.submit(self._execute, job)

    def _execute(self, job: dict) -> None:
        project = dict(self.db.one("SELECT * FROM projects WHERE name = ?", (job["project"],)))
        result = execution.run_job(self.settings, self.catalog, job, project)
        now = time.time()
        if result["rc"] != 0 or job["plan"] == "application":
            if job["plan"] == "application" and result["rc"] == 0:
                execution.append_log(self.settings, job["id"],
                                     "mock-grid: injected application failure")
            self._set(job, "Failed", "Application Finished With Errors", "Failed", "final", now,
                      only_if_stage="exec")
            shutil.rmtree(result["work"], ignore_errors=True)
            return
        self._set(job, "Completing", "Uploading Output Data", "Running", "completing", now,
                  result=json.dumps(result), only_if_stage="exec")

    def _complete(self, job: dict, now: float) -> None:
        result = json.loads(job["result"] or "{}")
        work = Path(result.get("work", "/nonexistent"))
        if job["plan"] == "done_app_failed":
            execution.append_log(self.settings, job["id"], "mock-grid: injected upload failure")
            self._set(job, "Done", "Execution Complete", "Failed to upload output data", "final", now)
        else:
            project = self.db.one("SELECT output_ds FROM projects WHERE name = ?", (job["project"],))
            for name in result.get("outputs", []):
                lfn = execution.output_lfn(project["output_ds"], name, job["idx"], job["id"], job["rr"])
                self.catalog.store(work / name, lfn, job["owner"])
                execution.append_log(self.settings, job["id"], f"uploaded LFN:{lfn}")
            self._set(job, "Done", "Execution Complete", "Done", "final", now)
        shutil.rmtree(work, ignore_errors=True)

    # -- user actions -------------------------------------------------------------------------
    def select(self, user: str, projects: Sequence[str], job_ids: Sequence[int]) -> list[dict]:
        if job_ids:
            marks = ",".join("?" * len(job_ids))
            rows = self.db.query(f"SELECT * FROM jobs WHERE id IN ({marks}) ORDER BY id", list(job_ids))
            foreign = sorted({r["owner"] for r in rows if r["owner"] != user})
            if foreign:
                raise JobError(f"Unauthorized: job(s) of user {', '.join(foreign)} are not yours")
            return [dict(r) for r in rows]
        marks = ",".join("?" * len(projects))
        rows = self.db.query(
            f"SELECT * FROM jobs WHERE owner = ? AND project IN ({marks}) ORDER BY id",
            [user, *projects],
        )
        return [dict(r) for r in rows]

    def reschedule(self, jobs: list[dict]) -> tuple[list[int], list[int]]:
        done, skipped, now = [], [], time.time()
        for job in jobs:
            failed_done = job["status"] == "Done" and job["app"] != "Done"
            if job["status"] not in RESCHEDULABLE and not failed_done:
                skipped.append(job["id"])
                continue
            rr = job["rr"] + 1
            plan = failures.plan(self.settings, job["project"], job["idx"], rr)
            banned = job["banned_sites"]
            if job["status"] in ("Stalled", "Failed") and "stall" in job["minor"].lower():
                banned = ",".join(filter(None, [banned, job["site"]]))
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE jobs SET status='Received', minor='Job Rescheduled', app='Unknown',"
                    " site='Multiple', rr=?, plan=?, stage='received', next_at=?, updated=?,"
                    " banned_sites=?, result='' WHERE id=?",
                    (rr, plan, now + failures.delay(self.settings, "received", plan), now, banned, job["id"]),
                )
            execution.append_log(self.settings, job["id"], f"rescheduled (attempt {rr})")
            done.append(job["id"])
        return done, skipped

    def kill(self, jobs: list[dict], status: str) -> list[int]:
        now, changed = time.time(), []
        final = ("Deleted",) if status == "Deleted" else ("Done", "Failed", "Killed", "Deleted")
        minor = "Marked for termination" if status == "Killed" else "Deleted by user"
        for job in jobs:
            if job["status"] in final:
                continue
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE jobs SET status=?, minor=?, stage='final', next_at=?, updated=?"
                    " WHERE id=?",
                    (status, minor, NEVER, now, job["id"]),
                )
            changed.append(job["id"])
        return changed

    def summary(self, user: str, project: str | None) -> list[dict]:
        where, args = "p.owner = ?", [user]
        if project:
            where += " AND p.name = ?"
            args.append(project)
        else:
            where += " AND p.submitted > ?"
            args.append(time.time() - 31 * 86400)
        rows = self.db.query(
            "SELECT p.name, p.owner, p.submitted, j.status, COUNT(*) AS n, MAX(j.updated) AS last"
            f" FROM projects p JOIN jobs j ON j.project = p.name WHERE {where}"
            " GROUP BY p.name, j.status ORDER BY p.submitted",
            args,
        )
        projects: dict[str, dict] = {}
        for r in rows:
            entry = projects.setdefault(r["name"], {"project": r["name"], "owner": r["owner"],
                                                    "submitted": r["submitted"], "counts": {},
                                                    "last": 0.0})
            entry["counts"][r["status"]] = r["n"]
            entry["last"] = max(entry["last"], r["last"])
        return list(projects.values())

    def releases(self) -> list[str]:
        root = self.settings.cvmfs_root / "belle.cern.ch"
        found = {p.name for p in root.glob("*/releases/*") if p.is_dir() and "." not in p.name}
        return sorted(found)
