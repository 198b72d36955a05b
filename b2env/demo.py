"""The stages of ``inv demo``: the whole workflow on a throw-away identity and the mock grid.

Everything the demo writes lives below ``<work dir>/.b2env/demo/``: the demo home with its
``.globus`` (never the user's real one), the proxy, the local test, the downloads and the merged
file. Each stage is timed; a failing stage stops the demo with its name in the error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2env import gbasf2, testca
from b2env.analysis import BelleIIGridAnalysis
from b2env.config import Config
from b2env.errors import B2envError, GridError

log = logging.getLogger(__name__)

DEMO_USER = testca.DEMO_USERS[0]
STEERING = Path("examples") / "steering_taupair.py"
MIN_FILES = 20
MONITOR_INTERVAL = 5.0
BASF2_LOG = "Script1_basf2helper.py.log"
PROCESSED = re.compile(r"Processed:\s+(\d+) events \(done\)")
TOTAL_ROW = re.compile(r"^Total(?: \(output proc\.\))?\s*\|\s*(\d+)\s*\|", re.MULTILINE)


@dataclass
class DemoReport:
    project: str = ""
    stages: list[tuple[str, float]] = field(default_factory=list)
    jobs: int = 0
    reschedules: int = 0
    events_in: int = 0
    events_out: int = 0
    files: int = 0
    rows: int = 0
    merged: str = ""

    def lines(self) -> list[str]:
        total = sum(seconds for _, seconds in self.stages)
        lines = [f"demo summary (project {self.project})"]
        lines += [f"  {name:<16} {seconds:7.1f} s" for name, seconds in self.stages]
        lines += [
            f"  {'total':<16} {total:7.1f} s",
            f"  jobs {self.jobs}, reschedules {self.reschedules}, files {self.files}, "
            f"events in {self.events_in}, events out {self.events_out}",
            f"  merged ntuple {self.merged}: {self.rows} candidate rows",
        ]
        return lines


def demo_home(cfg: Config) -> Path:
    return cfg.work_path / ".b2env" / "demo" / "home"


def demo_config(cfg: Config) -> Config:
    """The configuration the demo runs with: its own .globus and proxy, the mock grid."""
    home = demo_home(cfg)
    return cfg.with_overrides(
        source="demo",
        globus_dir=str(home / ".globus"),
        proxy_path=str(home / "proxy" / "x509up_demo"),
        cvmfs_mode="mock",
        grid_mode="mock",
        os="debian12",
    )


class Demo:
    """Runs the stages in order; ``on_stage(name, seconds)`` is told as each one ends."""

    def __init__(self, cfg: Config, on_stage: Callable[[str, float], None] | None = None) -> None:
        self.cfg = demo_config(cfg)
        self.on_stage = on_stage
        self.report = DemoReport()
        self.analysis: BelleIIGridAnalysis | None = None
        self.dataset = ""

    def run(self) -> DemoReport:
        for name, step in (
            ("images", self.images),
            ("mock grid", self.mock_grid),
            ("test identity", self.identity),
            ("doctor", self.doctor),
            ("proxy", self.proxy),
            ("basf2 test", self.basf2_test),
            ("local run", self.local_run),
            ("submit", self.submit),
            ("monitor", self.monitor),
            ("job logs", self.job_logs),
            ("download", self.download),
            ("merge", self.merge),
        ):
            self.stage(name, step)
        return self.report

    def stage(self, name: str, step: Callable[[], Any]) -> None:
        started = time.monotonic()
        log.info("demo stage: %s", name)
        try:
            step()
        except B2envError as exc:
            raise _named(exc, name) from exc
        except (ImportError, AttributeError) as exc:
            raise B2envError(
                f"demo stage '{name}' failed: a part of b2env it needs is missing ({exc})",
                fix="update the b2env checkout; 'git log' shows which parts have landed",
            ) from exc
        seconds = time.monotonic() - started
        self.report.stages.append((name, seconds))
        if self.on_stage:
            self.on_stage(name, seconds)

    # -- stages ------------------------------------------------------------------------------
    def images(self) -> None:
        from b2env import images

        images.ensure_user_image(self.cfg)
        images.remember_built_os(self.cfg)  # later `inv shell` etc. use the image the demo built

    def mock_grid(self) -> None:
        from b2env import mockgrid

        settings = mockgrid.FailureSettings(
            failure_rate=0.25,
            seed=11,
            time_scale=0.02,
            retry_failure_factor=0.0,
            download_failure_rate=0.05,
        )
        mockgrid.ensure_registry(self.cfg)
        mockgrid.up(self.cfg, settings)

    def identity(self) -> None:
        from b2env import certificates

        username, common_name = DEMO_USER
        user = testca.ensure_user(self.cfg.state_path, username, common_name)
        home = demo_home(self.cfg)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert = self.cfg.globus_path / "usercert.pem"
        current = cert.is_file() and cert.read_bytes() == user.identity.cert_pem
        if not (current and (self.cfg.globus_path / "userkey.pem").is_file()):
            # First run, or the test CA was made again (new state dir): import afresh.
            certificates.import_p12(
                user.p12,
                self.cfg.globus_path,
                p12_password=user.password,
                key_passphrase=user.password,
                force=True,
            )

    def doctor(self) -> None:
        from b2env import checks

        username, common_name = DEMO_USER
        user = testca.ensure_user(self.cfg.state_path, username, common_name)
        results = checks.run_checks(self.cfg, include_proxy=False, passphrase=user.password)
        failed = [r for r in results if r.status == "fail"]
        if failed:
            raise GridError(
                f"{len(failed)} doctor checks failed",
                evidence=[f"{r.name}: {r.message} (fix: {r.fix})" for r in failed],
                fix="run 'inv verify' with the demo settings to see each fix",
            )

    def proxy(self) -> None:
        from b2env import proxy

        username, common_name = DEMO_USER
        user = testca.ensure_user(self.cfg.state_path, username, common_name)
        self.cfg.proxy_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        proxy.init_proxy(self.cfg, user.password, self.cfg.group, 12)
        self.analysis = BelleIIGridAnalysis(cfg=self.cfg)

    def basf2_test(self) -> None:
        from b2env import basf2

        basf2.smoke_test(self.cfg)

    def local_run(self) -> None:
        analysis = self._analysis()
        self.dataset = pick_dataset(analysis)
        analysis.local_test(self.cfg.work_path / STEERING, self.dataset)

    def submit(self) -> None:
        analysis = self._analysis()
        project = "demo_" + dt.datetime.now(dt.timezone.utc).strftime("%y%m%d_%H%M%S")
        result = analysis.submit(
            self.cfg.work_path / STEERING,
            project=project,
            datasets=[self.dataset],
            skip_local_test=True,
        )
        self.report.project = project
        self.report.jobs = int(result.summary.get("Number of jobs", "0"))
        self.report.events_in = int(result.summary.get("Processed events", "0"))

    def monitor(self) -> None:
        summary = self._analysis().monitor(
            self.report.project,
            interval=MONITOR_INTERVAL,
            auto_resubmit=True,
            on_progress=lambda p: log.info("%s", p.line()),
        )
        self.report.reschedules = summary.reschedules
        if summary.exit_code != 0:
            raise GridError(
                f"project {self.report.project} did not complete",
                evidence=summary.lines(),
                fix=f"look at the job logs with 'inv grid.logs --project {self.report.project}'",
            )

    def job_logs(self) -> None:
        """Events out: what the jobs' basf2 logs say they processed (newest attempt each)."""
        directory = self._analysis().logs(self.report.project, self._results().parent)
        counts = [processed_events(log.read_text()) for log in directory.glob(f"*/{BASF2_LOG}")]
        if len(counts) != self.report.jobs or None in counts:
            raise GridError(
                f"{len(counts)} job logs for {self.report.jobs} jobs, "
                f"{counts.count(None)} without a basf2 statistics table",
                fix=f"look at the logs in {directory}",
            )
        self.report.events_out = sum(c for c in counts if c is not None)
        if self.report.events_out != self.report.events_in:
            raise GridError(
                f"the jobs processed {self.report.events_out} events, the input has "
                f"{self.report.events_in}",
                why="after rescheduling every input event must be processed exactly once",
                fix=f"look at the logs in {directory}",
            )

    def download(self) -> None:
        report = self._analysis().download(self.report.project, self._results())
        self.report.files = report.expected
        if not report.complete:
            raise GridError("files are missing after the download", evidence=report.lines())

    def merge(self) -> None:
        result = self._analysis().merge(self.report.project, output_dir=self._results(), force=True)
        self.report.rows = sum(result.entries.values())
        self.report.merged = str(result.output)

    # -- helpers -----------------------------------------------------------------------------
    def _analysis(self) -> BelleIIGridAnalysis:
        if self.analysis is None:
            self.analysis = BelleIIGridAnalysis(cfg=self.cfg)
        return self.analysis

    def _results(self) -> Path:
        return self.cfg.work_path / ".b2env" / "demo" / "results"


