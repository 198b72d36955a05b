"""b2env MOCK CVMFS stand-in (not Belle II software): the ``basf2`` command line.

Options, messages and exit codes follow the real executable as far as a toolkit can observe:
option errors print ``error: ...`` and exit 1; B2FATAL exits 1; an uncaught exception in the
steering file prints the user's traceback on stderr and exits 1; ``sys.exit(n)`` gives n.
"""

import argparse
import json
import os
import pickle
import runpy
import sys
import traceback

from . import _log, _process
from ._log import B2FATAL, B2INFO, LogLevel

MAX_EVENTS = 4294967294
USAGE = "Usage: basf2 [OPTIONS] [STEERING_FILE] [-- [STEERING_FILE_OPTIONS]]"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"error: {message}\n")
        sys.exit(1)

    def format_usage(self):
        return USAGE + "\n"

    def format_help(self):
        lines = super().format_help().splitlines()
        return "\n".join([USAGE, *lines[1:]]) + "\n"


def parser():
    p = _Parser(prog="basf2", add_help=False, usage=USAGE)
    generic = p.add_argument_group("Generic options (to be used instead of steering file)")
    generic.add_argument("-h", "--help", action="store_true", help="print all available options")
    generic.add_argument("-v", "--version", action="store_true", help="print the version")
    generic.add_argument("--version-short", action="store_true", help="print the release name")
    generic.add_argument("--info", action="store_true", help="information about the environment")
    generic.add_argument("--license", action="store_true", help="print the short licence text")
    generic.add_argument("-m", "--modules", nargs="?", const="", default=None, metavar="ARG",
                         help="list modules, or the parameters of one module")
    conf = p.add_argument_group("Configuration")
    conf.add_argument("steering", nargs="?", metavar="STEERING_FILE")
    conf.add_argument("--arg", action="append", default=[], help="argument for the steering file")
    conf.add_argument("-l", "--log_level", help="DEBUG, INFO, RESULT, WARNING or ERROR")
    conf.add_argument("--package_log_level", action="append", default=[])
    conf.add_argument("--module_log_level", action="append", default=[])
    conf.add_argument("-d", "--debug_level", type=int)
    conf.add_argument("--random-seed")
    conf.add_argument("-n", "--events", type=int, help="number of events to process")
    conf.add_argument("--run", type=int)
    conf.add_argument("--experiment", type=int)
    conf.add_argument("--skip-events", type=int)
    conf.add_argument("-i", "--input", action="append", default=[], help="input file")
    conf.add_argument("-S", "--sequence", action="append", default=[])
    conf.add_argument("-o", "--output", help="output file of the first RootOutput")
    conf.add_argument("-p", "--processes", type=int, help="worker processes (runs serially)")
    adv = p.add_argument_group("Advanced Options")
    adv.add_argument("--dry-run", action="store_true", help="read the steering file, process "
                     "nothing, print the input and output files")
    adv.add_argument("--dump-path")
    adv.add_argument("--execute-path")
    adv.add_argument("--no-stats", action="store_true")
    adv.add_argument("--visualize-dataflow", action="store_true")
    adv.add_argument("--module-io")
    adv.add_argument("--zmq", action="store_true")
    adv.add_argument("--profile")
    adv.add_argument("--job-information")
    adv.add_argument("--realm", choices=("online", "production"))
    adv.add_argument("--secondary-input", action="append", default=[])
    return p


def parse(argv):
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    else:
        extra = []
    args, rest = parser().parse_known_intermixed_args(argv)
    unknown = [a for a in rest if a.startswith("-")]
    if unknown:
        sys.stderr.write(f"error: unrecognised option '{unknown[0]}'\n")
        sys.exit(1)
    args.steering_args = [*args.arg, *rest, *extra]
    return args


def check_environment():
    if not os.environ.get("BELLE2_SUBDIR") or not (
            os.environ.get("BELLE2_RELEASE_DIR") or os.environ.get("BELLE2_LOCAL_DIR")):
        sys.stderr.write("[FATAL] Environment variable BELLE2_RELEASE_DIR or BELLE2_LOCAL_DIR "
                         "and BELLE2_SUBDIR must be set: set up a release with "
                         "'b2setup <release>' first.\n")
        sys.exit(1)


