"""``gbasf2``: submit a project (one job per input file, or per ``-n`` files)."""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from gb2mock.client import Client, fail
from gb2mock.proxy import format_time_left

NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SANDBOX_LIMIT = 10 * 1024 * 1024
STARS = "*" * 50


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gbasf2", description="Submit a basf2 project to the grid")
    p.add_argument("steering", help="basf2 steering file")
    p.add_argument("-p", "--project", required=True, help="project name (unique, <= 32 chars)")
    p.add_argument("-s", "--release", required=True, help="basf2 release on the grid")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("-i", "--input_ds", help="input LPN(s), comma-separated")
    source.add_argument("--input_dslist", help="local file with one LPN per line")
    p.add_argument("-f", "--input_sandboxfiles", nargs="+", default=[], help="extra sandbox files")
    p.add_argument("-n", "--nfiles", type=int, default=1, help="input files per job")
    p.add_argument("--cputime", type=int, default=None, help="CPU time per job in minutes")
    p.add_argument("--evtpersec", type=float, default=None, help="expected events per second")
    p.add_argument("--priority", type=int, default=None, help="job priority 0-10")
    p.add_argument("--jobtype", default="User", help="job type")
    p.add_argument("--basf2opt", default="", help="extra basf2 options")
    p.add_argument("--site", default="", help="allowed sites, comma-separated")
    p.add_argument("--banned_site", default="", help="banned sites, comma-separated")
    p.add_argument("--output_ds", default=None, help="output dataset LPN")
    p.add_argument("--force", action="store_true", help="submit without asking")
    p.add_argument("--dry_run", action="store_true", help="show what would be submitted")
    for ignored in ("--noscout", "--lfn_sandboxfiles"):
        p.add_argument(ignored, action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input_grouping", default=None, help=argparse.SUPPRESS)
    p.add_argument("--repetition", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--input_datafiles", nargs="+", default=[], help=argparse.SUPPRESS)
    return p


def gbasf2_main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    _validate(args)
    request = _request(args)
    client = Client()
    me = client.must("whoami")
    summary = client.must("submit", dry_run=True, **request)
    _print_summary(args, summary, me)
    if args.dry_run:
        print("Dry run: nothing was submitted.")
        return 0
    if not args.force and not _confirm():
        print("Submission cancelled.")
        return 1
    result = client.must("submit", dry_run=False, **request)
    ids = result["job_ids"]
    print(f"{len(ids)} jobs are submitted in project {args.project}: job IDs {ids[0]}-{ids[-1]}")
    return 0


def _validate(args: argparse.Namespace) -> None:
    if not NAME_RULE.match(args.project):
        raise fail(
            f"Project name {args.project!r} is invalid: use at most 32 characters from "
            "[a-zA-Z0-9_-]"
        )
    if not Path(args.steering).is_file():
        raise fail(f"Steering file {args.steering} not found")
    if args.priority is not None and not 0 <= args.priority <= 10:
        raise fail(f"--priority must be between 0 and 10, not {args.priority}")
    if args.cputime is not None and args.cputime <= 0:
        raise fail("--cputime is in minutes and must be positive")
    size = sum(Path(f).stat().st_size for f in args.input_sandboxfiles if Path(f).is_file())
    missing = [f for f in args.input_sandboxfiles if not Path(f).is_file()]
    if missing:
        raise fail(f"Input sandbox file(s) not found: {', '.join(missing)}")
    if size > SANDBOX_LIMIT:
        raise fail("Input sandbox exceeds 10 MB: use --lfn_sandboxfiles")


def _lpns(args: argparse.Namespace) -> List[str]:
    if args.input_ds:
        return [x for x in args.input_ds.split(",") if x]
    path = Path(args.input_dslist)
    if not path.is_file():
        raise fail(f"--input_dslist file {path} not found")
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _request(args: argparse.Namespace) -> Dict:
    steering = Path(args.steering)
    return {
        "project": args.project, "release": args.release, "inputs": _lpns(args),
        "steering": steering.name,
        "steering_b64": base64.b64encode(steering.read_bytes()).decode(),
        "sandbox": {Path(f).name: base64.b64encode(Path(f).read_bytes()).decode()
                    for f in args.input_sandboxfiles},
        "files_per_job": args.nfiles, "cputime": args.cputime, "priority": args.priority,
        "jobtype": args.jobtype, "basf2opt": args.basf2opt, "output_ds": args.output_ds,
        "sites": [s for s in args.site.split(",") if s],
        "banned_sites": [s for s in args.banned_site.split(",") if s],
    }


def _print_summary(args: argparse.Namespace, summary: Dict, me: Dict) -> None:
    cpu = args.cputime if args.cputime else 10
    site = args.site or "None"
    rows = [
        ("Project name", args.project),
        ("Dataset path", summary["output_ds"]),
        ("Steering file", args.steering),
        ("Job owner", f"{me['username']} @ {me['group']} ({format_time_left(me['seconds_left'])})"),
        ("Preferred site / SE", f"{site} / None"),
        ("Input files for first job", ", ".join(f"LFN:{x}" for x in summary["first_job_inputs"])),
        ("Number of input files", str(summary["files"])),
        ("Number of jobs", str(summary["jobs"])),
        ("Processed data (MB)", f"{summary['megabytes']:.0f}"),
        ("Processed events", str(summary["events"])),
        ("Estimated CPU time per job", f"{cpu} min"),
    ]
    print(STARS)
    print(" Project summary ".center(len(STARS), "*"))
    for name, value in rows:
        print(f"** {name}: {value}")
    print(STARS)
    if args.cputime is None and args.evtpersec is None:
        print("Hint: supply --cputime or --evtpersec for a better CPU time estimate.")


def _confirm() -> bool:
    print("Are you sure to submit the project?")
    for _ in range(3):
        print("Please enter Y or N: ", end="", flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print()
            return False
        if answer.strip().upper() in ("Y", "YES"):
            return True
        if answer.strip().upper() in ("N", "NO"):
            return False
    return False