def pick_dataset(analysis: BelleIIGridAnalysis) -> str:
    """A taupair MC dataset with at least MIN_FILES files."""
    for lpn in analysis.search_datasets(mc_event="taupair"):
        if count_files(analysis.call, lpn) >= MIN_FILES:
            return lpn
    raise GridError(
        f"no taupair dataset with at least {MIN_FILES} files on the mock grid",
        fix="restart the mock grid with a fresh state: inv mock.down --volumes && inv mock.up",
    )


def processed_events(log_text: str) -> int | None:
    """Events a basf2 run processed: the final 'Processed: N events (done)' line of the
    Progress module, else the statistics table's Total calls (events + 1 with RootInput)."""
    found = PROCESSED.findall(log_text)
    if found:
        return int(found[-1])
    total = TOTAL_ROW.findall(log_text)
    if not total:
        return None
    calls = int(total[-1])
    return calls - 1 if re.search(r"^RootInput\s*\|", log_text, re.MULTILINE) else calls


def count_files(call: gbasf2.Gb2Caller, lpn: str) -> int:
    entries = gbasf2.parse_ds_list(gbasf2.checked(call, ["gb2_ds_list", lpn]).stdout)
    total = 0
    for entry in entries:
        if "." in Path(entry.lfn).name:
            total += 1
        else:
            total += count_files(call, entry.lfn)
    return total


def _named(exc: B2envError, stage: str) -> B2envError:
    """The same kind of error (same exit code), its message prefixed with the stage."""
    renamed = type(exc).__new__(type(exc))
    B2envError.__init__(
        renamed,
        f"demo stage '{stage}' failed: {exc.what}",
        why=exc.why,
        fix=exc.fix,
        evidence=exc.evidence,
    )
    return renamed
