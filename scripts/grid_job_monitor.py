#!/usr/bin/env python3
"""Watch gbasf2 jobs and reschedule the failed ones: the tutorial's monitor script, done with
b2env (one status call per poll, retry counts kept on disk, resumable after a kill).

    python scripts/grid_job_monitor.py --project tau_251204 --auto-resubmit
    python scripts/grid_job_monitor.py --job-id 400000001,400000002 --check-interval 120

Exit code 0 when every job is done, 1 when some failed for good, as for `inv grid.monitor`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from b2env import gbasf2, monitor, projects
from b2env.config import load_config
from b2env.errors import B2envError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", help="gbasf2 project name")
    target.add_argument("--job-id", action="append", help="job id(s), comma-separated or repeated")
    parser.add_argument(
        "--check-interval",
        type=int,
        default=None,
        help="seconds between polls (default: monitor_interval, 300)",
    )
    parser.add_argument("--auto-resubmit", action="store_true", help="reschedule failed jobs")
    parser.add_argument(
        "--max-retries",
        type=int,
        default=None,
        help="reschedules per job (default: max_retries, 3)",
    )
    parser.add_argument("--log-file", type=Path, help="also write the log to this file")
    return parser.parse_args(argv)


def setup_logging(log_file: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_file)
    try:
        cfg = load_config()
        call = gbasf2.container_caller(cfg)
        job_ids = [j for value in args.job_id or [] for j in value.split(",") if j.strip()]
        if any(not j.strip().isdigit() for j in job_ids):
            raise B2envError(f"job ids must be numbers: {job_ids}", fix="--job-id 400000001")
        name = projects.check_name(args.project) if args.project else ""
        state = monitor.state_file(cfg.work_path, name or f"jobs-{job_ids[0]}")
        watcher = monitor.Monitor(
            call,
            name,
            state,
            job_ids=job_ids,
            max_retries=cfg.max_retries if args.max_retries is None else args.max_retries,
            stalled_polls=cfg.stalled_polls,
            auto_resubmit=args.auto_resubmit,
            proxy_left=lambda: gbasf2.proxy_seconds_left(call),
        )
        interval = cfg.monitor_interval if args.check_interval is None else args.check_interval
        summary = watcher.run(interval, on_progress=lambda p: logging.info("%s", p.line()))
    except B2envError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    for line in summary.lines():
        logging.info("%s", line)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
