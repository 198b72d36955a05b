"""The project monitor against a scripted fake grid (no Docker)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from b2env import monitor
from b2env.errors import GridError, ProxyError
from b2env.runner import Completed

Job = tuple[str, str]  # (Status, ApplicationStatus)


class FakeGrid:
    """Answers gb2_job_status / gb2_job_reschedule / gb2_proxy_info like the text tools."""

    def __init__(self, jobs: dict[str, Job], after_reschedule: dict[str, list[Job]] | None = None):
        self.jobs = dict(jobs)
        self.after_reschedule = after_reschedule or {}
        self.calls: list[list[str]] = []
        self.rescheduled: list[str] = []
        self.down_for = 0  # status calls that fail, as while the grid restarts
        self.kill_on_reschedule = False
        self.proxy_seconds = 24 * 3600

    def __call__(
        self, argv: Sequence[str], *, cwd: Path | None = None, input: str | None = None
    ) -> Completed:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "gb2_job_status":
            if self.down_for:
                self.down_for -= 1
                return Completed(argv, 1, "", "Error: cannot connect to https://mock-grid:8443\n")
            return Completed(argv, 0, self.render(), "")
        if argv[0] == "gb2_job_reschedule":
            if self.kill_on_reschedule:
                self.kill_on_reschedule = False
                raise KeyboardInterrupt  # the monitor is killed just before the call lands
            ids = argv[argv.index("--jobid") + 1 : argv.index("--force")]
            for jid in ids:
                self.rescheduled.append(jid)
                queue = self.after_reschedule.get(jid, [])
                self.jobs[jid] = queue.pop(0) if queue else ("Done", "Done")
            return Completed(argv, 0, f"{len(ids)} jobs rescheduled\n", "")
        if argv[0] == "gb2_proxy_info":
            left = self.proxy_seconds
            if left <= 0:
                return Completed(argv, 1, "", "Error: no valid proxy\n")
            text = f"timeleft     : {left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d}\n"
            return Completed(argv, 0, text, "")
        raise AssertionError(f"unexpected call {argv}")

    def render(self) -> str:
        rows = [
            f"{len(self.jobs)} jobs are selected.",
            "",
            " Job id     Status    MinorStatus    ApplicationStatus    Site",
            "=" * 60,
        ]
        for jid, (status, app) in self.jobs.items():
            rows.append(f"{jid}  {status}  Execution Complete  {app}  LCG.KEK.jp")
        rows.append("")
        rows.append("--- Summary of Selected Jobs ---")
        return "\n".join(rows) + "\n"

    def status_calls(self) -> int:
        return sum(1 for c in self.calls if c[0] == "gb2_job_status")


def make_monitor(grid: FakeGrid, tmp_path: Path, **kw: Any) -> monitor.Monitor:
    kw.setdefault("max_retries", 3)
    kw.setdefault("backoff", (0.0, 0.0, 0.0))
    kw.setdefault("sleep", lambda s: None)
    return monitor.Monitor(grid, "ana01", tmp_path / "state.json", **kw)


def c15_grid() -> FakeGrid:
    jobs = {str(300000000 + i): ("Done", "Done") for i in range(65)}
    jobs["300000065"] = ("Done", "SOMEERROR")
    always_fails = [("Done", "SOMEERROR")] * 10
    return FakeGrid(jobs, {"300000065": always_fails})


def test_c15_done_with_application_error_is_rescheduled_and_retries_survive_restart(
    tmp_path: Path,
) -> None:
    grid = c15_grid()
    first = make_monitor(grid, tmp_path, max_retries=2)
    progress = first.poll()
    assert progress.total == 66 and progress.done == 65 and not progress.finished
    assert progress.rescheduled == ("300000065",)

    # The monitor is restarted between polls: the retry count comes from disk.
    second = make_monitor(grid, tmp_path, max_retries=2)
    assert second.state.retries == {"300000065": 1}
    summary = second.run(interval=0, max_polls=10)

    assert grid.rescheduled == ["300000065", "300000065"]  # exactly max_retries reschedules
    assert summary.failed == ("300000065",)
    assert summary.done == 65 and summary.total == 66 and summary.reschedules == 2
    assert summary.exit_code == 1
    assert "failed jobs: 300000065" in "\n".join(summary.lines())


def test_one_status_call_per_poll(tmp_path: Path) -> None:
    grid = FakeGrid({str(i): ("Running", "Running") for i in range(500)})
    mon = make_monitor(grid, tmp_path)
    mon.run(interval=0, max_polls=3)
    assert grid.status_calls() == 3
    assert all(c[0] == "gb2_job_status" for c in grid.calls)


def test_killed_and_failed_and_deleted_count_as_failed_stalled_only_after_n_polls(
    tmp_path: Path,
) -> None:
    grid = FakeGrid(
        {
            "1": ("Killed", "Unknown"),
            "2": ("Failed", "Failed"),
            "3": ("Deleted", "Unknown"),
            "4": ("Stalled", "Running"),
        }
    )
    mon = make_monitor(grid, tmp_path, stalled_polls=3)
    assert set(mon.poll().rescheduled) == {"1", "2", "3"}
    grid.jobs["4"] = ("Stalled", "Running")
    assert mon.poll().rescheduled == ()
    assert mon.poll().rescheduled == ("4",)  # third poll in a row Stalled


def test_stalled_job_that_recovers_is_not_rescheduled(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Stalled", "Running")})
    mon = make_monitor(grid, tmp_path, stalled_polls=2)
    mon.poll()
    grid.jobs["1"] = ("Running", "Running")
    mon.poll()
    grid.jobs["1"] = ("Stalled", "Running")
    assert mon.poll().rescheduled == ()  # the count restarted


def test_monitor_killed_mid_reschedule_resumes_without_rescheduling_twice(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Done", "Done"), "2": ("Failed", "Failed")})
    grid.kill_on_reschedule = True
    with pytest.raises(KeyboardInterrupt):
        make_monitor(grid, tmp_path).poll()
    assert grid.rescheduled == []

    resumed = make_monitor(grid, tmp_path)
    assert resumed.state.retries == {"2": 1} and resumed.state.pending == ["2"]
    summary = resumed.run(interval=0, max_polls=5)
    assert grid.rescheduled == ["2"]
    assert summary.reschedules == 1 and summary.exit_code == 0


def test_monitor_restarted_after_grid_took_the_reschedule_does_not_send_it_again(
    tmp_path: Path,
) -> None:
    grid = FakeGrid({"1": ("Failed", "Failed")}, {"1": [("Waiting", "Unknown")]})
    make_monitor(grid, tmp_path).poll()
    resumed = make_monitor(grid, tmp_path)
    progress = resumed.poll()
    assert progress.rescheduled == () and grid.rescheduled == ["1"]
    grid.jobs["1"] = ("Done", "Done")
    assert resumed.poll().finished


def test_grid_restarted_mid_monitor_backs_off_and_continues(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Running", "Running")})
    slept: list[float] = []
    mon = make_monitor(grid, tmp_path, backoff=(2.0, 6.0, 18.0), sleep=slept.append)
    mon.poll()
    grid.down_for = 2
    grid.jobs["1"] = ("Done", "Done")
    assert mon.poll().finished
    assert slept == [2.0, 6.0]


def test_grid_down_for_longer_than_back_off_is_an_error_with_state_kept(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Failed", "Failed"), "2": ("Running", "Running")})
    mon = make_monitor(grid, tmp_path)
    mon.poll()
    grid.down_for = 10
    with pytest.raises(GridError):
        mon.poll()
    assert make_monitor(grid, tmp_path).state.retries == {"1": 1}


def test_run_survives_failed_polls_and_gives_up_after_three_in_a_row(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Running", "Running")})
    mon = make_monitor(grid, tmp_path, backoff=(0.0,))  # two status calls per failed poll
    grid.down_for = 4  # two whole polls fail, the third answers
    grid.jobs["1"] = ("Done", "Done")
    assert mon.run(interval=0, max_polls=5).exit_code == 0
    grid.down_for = 100
    with pytest.raises(GridError, match="did not answer 3 polls in a row") as caught:
        make_monitor(grid, tmp_path, backoff=(0.0,)).run(interval=0)
    assert "resumes" in (caught.value.fix or "")


def test_proxy_running_out_during_monitoring_stops_with_proxy_error(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Running", "Running")})
    mon = make_monitor(grid, tmp_path, proxy_left=lambda: grid.proxy_seconds)
    mon.poll(interval=300)
    grid.proxy_seconds = 0
    with pytest.raises(ProxyError) as caught:
        mon.poll(interval=300)
    assert "inv proxy.init" in (caught.value.fix or "")
    assert grid.status_calls() == 1  # nothing was asked of the grid without a proxy


def test_proxy_short_is_renewed_before_the_poll(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Done", "Done")})
    grid.proxy_seconds = 120
    renewals: list[int] = []

    def renew() -> None:
        renewals.append(1)
        grid.proxy_seconds = 24 * 3600

    mon = make_monitor(grid, tmp_path, proxy_left=lambda: grid.proxy_seconds, renew_proxy=renew)
    assert mon.poll(interval=300).finished and renewals == [1]


def test_without_auto_resubmit_failed_jobs_fail_for_good(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Done", "Done"), "2": ("Failed", "Failed")})
    summary = make_monitor(grid, tmp_path, auto_resubmit=False).run(interval=0, max_polls=3)
    assert grid.rescheduled == [] and summary.failed == ("2",) and summary.exit_code == 1


def test_all_done_project_exits_zero_with_summary(tmp_path: Path) -> None:
    grid = FakeGrid({str(i): ("Done", "Done") for i in range(20)})
    seen: list[str] = []
    summary = make_monitor(grid, tmp_path).run(
        interval=0, on_progress=lambda p: seen.append(p.line())
    )
    assert summary.exit_code == 0 and summary.done == 20
    assert seen == ["ana01: 20/20 done | Done:20"]


def test_thousand_job_project_polled_fast(tmp_path: Path) -> None:
    grid = FakeGrid({str(400000000 + i): ("Running", "Running") for i in range(1000)})
    text = grid.render()
    mon = make_monitor(grid, tmp_path)
    started = time.perf_counter()
    progress = mon.poll()
    elapsed = time.perf_counter() - started
    assert progress.total == 1000 and len(text.splitlines()) > 1000
    assert elapsed < 0.5, f"parsing and judging 1000 jobs took {elapsed:.2f} s"


def test_waiting_between_polls_uses_almost_no_cpu(tmp_path: Path) -> None:
    grid = FakeGrid({"1": ("Running", "Running")})
    mon = monitor.Monitor(grid, "ana01", tmp_path / "s.json", backoff=(0,))
    cpu, wall = os.times(), time.perf_counter()
    mon.run(interval=0.5, max_polls=3)
    used = (os.times().user - cpu.user) + (os.times().system - cpu.system)
    waited = time.perf_counter() - wall
    assert waited >= 1.0 and used / waited < 0.05
