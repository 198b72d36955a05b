"""Job commands: gb2_job_status, gb2_project_summary, gb2_job_reschedule, gb2_job_kill,
gb2_job_delete, gb2_job_output."""

from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from gb2mock.client import Client, fail

SUMMARY_KEYS = ("Completed", "Deleted", "Done", "Failed", "Killed", "Running", "Stalled", "Waiting")
# How DIRAC states outside the summary's eight keys are counted there.
BUCKET = {"Received": "Waiting", "Checking": "Waiting", "Staging": "Waiting",
          "Matched": "Waiting", "Rescheduled": "Waiting", "Submitting": "Waiting",
          "Completing": "Running"}
RULE = "=" * 114


def _ids(values: List[str]) -> List[int]:
    ids = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                if not part.strip().isdigit():
                    raise fail(f"bad job id {part!r}")
                ids.append(int(part))
    return ids


def _selection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--project", nargs="+", default=[], help="project name(s)")
    p.add_argument("-j", "--jobid", nargs="+", default=[], help="job id(s), space or comma separated")
    p.add_argument("-u", "--user", default=None, help="DIRAC user name (yourself)")


def _selection(args: argparse.Namespace) -> Dict:
    if not args.project and not args.jobid:
        raise fail("give a project with -p or job ids with -j")
    return {"projects": args.project, "job_ids": _ids(args.jobid), "user": args.user}


def job_status_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_job_status", description="Status of your grid jobs")
    _selection_args(p)
    p.add_argument("-s", "--status", nargs="+", default=[], help="show only jobs in these states")
    args = p.parse_args(argv)
    answer = Client().must("job_status", status=args.status, **_selection(args))
    print_status(answer["jobs"])
    return 0


def print_status(rows: List[list]) -> None:
    print(f"{len(rows)} jobs are selected.")
    if not rows:
        return
    out = ["", f" {'Job id':<11}{'Status':<12}{'MinorStatus':<46}{'ApplicationStatus':<34}Site", RULE]
    counts = dict.fromkeys(SUMMARY_KEYS, 0)
    for job_id, _project, status, minor, app, site, *_ in rows:
        out.append(f"{job_id:<11} {status:<11} {minor:<45} {app:<33} {site}")
        bucket = BUCKET.get(status, status)
        if bucket in counts:
            counts[bucket] += 1
    out += ["", "--- Summary of Selected Jobs ---",
            "  ".join(f"{k}:{counts[k]}" for k in SUMMARY_KEYS)]
    sys.stdout.write("\n".join(out) + "\n")


def project_summary_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_project_summary", description="Your projects")
    p.add_argument("-p", "--project", default=None, help="project name (default: last month)")
    p.add_argument("-u", "--user", default=None, help="DIRAC user name (yourself)")
    args = p.parse_args(argv)
    projects = Client().must("project_summary", project=args.project, user=args.user)["projects"]
    header = (f"{'Project':<34}{'Owner':<12}{'Status':<10}{'Done':>6}{'Fail':>6}{'Run':>6}"
              f"{'Wait':>6}  {'Submission Time(UTC)':<21}{'Duration':>10}")
    print(header)
    print("=" * len(header))
    for entry in projects:
        c = {k: 0 for k in SUMMARY_KEYS}
        for status, n in entry["counts"].items():
            c[BUCKET.get(status, status)] = c.get(BUCKET.get(status, status), 0) + n
        failed = c["Failed"] + c["Killed"] + c["Stalled"]
        status = _project_status(c, failed)
        submitted = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry["submitted"]))
        duration = _hms(entry["last"] - entry["submitted"])
        print(f"{entry['project']:<34}{entry['owner']:<12}{status:<10}{c['Done']:>6}{failed:>6}"
              f"{c['Running']:>6}{c['Waiting']:>6}  {submitted:<21}{duration:>10}")
    return 0


def _project_status(c: Dict[str, int], failed: int) -> str:
    if c["Running"]:
        return "Running"
    if c["Waiting"]:
        return "Waiting"
    if failed:
        return "Failed"
    if c["Done"]:
        return "Done"
    return "Deleted" if c["Deleted"] else "Unknown"


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _confirm(question: str) -> bool:
    print(f"{question} [Y/N]: ", end="", flush=True)
    return sys.stdin.readline().strip().upper() in ("Y", "YES")


def _action_main(prog: str, call: str, verb: str, argv: Optional[List[str]]) -> int:
    p = argparse.ArgumentParser(prog=prog, description=f"{verb.capitalize()} grid jobs")
    _selection_args(p)
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    args = p.parse_args(argv)
    selection = _selection(args)
    client = Client()
    if not args.force:
        jobs = client.must("job_status", **selection)["jobs"]
        print(f"{len(jobs)} jobs are selected.")
        if not jobs or not _confirm(f"Do you want to {verb} these jobs?"):
            return 0 if not jobs else 1
    answer = client.must(call, **selection)
    changed = answer.get("rescheduled", answer.get("changed", []))
    print(f"{verb.capitalize()} {len(changed)} jobs: {', '.join(map(str, changed)) or 'none'}")
    skipped = answer.get("skipped") or []
    if skipped:
        print(f"Not rescheduled (not Failed, Killed, Stalled or Done with a failed application): {', '.join(map(str, skipped))}")
    return 0


def job_reschedule_main(argv: Optional[List[str]] = None) -> int:
    return _action_main("gb2_job_reschedule", "reschedule", "reschedule", argv)


def job_kill_main(argv: Optional[List[str]] = None) -> int:
    return _action_main("gb2_job_kill", "kill", "kill", argv)


def job_delete_main(argv: Optional[List[str]] = None) -> int:
    return _action_main("gb2_job_delete", "delete", "delete", argv)


def job_output_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_job_output", description="Download output sandboxes")
    _selection_args(p)
    args = p.parse_args(argv)
    selection = _selection(args)
    by_project = not selection["job_ids"]
    if not by_project:
        print(f"download output sandbox below ./log/{','.join(map(str, selection['job_ids']))}")
    jobs = Client().must("job_output", **selection)["jobs"]
    print(f"{len(jobs)} jobs are selected.")
    print("Please wait...")
    print(f"Result for jobs: {sorted(jobs)}")
    print("=" * 60)
    for job_id, entry in sorted(jobs.items()):
        target = Path("log") / entry["project"] / job_id if by_project else Path("log") / job_id
        target.mkdir(parents=True, exist_ok=True)
        for name, content in entry["files"].items():
            (target / name).write_bytes(base64.b64decode(content))
        if entry["files"]:
            print(f'{job_id}: Downloaded: "Job output sandbox retrieved in {target.resolve()}"')
        else:
            print(f"{job_id}: Failed: no output sandbox yet")
    return 0