def generic_action(args):
    """--help/--version/--info/... print and exit; returns False when none was given."""
    if args.help:
        parser().print_help(sys.stdout)
    elif args.version:
        from basf2.version import version_line

        print(version_line())
    elif args.version_short:
        print(os.environ.get("BELLE2_RELEASE") or "unknown")
    elif args.info:
        from basf2_cli.print_info import print_info

        print_info()
    elif args.license:
        print("basf2 is licensed under the LGPL-3.0; this is the b2env mock CVMFS stand-in.")
    elif args.modules is not None:
        list_modules(args.modules)
    else:
        return False
    return True


def list_modules(name):
    from ._modules import REGISTRY

    if name in REGISTRY:
        print(f"Module {name} parameters:")
        for param, (kind, default) in REGISTRY[name].items():
            print(f"  {param:<28} {kind:<12} {default!r}")
        return
    for module in sorted(REGISTRY):
        print(module)


def apply_options(args):
    opts = _process.options
    if args.log_level is not None:
        try:
            _log.state.level = LogLevel[args.log_level.upper()]
        except KeyError:
            B2FATAL(f"Invalid log level '{args.log_level}' (use DEBUG, INFO, RESULT, WARNING "
                    "or ERROR)")
        _log.state.level_locked = True
    if args.events is not None:
        if not 1 <= args.events <= MAX_EVENTS:
            B2FATAL(f"Invalid number of events (valid range: 1..{MAX_EVENTS})!")
        opts.n_events = args.events
    if (args.run is None) != (args.experiment is None) or (
            args.run is not None and args.events is None):
        B2FATAL("Both --experiment and --run must be given, together with -n, to override "
                "the EventInfoSetter.")
    if args.processes is not None and args.processes < 0:
        B2FATAL(f"Invalid number of processes: {args.processes}")
    if args.skip_events is not None and args.skip_events < 0:
        B2FATAL(f"Invalid number of events to skip: {args.skip_events}")
    opts.experiment, opts.run, opts.skip_events = args.experiment, args.run, args.skip_events
    opts.input_files, opts.output_file = list(args.input), args.output
    opts.dry_run, opts.no_stats = args.dry_run, args.no_stats
    opts.random_seed = args.random_seed or ""


def run_steering(path, arguments):
    if not os.path.isfile(path):
        B2FATAL(f"The given filename and/or path is not valid: {path}")
    B2INFO(f"Steering file: {path}")
    with open(path, errors="replace") as fh:
        _process.options.steering_text = fh.read()
    sys.argv = [path, *arguments]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(path, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's error, shown as Python shows it
        print_user_traceback(exc, os.path.abspath(path))
        sys.exit(1)


def print_user_traceback(exc, steering):
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != steering:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


def report(args, code):
    opts = _process.options
    if args.dry_run:
        inputs = ", ".join(opts.inputs_used) or "(none)"
        outputs = ", ".join(opts.outputs_written) or "(none)"
        B2INFO("Dry run: the steering file was read; no events were processed")
        B2INFO(f"Dry run input files: {inputs}")
        B2INFO(f"Dry run output files: {outputs}")
    if args.job_information:
        write_job_information(args.job_information, code)
    _log.print_error_summary()


def write_job_information(path, code):
    from . import _rootio

    opts = _process.options
    outputs = []
    for name in opts.outputs_written:
        entry = {"filename": name}
        if os.path.isfile(name):
            entry["trees"] = _rootio.tree_entries(name)
        outputs.append(entry)
    status = "finished successfully" if code == 0 else "failed"
    info = {"basf2_status": status, "exit_code": code,
            "release": os.environ.get("BELLE2_RELEASE", ""), "input_files": opts.inputs_used,
            "output_files": outputs}
    with open(path, "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    B2INFO(f"Job information file: {path}")


def main(argv):
    check_environment()
    args = parse(argv)
    if generic_action(args):
        return 0
    code = 0
    try:
        apply_options(args)
        if args.dump_path:
            _process.options.dump_path = args.dump_path
        if args.execute_path:
            with open(args.execute_path, "rb") as fh:
                _process.process(pickle.load(fh))
        elif args.steering:
            run_steering(args.steering, args.steering_args)
        else:
            exec(compile(sys.stdin.read(), "<stdin>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
    sys.stdout.flush()
    report(args, code)
    return code
