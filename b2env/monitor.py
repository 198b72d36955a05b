"""Watching a gbasf2 project until every job is done or has failed for good.

One ``gb2_job_status`` call per poll, whatever the number of jobs. A job counts as failed when
its status is Failed, Killed or Deleted, when it is Done but its application status is not Done
(field case C15), or when it stayed Stalled for ``stalled_polls`` polls. Failed jobs are
rescheduled up to ``max_retries`` times. Retry counts live in a state file next to the
analysis, written *before* each reschedule call, so a monitor that is killed and restarted
resumes without rescheduling any job twice. Transient errors back off; the proxy is checked
before each poll.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from b2env import gbasf2
from b2env.errors import GridError, ProxyError

log = logging.getLogger(__name__)

FAILED_STATUSES = frozenset({"Failed", "Killed", "Deleted"})
BACKOFF_SECONDS = (2.0, 6.0, 18.0, 54.0)
PROXY_MARGIN_SECONDS = 600
FAILED_POLLS_TOLERATED = 3  # polls in a row that fail even after back-off
Verdict = Literal["done", "failed", "active"]
T = TypeVar("T")


@dataclass
class MonitorState:
    """What survives a restart: per-job retry counts and what is in flight."""

    project: str
    retries: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # reschedule decided, call not confirmed
    stalled: dict[str, int] = field(default_factory=dict)  # consecutive polls seen Stalled
    given_up: list[str] = field(default_factory=list)
    polls: int = 0
    total: int = 0

    @property
    def reschedules(self) -> int:
        return sum(self.retries.values())

    @classmethod
    def load(cls, path: Path, project: str) -> MonitorState:
        if not path.is_file():
            return cls(project)
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise GridError(
                f"monitor state {path} is damaged ({exc})",
                fix=f"remove {path} only if no job was rescheduled since it was written",
            ) from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        temporary.replace(path)


def state_file(workdir: Path, project: str) -> Path:
    return workdir / ".b2env" / "projects" / f"{project}.monitor.json"


def verdict(job: gbasf2.JobRow, stalled_seen: int, stalled_limit: int) -> Verdict:
    """done, failed or still active, by the rules in the module docstring."""
    if job.status == "Done":
        return "done" if job.application_status == "Done" else "failed"
    if job.status in FAILED_STATUSES:
        return "failed"
    if job.status == "Stalled" and stalled_seen >= stalled_limit:
        return "failed"
    return "active"


@dataclass(frozen=True)
class Progress:
    project: str
    poll: int
    total: int
    done: int
    counts: dict[str, int]
    rescheduled: tuple[str, ...]
    given_up: tuple[str, ...]
    finished: bool

    def line(self) -> str:
        counts = " ".join(f"{k}:{v}" for k, v in self.counts.items())
        extra = f" | rescheduled {', '.join(self.rescheduled)}" if self.rescheduled else ""
        return f"{self.project}: {self.done}/{self.total} done | {counts}{extra}"


@dataclass(frozen=True)
class Summary:
    project: str
    total: int
    done: int
    failed: tuple[str, ...]
    reschedules: int
    polls: int
    finished: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.finished and not self.failed and self.done == self.total else 1

    def lines(self) -> list[str]:
        state = "all jobs done" if self.exit_code == 0 else "NOT complete"
        lines = [
            f"project {self.project}: {state}",
            f"  jobs {self.total}, done {self.done}, failed for good {len(self.failed)}, "
            f"reschedules {self.reschedules}, polls {self.polls}",
        ]
        if self.failed:
            lines.append(f"  failed jobs: {' '.join(self.failed)}")
        return lines


class Monitor:
    """Polls one project; construct it again with the same state file to resume."""

    def __init__(
        self,
        call: gbasf2.Gb2Caller,
        project: str,
        state_path: Path,
        *,
        max_retries: int = 3,
        stalled_polls: int = 3,
        auto_resubmit: bool = True,
        job_ids: Sequence[str] = (),
        proxy_left: Callable[[], int] | None = None,
        renew_proxy: Callable[[], None] | None = None,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.call = call
        self.project = project
        self.state_path = state_path
        self.max_retries = max_retries
        self.stalled_polls = stalled_polls
        self.auto_resubmit = auto_resubmit
        self.job_ids = tuple(job_ids)
        self.proxy_left = proxy_left
        self.renew_proxy = renew_proxy
        self.backoff = tuple(backoff)
        self.sleep = sleep
        self.state = MonitorState.load(state_path, project)

    # -- one poll ---------------------------------------------------------------------------
    def poll(self, interval: float = 0) -> Progress:
        self._check_proxy(interval)
        jobs = self._status()
        self.state.polls += 1
        self.state.total = len(jobs)
        done, to_reschedule = 0, []
        for job in jobs:
            result = self._judge(job)
            done += result == "done"
            if result == "failed" and self._should_reschedule(job.job_id):
                to_reschedule.append(job.job_id)
        self.state.save(self.state_path)  # retry counts are on disk before the grid is asked
        if to_reschedule:
            self._with_backoff(lambda: gbasf2.reschedule(self.call, to_reschedule), "reschedule")
            self.state.pending = [j for j in self.state.pending if j not in to_reschedule]
            self.state.save(self.state_path)
        finished = done + len(self.state.given_up) >= len(jobs) and not to_reschedule
        return Progress(
            self.project,
            self.state.polls,
            len(jobs),
            done,
            gbasf2.JobStatusReport(tuple(jobs)).counts(),
            tuple(to_reschedule),
            tuple(self.state.given_up),
            finished,
        )

    def _judge(self, job: gbasf2.JobRow) -> Verdict:
        jid = job.job_id
        if job.status == "Stalled":
            self.state.stalled[jid] = self.state.stalled.get(jid, 0) + 1
        else:
            self.state.stalled.pop(jid, None)
        result = verdict(job, self.state.stalled.get(jid, 0), self.stalled_polls)
        if result != "failed" and jid in self.state.pending:
            self.state.pending.remove(jid)  # the grid took the reschedule before a restart
            if jid in self.state.given_up and result == "done":
                self.state.given_up.remove(jid)  # rescheduled by hand and now done
        return result

    def _should_reschedule(self, jid: str) -> bool:
        """Decide for a failed job; updates the retry bookkeeping (not yet saved)."""
        if jid in self.state.given_up:
            return False
        if jid in self.state.pending:
            # Decided and counted before an interruption, but never confirmed: send it again
            # without counting a new retry (this is what makes a restart safe).
            return True
        if not self.auto_resubmit or self.state.retries.get(jid, 0) >= self.max_retries:
            self.state.given_up.append(jid)
            log.warning("job %s failed for good after %d reschedules", jid, self._retries(jid))
            return False
        self.state.retries[jid] = self._retries(jid) + 1
        self.state.pending.append(jid)
        return True

    def _retries(self, jid: str) -> int:
        return self.state.retries.get(jid, 0)

    # -- grid calls with back-off -----------------------------------------------------------
    def _status(self) -> list[gbasf2.JobRow]:
        def fetch() -> list[gbasf2.JobRow]:
            argv = ["gb2_job_status", "-p", self.project]
            if self.job_ids and not self.project:
                argv = ["gb2_job_status", "-j", *self.job_ids]
            report = gbasf2.parse_job_status(gbasf2.checked(self.call, argv).stdout)
            jobs = [j for j in report.jobs if not self.job_ids or j.job_id in self.job_ids]
            if not jobs:
                raise GridError(
                    f"the grid lists no jobs for project '{self.project or self.job_ids}'",
                    fix="check the name with 'inv grid.projects'",
                )
            return jobs

        return self._with_backoff(fetch, "job status")

    def _with_backoff(self, action: Callable[[], T], what: str) -> T:
        for delay in (*self.backoff, None):
            try:
                return action()
            except GridError as exc:
                if delay is None:
                    raise
                log.warning("%s failed (%s); retrying in %.0f s", what, exc.what, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _check_proxy(self, interval: float) -> None:
        if self.proxy_left is None:
            return
        needed = interval + PROXY_MARGIN_SECONDS
        left = self.proxy_left()
        if left < needed and self.renew_proxy is not None:
            self.renew_proxy()
            left = self.proxy_left()
        if left <= 0:
            raise ProxyError(
                "the grid proxy has run out while monitoring",
                why="without a valid proxy the grid refuses status and reschedule calls",
                fix="run 'inv proxy.init', then the same monitor command again: it resumes",
            )
        if left < needed:
            log.warning("the proxy has only %d min left: run 'inv proxy.init' soon", left // 60)

    # -- the loop ---------------------------------------------------------------------------
    def run(
        self,
        interval: float,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        max_polls: int | None = None,
    ) -> Summary:
        progress, polls, failed_polls = None, 0, 0
        while max_polls is None or polls < max_polls:
            polls += 1
            try:
                progress = self.poll(interval)
            except GridError as exc:
                failed_polls += 1
                if failed_polls >= FAILED_POLLS_TOLERATED:
                    raise GridError(
                        f"the grid did not answer {failed_polls} polls in a row: {exc.what}",
                        evidence=exc.evidence,
                        fix="check the grid (or 'inv mock.status'), then run the same monitor "
                        "command again: it resumes where it stopped",
                    ) from exc
                log.warning("poll failed (%s); trying again in %.0f s", exc.what, interval)
                self.sleep(interval)
                continue
            failed_polls = 0
            if on_progress:
                on_progress(progress)
            if progress.finished:
                break
            self.sleep(interval)
        return self.summary(progress)

    def summary(self, progress: Progress | None = None) -> Summary:
        return Summary(
            project=self.project,
            total=self.state.total,
            done=progress.done if progress else 0,
            failed=tuple(self.state.given_up),
            reschedules=self.state.reschedules,
            polls=self.state.polls,
            finished=bool(progress and progress.finished),
        )
