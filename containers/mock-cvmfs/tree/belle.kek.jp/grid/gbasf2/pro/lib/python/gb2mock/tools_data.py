"""Data commands: gb2_ds_list, gb2_ds_get, gb2_ds_search, gb2_check_release."""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from gb2mock.client import Client, GridError, fail

SE_NAME = "KEK-TMP-SE"


def ds_list_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_ds_list", description="List datasets and files")
    p.add_argument("lpn", help="dataset, datablock, project, file or glob")
    p.add_argument("-u", "--user", default=None, help="DIRAC user name (yourself)")
    p.add_argument("-l", "--long", action="store_true", help="add size, checksum and date")
    p.add_argument("-g", "--location", action="store_true", help="add the storage element")
    args = p.parse_args(argv)
    answer = Client().must("ds_list", lpn=args.lpn, user=args.user, long=args.long or args.location)
    if not answer["entries"]:
        print(f"No datasets or files found for {args.lpn}")
        return 0
    for entry in answer["entries"]:
        detail = answer["details"].get(entry)
        if detail and args.long:
            date = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(detail["created"]))
            se = f"  {detail['se']}" if args.location else ""
            print(f"{entry}  {detail['size']}  {detail['adler32']}  {date}{se}")
        elif detail and args.location:
            print(f"{entry}  {detail['se']}")
        else:
            print(entry)
    return 0


def adler32_of(path: Path) -> str:
    value = 1
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def local_path(lfn: str) -> Path:
    """``<project>/subNN/<file>`` for user data; ``<level>/subNN/<file>`` for datasets."""
    parts = lfn.strip("/").split("/")
    if len(parts) > 3 and parts[1] == "user":
        return Path(*parts[3:])
    return Path(*parts[-3:])


def latest_copies(files: List[Dict]) -> Tuple[List[Dict], List[Dict]]:
    """Keep the highest reschedule suffix of each job output; return (kept, older copies)."""
    best: Dict[str, Dict] = {}
    for entry in files:
        name = entry["lfn"]
        stem, dot, ext = name.rpartition("/")[2].partition(".")
        base, _, rr = stem.rpartition("_")
        key = entry["lfn"].rpartition("/")[0] + "/" + base if base and rr.isdigit() and "_job" in base else name
        if key not in best or entry["lfn"] > best[key]["lfn"]:
            best[key] = entry
    kept = sorted(best.values(), key=lambda e: e["lfn"])
    keep = {e["lfn"] for e in kept}
    return kept, [e for e in files if e["lfn"] not in keep]


def ds_get_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_ds_get", description="Download grid files")
    p.add_argument("query", help="project, dataset, datablock, file or glob")
    p.add_argument("--input_dslist", default=None, help="download only the LFNs in this file")
    p.add_argument("--failed_lfns", default=None, help="write the LFNs that failed here")
    p.add_argument("--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--new", action="store_true", help="use the multi-stream downloader")
    p.add_argument("--se", default=None, help="download from this storage element")
    p.add_argument("-u", "--user", default=None, help="DIRAC user name (yourself)")
    args = p.parse_args(argv)
    client = Client()
    files = client.must("ds_files", lpns=[args.query], user=args.user)["files"]
    if args.input_dslist:
        wanted = _read_lfns(Path(args.input_dslist))
        files = [f for f in files if f["lfn"] in wanted]
    if not files:
        print("No file found")
        return 1
    files, duplicates = latest_copies(files)
    if not args.force and not _confirm(len(files)):
        print("Download cancelled.")
        return 1
    ok, failed = _download_all(client, files, args.se)
    _report(ok, failed, duplicates)
    if args.failed_lfns:
        Path(args.failed_lfns).write_text("".join(f"{lfn}\n" for lfn in failed))
    return 0


def _read_lfns(path: Path) -> set:
    if not path.is_file():
        raise fail(f"--input_dslist file {path} not found")
    return {line.split()[0] for line in path.read_text().splitlines() if line.strip()}


