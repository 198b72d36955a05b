"""The grid workflow as a Python API, for notebooks and scripts.

``BelleIIGridAnalysis`` mirrors the ``inv grid.*`` tasks: ``submit``, ``status``, ``monitor``,
``download``, ``merge`` (plus ``logs``, ``kill``, ``delete``, ``reschedule``, ``projects``,
``search_datasets``, ``list_dataset``). Every gb2 tool runs in the user container; pass ``call``
to use another runner (tests pass a fake grid)::

    from b2env import BelleIIGridAnalysis

    ana = BelleIIGridAnalysis("~/analysis/tau")
    ana.submit("steering_taupair.py", project="tau_251204", datasets=[lpn])
    ana.monitor("tau_251204", auto_resubmit=True)
    ana.download("tau_251204")
    ana.merge("tau_251204")
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2env import download, gbasf2, lfn, merge, monitor, projects, runner
from b2env.config import Config, load_config
from b2env.errors import B2envError, Basf2Error, ConfigError, GridError

log = logging.getLogger(__name__)


@dataclass
class SubmitResult:
    project: str
    submitted: bool
    summary: dict[str, str] = field(default_factory=dict)
    manifest: Path | None = None


class BelleIIGridAnalysis:
    """One analysis directory and its gbasf2 projects."""

    def __init__(
        self,
        workdir: str | Path | None = None,
        *,
        cfg: Config | None = None,
        call: gbasf2.Gb2Caller | None = None,
        project_name: str | None = None,
        basf2_release: str | None = None,
        **overrides: Any,
    ) -> None:
        if basf2_release:
            overrides["release"] = basf2_release
        self.cfg = cfg or load_config(
            Path(workdir).expanduser() if workdir else None, overrides=overrides
        )
        self.project_name = project_name  # default project of the tutorial-style calls
        self.call = call or gbasf2.container_caller(self.cfg)
        # The container reads cfg.proxy_file: check it on the host, no container start per poll.
        self.proxy_left = (
            (lambda: gbasf2.proxy_seconds_left(self.call)) if call else self._local_proxy_left
        )

    @property
    def workdir(self) -> Path:
        return self.cfg.work_path

    # -- submit -----------------------------------------------------------------------------
    def submit(
        self,
        steering: str | Path,
        *,
        project: str,
        datasets: Sequence[str] = (),
        dslist: str | Path | None = None,
        release: str | None = None,
        options: projects.Options | None = None,
        dry_run: bool = False,
        skip_local_test: bool = False,
        confirm: Callable[[str], bool] | None = None,
    ) -> SubmitResult:
        """Validate everything, then submit; ``confirm`` sees the Project summary first."""
        cfg = self.cfg.with_overrides(release=release) if release else self.cfg
        plan = projects.prepare(
            cfg,
            self.call,
            Path(steering),
            project,
            datasets,
            Path(dslist) if dslist else None,
            options or projects.Options(),
        )
        if not skip_local_test:
            self.local_test(plan.steering, plan.datasets[0], release=plan.release)
        preview = projects.run_gbasf2(self.call, plan, dry_run=True)
        if dry_run or (confirm is not None and not confirm("\n".join(preview.lines))):
            return SubmitResult(project, False, preview.fields)
        done = projects.run_gbasf2(self.call, plan, dry_run=False)
        manifest = projects.manifest_for(cfg, plan, image_id(cfg))
        path = projects.write_manifest(cfg.work_path, manifest)
        return SubmitResult(project, True, preview.fields | done.fields, path)

    def local_test(
        self, steering: Path, dataset: str, *, release: str | None = None, events: int = 100
    ) -> Path:
        """Run ``steering`` locally on one input file of ``dataset`` (``-n events``)."""
        directory = self.workdir / ".b2env" / "local-test"
        directory.mkdir(parents=True, exist_ok=True)
        first = first_file(self.call, dataset)
        input_file = next(iter(directory.rglob(Path(first).name)), None)
        if input_file is None:
            gbasf2.checked(self.call, ["gb2_ds_get", first, "--force"], cwd=directory)
            input_file = next(iter(directory.rglob(Path(first).name)), None)
        if input_file is None:
            raise GridError(f"gb2_ds_get did not deliver {first}", fix="run 'inv verify'")
        argv = ["basf2", str(steering), "-i", str(input_file), "-n", str(events)]
        done = _in_container(self.cfg, argv, release or self.cfg.release, directory)
        if done.returncode != 0:
            raise Basf2Error(
                f"the local test of {steering.name} on {input_file.name} failed "
                f"(exit code {done.returncode})",
                evidence=done.tail(),
                fix="fix the steering file; 'inv basf2.run' reproduces this run",
            )
        log.info("local test of %s on %s passed", steering.name, input_file.name)
        return input_file

    def submit_tau_entanglement_job(
        self,
        steering_file: str | Path = "steering_taupair.py",
        input_dataset: str = "",
        n_jobs: int | None = None,
        priority: int | None = None,
    ) -> str:
        """The tutorial's call, done with real gbasf2 semantics; returns the project name.

        ``BelleIIGridAnalysis(project_name="TauEntanglement", basf2_release=...)`` then
        ``submit_tau_entanglement_job(steering_file=..., input_dataset=LPN, n_jobs=N,
        priority=5)``. gbasf2 runs one job per input file and has no job-count option, so
        ``n_jobs`` becomes files per job (``-n``). The input is a dataset LPN; a trailing
        ``/*.root`` glob, as the tutorial writes it, is dropped with a warning. Follow with
        :meth:`monitor`, :meth:`download` and :meth:`merge`.
        """
        if not self.project_name:
            raise ConfigError("no project name", fix="BelleIIGridAnalysis(project_name=...)")
        dataset = input_dataset
        if dataset.endswith("/*.root"):
            dataset = dataset.removesuffix("/*.root")
            log.warning("input_dataset: using the dataset LPN %s (gbasf2 takes no globs)", dataset)
        files_per_job = None
        if n_jobs:
            files = len(self.list_files(lfn.check_lpn(dataset)))
            files_per_job = max(1, -(-files // n_jobs))
        options = projects.Options(files_per_job=files_per_job, priority=priority)
        self.submit(steering_file, project=self.project_name, datasets=[dataset], options=options)
        return self.project_name

    # -- watch ------------------------------------------------------------------------------
    def status(self, project: str) -> gbasf2.JobStatusReport:
        return gbasf2.job_status(self.call, projects.check_name(project))

    def monitor(
        self,
        project: str,
        *,
        interval: float | None = None,
        auto_resubmit: bool = True,
        max_retries: int | None = None,
        on_progress: Callable[[monitor.Progress], None] | None = None,
        max_polls: int | None = None,
        renew_proxy: Callable[[], None] | None = None,
    ) -> monitor.Summary:
        """Poll until every job is done or failed for good; reschedules failed jobs."""
        watcher = monitor.Monitor(
            self.call,
            projects.check_name(project),
            monitor.state_file(self.workdir, project),
            max_retries=self.cfg.max_retries if max_retries is None else max_retries,
            stalled_polls=self.cfg.stalled_polls,
            auto_resubmit=auto_resubmit,
            proxy_left=self.proxy_left,
            renew_proxy=renew_proxy,
        )
        every = self.cfg.monitor_interval if interval is None else interval
        return watcher.run(every, on_progress=on_progress, max_polls=max_polls)

    # -- results ----------------------------------------------------------------------------
    def results_dir(self, output_dir: str | Path | None = None) -> Path:
        path = Path(output_dir or "results").expanduser()
        path = path if path.is_absolute() else self.workdir / path
        _require_inside(path.resolve(), self.workdir, "--output-dir")
        return path.resolve()

    def download(
        self, project: str, output_dir: str | Path | None = None, *, allow_partial: bool = False
    ) -> download.DownloadReport:
        """Fetch and verify every output file; refuses a project with failed jobs."""
        projects.check_name(project)
        if not allow_partial:
            self._require_all_done(project)
        return download.download(self.call, project, self.results_dir(output_dir))

    def merge(
        self,
        project: str,
        *,
        output: str | Path | None = None,
        output_dir: str | Path | None = None,
        force: bool = False,
        allow_partial: bool = False,
        hadd: merge.Hadd | None = None,
    ) -> merge.MergeResult:
        """hadd the downloaded files of ``project`` (checked before and after)."""
        directory = self.results_dir(output_dir) / projects.check_name(project)
        report = download.read_report(directory)
        if report is None or (not report.complete and not allow_partial):
            raise GridError(
                f"the download of '{project}' is not complete",
                why="merging now would silently lose the missing files' events",
                fix=f"run 'inv grid.download --project {project}' (or pass --allow-partial)",
            )
        inputs = sorted(p for p in directory.rglob("*.root") if ".partial" not in p.name)
        target = Path(output) if output else directory.parent / f"{project}_merged.root"
        target = (target if target.is_absolute() else self.workdir / target).resolve()
        _require_inside(target, self.workdir, "--output")
        release = self._release_of(project)
        return merge.merge(
            inputs,
            target,
            hadd=hadd or merge.container_hadd(self.cfg.with_overrides(release=release)),
            force=force,
        )

    def logs(self, project: str, directory: str | Path | None = None) -> Path:
        """Fetch the output sandboxes (logs) into ``<directory>/log/<project>/<job id>/``."""
        where = self.results_dir(directory) if directory else self.workdir
        where.mkdir(parents=True, exist_ok=True)
        gbasf2.checked(self.call, ["gb2_job_output", "-p", projects.check_name(project)], cwd=where)
        return where / "log" / project

    # -- manage -----------------------------------------------------------------------------
    def kill(self, project: str) -> None:
        gbasf2.kill(self.call, projects.check_name(project))

    def delete(self, project: str) -> None:
        gbasf2.delete(self.call, projects.check_name(project))

    def reschedule(self, project: str) -> None:
        gbasf2.reschedule_project(self.call, projects.check_name(project))

    def projects(self) -> list[gbasf2.ProjectRow]:
        return gbasf2.parse_project_summary(
            gbasf2.checked(self.call, ["gb2_project_summary"]).stdout
        )

    def search_datasets(self, **filters: str | None) -> list[str]:
        """``gb2_ds_search dataset`` with metadata filters, e.g. mc_event='taupair'."""
        argv = ["gb2_ds_search", "dataset"]
        for key, value in filters.items():
            if value:
                lfn.check_lpn(f"/belle/{value}", what=f"--{key} value")
                argv += [f"--{key}", value]
        return gbasf2.parse_ds_search(gbasf2.checked(self.call, argv).stdout)

    def list_files(self, lpn: str) -> list[str]:
        """Every file LFN below a dataset or datablock LPN."""
        found = []
        for entry in self.list_dataset(lpn):
            if "." in Path(entry.lfn).name:
                found.append(entry.lfn)
            else:
                found.extend(self.list_files(entry.lfn))
        return found

    def list_dataset(self, lpn: str) -> list[gbasf2.ListedFile]:
        done = gbasf2.checked(self.call, ["gb2_ds_list", "-l", lfn.check_lpn(lpn, allow_glob=True)])
        return gbasf2.parse_ds_list(done.stdout)

    # -- helpers ----------------------------------------------------------------------------
    def _require_all_done(self, project: str) -> None:
        report = self.status(project)
        unfinished = [
            j.job_id
            for j in report.jobs
            if not (j.status == "Done" and j.application_status == "Done")
        ]
        if unfinished or not report.jobs:
            raise GridError(
                f"project '{project}' is not complete: {len(unfinished)} of {len(report.jobs)} "
                "jobs are not Done",
                evidence=[f"not done: {' '.join(unfinished[:20])}"] if unfinished else [],
                fix=f"run 'inv grid.monitor --project {project} --auto-resubmit' first, "
                "or pass --allow-partial to take what is there",
            )

    def _local_proxy_left(self) -> int:
        from b2env import proxy

        try:
            return proxy.read_proxy(self.cfg.proxy_file).seconds_left
        except B2envError:
            return 0

    def _release_of(self, project: str) -> str:
        manifest = projects.read_manifest(self.workdir, project)
        return manifest.release if manifest else self.cfg.release


def _require_inside(path: Path, workdir: Path, option: str) -> None:
    if not path.is_relative_to(workdir):
        raise ConfigError(
            f"{option} {path} is outside the analysis directory {workdir}",
            why="only the analysis directory is mounted into the container",
            fix=f"give a path below {workdir}",
        )


def first_file(call: gbasf2.Gb2Caller, dataset: str) -> str:
    """The first file LFN of a dataset (looking into its first datablock)."""
    entries = gbasf2.parse_ds_list(gbasf2.checked(call, ["gb2_ds_list", dataset]).stdout)
    while entries and "." not in Path(entries[0].lfn).name:
        entries = gbasf2.parse_ds_list(gbasf2.checked(call, ["gb2_ds_list", entries[0].lfn]).stdout)
    if not entries:
        raise GridError(f"dataset {dataset} has no files", fix="pick another dataset")
    return entries[0].lfn


def _in_container(cfg: Config, argv: list[str], release: str, cwd: Path) -> runner.Completed:
    from b2env import container

    spec = container.run_spec(
        cfg, container.with_basf2(release, argv), interactive=False, workdir=str(cwd)
    )
    return container.execute(spec, capture=True)


def image_id(cfg: Config) -> str:
    """The user image tag with its content id, for the manifest (never builds or pulls)."""
    from b2env import images

    tag = images.planned_tag(cfg)
    try:
        done = runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], check=False)
    except B2envError:
        return tag
    return f"{tag}@{done.stdout.strip()}" if done.returncode == 0 else tag


__all__ = ["BelleIIGridAnalysis", "SubmitResult"]
