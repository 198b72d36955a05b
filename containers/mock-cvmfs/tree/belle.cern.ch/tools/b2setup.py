"""b2env MOCK CVMFS stand-in (not Belle II software): the helper behind the b2setup function.

It prints shell commands that the ``b2setup`` function evaluates; on failure it prints the
error to stderr and exits non-zero, and the function returns 1 with the environment unchanged.
"""

import argparse
import importlib.util
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from versioning import supported_release  # noqa: E402

PATH_VARIABLES = ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "ROOT_INCLUDE_PATH")


class SetupError(Exception):
    pass


def available_releases():
    directory = os.path.join(os.environ.get("VO_BELLE2_SW_DIR", ""), "releases")
    if not os.path.isdir(directory):
        return []
    return sorted(name for name in os.listdir(directory) if "." not in name)


def print_help(parser):
    parser.print_help(sys.stderr)
    releases = available_releases()
    if releases:
        sys.stderr.write("\nThe following releases are available:\n")
        for release in releases:
            sys.stderr.write(f"  {release}\n")
    else:
        sys.stderr.write("\nThere are no central releases available.\n")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="b2setup", add_help=False,
        description="Set up the environment for a central Belle II software release.",
        epilog="Note: when b2setup is sourced inside a script without arguments, the script's "
               "own arguments are forwarded to it; pass \"\" to avoid that.",
    )
    parser.add_argument("-h", "--help", "-?", action="store_true", help="show this help")
    parser.add_argument("--externals-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("release", nargs="?", help="name of the release")
    args = parser.parse_args(argv)
    if args.help:
        print_help(parser)
        sys.exit(0)
    return args


def remove_entries(env, prefixes):
    """Drop the entries of a previous release or externals from the path variables."""
    prefixes = [p for p in prefixes if p]
    for name in PATH_VARIABLES:
        entries = [e for e in env.get(name, "").split(":") if e]
        kept = [e for e in entries if not any(e == p or e.startswith(p + "/") for p in prefixes)]
        if kept != entries:
            env[name] = ":".join(kept)


def prepend(env, name, *entries):
    current = [e for e in env.get(name, "").split(":") if e and e not in entries]
    env[name] = ":".join([*entries, *current])


def load_externals(directory):
    path = os.path.join(directory, "externals.py")
    spec = importlib.util.spec_from_file_location("b2_externals", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_externals(env, version, echo):
    top = env.get("BELLE2_EXTERNALS_TOPDIR", "")
    candidates = [os.path.join(top, version),
                  os.path.join(env.get("VO_BELLE2_SW_DIR", ""), "externals", version)]
    directory = next((c for c in candidates if os.path.isfile(os.path.join(c, "externals.py"))),
                     None)
    if directory is None:
        raise SetupError(f"The externals version {version} does not exist. "
                         "You can use 'b2install-externals' to install them.")
    env["BELLE2_EXTERNALS_VERSION"] = version
    env["BELLE2_EXTERNALS_DIR"] = directory
    externals = load_externals(directory)
    externals.setup_externals(env, directory)
    if version >= "v01-10-00":
        env["JUPYTER_CONFIG_DIR"] = os.path.join(env.get("HOME", ""), ".jupyter")
    try:
        externals.check_externals(env, directory)
    except Exception:  # noqa: BLE001 - any failure of the check is reported the same way
        echo.append(f"echo 'Error: Check of externals at {directory} failed.' >&2")


def setup_release(env, release, echo):
    sw_dir = env.get("VO_BELLE2_SW_DIR", "")
    reldir = os.path.join(sw_dir, "releases", release)
    if not release or not os.path.isdir(reldir):
        raise SetupError(f"Error: No central release {release} found.")
    try:
        with open(os.path.join(reldir, ".externals")) as fh:
            version = fh.readline().strip()
    except OSError:
        version = ""
    if not version:
        raise SetupError("Error: No externals version is defined.")

    remove_entries(env, [env.get("BELLE2_RELEASE_DIR"), env.get("BELLE2_EXTERNALS_DIR")])
    subdir = env["BELLE2_SUBDIR"]
    prepend(env, "PATH", os.path.join(reldir, "bin", subdir))
    prepend(env, "LD_LIBRARY_PATH", os.path.join(reldir, "lib", subdir))
    prepend(env, "PYTHONPATH", os.path.join(reldir, "lib", subdir))
    prepend(env, "ROOT_INCLUDE_PATH", reldir, os.path.join(reldir, "include"))
    env["BELLE2_RELEASE"] = release
    env["BELLE2_RELEASE_DIR"] = reldir
    setup_externals(env, version, echo)

    echo.insert(0, f"echo {shlex.quote(f'Environment setup for release: {release}')}")
    echo.insert(1, f"echo {shlex.quote(f'Central release directory    : {reldir}')}")
    recommended = supported_release(release)
    if recommended is not None and recommended != release:
        text = f"Warning: The release {release} is not supported. Please update to {recommended}"
        echo.append(f"echo {shlex.quote(text)} >&2")


def shell_commands(before, after):
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            lines.append(f"unset {name}")
        elif before.get(name) != after[name]:
            lines.append(f"export {name}={shlex.quote(after[name])}")
    return lines


def main(argv):
    args = parse(argv)
    if "BELLE2_TOOLS" not in os.environ or "BELLE2_SUBDIR" not in os.environ:
        sys.stderr.write("Error: the Belle II tools are not set up; source "
                         "/cvmfs/belle.cern.ch/tools/b2setup first.\n")
        return 1
    env = dict(os.environ)
    echo = []
    try:
        if args.externals_only:
            if env.get("BELLE2_RELEASE"):
                raise SetupError("Error: A release is already set up; b2setup-externals "
                                 "works only without one.")
            setup_externals(env, args.release or "", echo)
        elif not args.release:
            raise SetupError("Error: Neither in a development or analysis directory nor a "
                             "release specified.")
        else:
            setup_release(env, args.release, echo)
    except SetupError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    print("\n".join([*shell_commands(dict(os.environ), env), *echo]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