def _confirm(count: int) -> bool:
    print(f"Do you want to download {count} files? [Y/N]: ", end="", flush=True)
    return sys.stdin.readline().strip().upper() in ("Y", "YES")


def _download_all(client: Client, files: List[Dict], se: Optional[str]) -> Tuple[List[str], List[str]]:
    print(f"Download {len(files)} files from SE")
    ok, failed = [], []
    for entry in files:
        target = local_path(entry["lfn"])
        if target.is_file() and target.stat().st_size == entry["size"] and adler32_of(target) == entry["adler32"]:
            print(f"Skip {entry['lfn']}: already downloaded to {target}")
            ok.append(entry["lfn"])
            continue
        print(f"Trying to download {client.pfn(entry['lfn'])} to {target}")
        if se and se != entry.get("se", SE_NAME):
            print(f"No replica of {entry['lfn']} at {se}")
            failed.append(entry["lfn"])
            continue
        if _download_one(client, entry, target):
            ok.append(entry["lfn"])
        else:
            failed.append(entry["lfn"])
    return ok, failed


def _download_one(client: Client, entry: Dict, target: Path) -> bool:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        partial.write_bytes(client.download(entry["lfn"]))
    except GridError as exc:
        print(f"Download of {entry['lfn']} failed: {exc}")
        partial.unlink(missing_ok=True)
        return False
    size, checksum = partial.stat().st_size, adler32_of(partial)
    if size != entry["size"] or checksum != entry["adler32"]:
        print(f"Transfer of {entry['lfn']} is corrupt: size/adler32 {size}/{checksum} differ from the catalog "
              f"{entry['size']}/{entry['adler32']}")
        partial.unlink()
        return False
    partial.replace(target)
    return True


def _report(ok: List[str], failed: List[str], duplicates: List[Dict]) -> None:
    print("Successfully downloaded files:")
    for lfn in ok:
        print(f"{lfn} in {local_path(lfn).parent.resolve()}")
    print("Failed files:")
    for lfn in failed:
        print(lfn)
    if duplicates:
        print("Files with duplicated jobID, not downloaded:")
        for entry in duplicates:
            print(entry["lfn"])


def ds_search_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_ds_search", description="Search datasets and collections")
    sub = p.add_subparsers(dest="command", required=True)
    ds = sub.add_parser("dataset", help="search datasets by metadata")
    for key in ("data_type", "campaign", "beam_energy", "mc_event", "bkg_level", "skim_decay",
                "release"):
        ds.add_argument(f"--{key}", default=None)
    coll = sub.add_parser("collection", help="list collections and their datasets")
    what = coll.add_mutually_exclusive_group(required=True)
    what.add_argument("--list_all_collections", nargs="?", const="*", default=None)
    what.add_argument("--list_datasets", default=None)
    what.add_argument("--get_metadata", default=None)
    args = p.parse_args(argv)
    client = Client()
    if args.command == "dataset":
        filters = {k: getattr(args, k) for k in ("data_type", "campaign", "beam_energy",
                                                 "mc_event", "bkg_level", "skim_decay", "release")}
        found = client.must("ds_search", filters=filters)["datasets"]
        if not found:
            print("No matching datasets found.")
            return 0
        print("Matching datasets found:")
        for lpn in found:
            print(f"\t{lpn}")
        return 0
    return _collection(client, args)


def _collection(client: Client, args: argparse.Namespace) -> int:
    if args.list_all_collections is not None:
        for lpn in client.must("collections", pattern=args.list_all_collections)["collections"]:
            print(lpn)
        return 0
    lpn = args.list_datasets or args.get_metadata
    datasets = client.must("collections", pattern=lpn, list_datasets=True)["datasets"]
    if not datasets:
        raise fail(f"Collection {lpn} does not exist")
    if args.list_datasets:
        for dataset in datasets:
            print(dataset)
        return 0
    print(f"Collection: {lpn}")
    print(f"Number of datasets: {len(datasets)}")
    return 0


def check_release_main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gb2_check_release", description="basf2 releases on the grid")
    p.parse_args(argv)
    for release in Client().must("releases")["releases"]:
        print(release)
    return 0
