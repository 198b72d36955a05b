"""The mock CVMFS set-up scripts run directly on the host with bash (no Docker).

The staged tree (wheels from the local cache) is bound nowhere: the tests source
``<staged>/belle.cern.ch/tools/b2setup`` with ``VO_BELLE2_SW_DIR`` pointing into it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from b2env import mockcvmfs
from b2env.config import Config

RELEASE = "release-08-00-00"
SETUP_VARIABLES = (
    "BELLE2_TOOLS", "VO_BELLE2_SW_DIR", "BELLE2_EXTERNALS_TOPDIR", "BELLE2_ARCH", "BELLE2_OPTION",
    "BELLE2_SUBDIR", "BELLE2_EXTERNALS_OPTION", "BELLE2_EXTERNALS_SUBDIR", "BELLE2_USER",
    "BELLE2_GIT_SERVER", "BELLE2_SOFTWARE_REPOSITORY", "BELLE2_EXTERNALS_REPOSITORY",
    "BELLE2_VERSIONING_REPOSITORY", "BELLE2_ANALYSES_PROJECT", "BELLE2_DOWNLOAD",
    "BELLE2_EXCLUDE_PACKAGES", "BELLE2_RELEASE", "BELLE2_RELEASE_DIR", "BELLE2_EXTERNALS_VERSION",
    "BELLE2_EXTERNALS_DIR", "ROOTSYS", "JUPYTER_CONFIG_DIR",
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.getbasetemp() / "h3-mock-cvmfs-state"
    return mockcvmfs.ensure_staged(Config(state_dir=str(state)))


def bash(staged: Path, script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a clean bash with the tools at hand as ``$TOOLS``."""
    base = {"HOME": str(cwd), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "USER": "tester",
            "TOOLS": str(staged / "belle.cern.ch" / "tools"),
            "VO_BELLE2_SW_DIR": str(staged / "belle.cern.ch" / "el9")}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=base | env, text=True,
                          capture_output=True, timeout=120, check=False)


def test_b2setup_exports_every_variable_and_prints_the_success_lines(staged, tmp_path):
    done = bash(staged, f'export BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" {RELEASE} && env',
                tmp_path)
    assert done.returncode == 0, done.stderr
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    for name in SETUP_VARIABLES:
        assert env.get(name), f"{name} missing"
    reldir = staged / "belle.cern.ch" / "el9" / "releases" / RELEASE
    assert env["BELLE2_SUBDIR"] == "Linux_x86_64/opt"
    assert env["BELLE2_RELEASE_DIR"] == str(reldir)
    assert env["PATH"].split(":")[:3].count(f"{reldir}/bin/Linux_x86_64/opt") == 1
    assert env["PYTHONPATH"].split(":")[0] == f"{reldir}/lib/Linux_x86_64/opt"
    assert env["PYTHONPATH"].split(":")[-1] == env["BELLE2_TOOLS"]
    assert f"Belle II software tools set up at: {env['BELLE2_TOOLS']}" in done.stdout
    assert f"Environment setup for release: {RELEASE}" in done.stdout
    assert f"Central release directory    : {reldir}" in done.stdout


def test_unknown_release_fails_with_the_real_text_and_leaves_the_environment(staged, tmp_path):
    script = ('export BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" "" >/dev/null; '
              'b2setup release-99-00-00; echo "rc=$? release=${BELLE2_RELEASE:-none}"')
    done = bash(staged, script, tmp_path)
    assert "Error: No central release release-99-00-00 found." in done.stderr
    assert "rc=1 release=none" in done.stdout


def test_sourcing_inside_a_script_forwards_its_arguments_unless_given_empty(staged, tmp_path):
    script = ('set -- basf2 --version; export BELLE2_NO_TOOLS_CHECK=1; '
              '. "$TOOLS/b2setup"; echo "rc=$?"')
    done = bash(staged, script, tmp_path)
    assert "b2setup: error" in done.stderr and "rc=1" in done.stdout


def test_help_lists_releases_on_stderr_and_exits_zero(staged, tmp_path):
    script = ('export BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" "" >/dev/null; '
              'b2setup --help; echo "rc=$?"')
    done = bash(staged, script, tmp_path)
    assert "rc=0" in done.stdout
    listing = done.stderr.split("The following releases are available:\n")[1].splitlines()
    assert listing == ["  light-2511-gacrux", "  release-06-00-08", f"  {RELEASE}"]


def test_b2help_releases_answers_like_the_tools(staged, tmp_path):
    script = ('export BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" "" >/dev/null; '
              "b2help-releases; b2help-releases light; b2help-releases release-06-00-08; "
              "b2help-releases light-2511-gacrux")
    done = bash(staged, script, tmp_path)
    assert done.stdout.splitlines() == [
        RELEASE,
        "The recommended light release is light-2511-gacrux",
        f"Warning: The release release-06-00-08 is not supported. Please update to {RELEASE}",
        "The release light-2511-gacrux is supported",
    ]


def test_unsupported_release_sets_up_with_a_warning(staged, tmp_path):
    done = bash(staged, 'export BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" release-06-00-08 '
                '&& echo "now $BELLE2_RELEASE"', tmp_path)
    assert "now release-06-00-08" in done.stdout
    assert ("Warning: The release release-06-00-08 is not supported. Please update to "
            f"{RELEASE}") in done.stderr


def test_tools_check_is_reported_offline_unless_disabled(staged, tmp_path):
    checked = bash(staged, '. "$TOOLS/b2setup" ""', tmp_path)
    skipped = bash(staged, 'BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" ""', tmp_path)
    assert "could not check whether the Belle II software tools are up to date" in checked.stderr
    assert skipped.stderr == ""


def test_pythonpath_is_reset_with_a_warning(staged, tmp_path):
    done = bash(staged, 'BELLE2_NO_TOOLS_CHECK=1; . "$TOOLS/b2setup" "" >/dev/null; '
                'echo "$PYTHONPATH"', tmp_path, PYTHONPATH="/somewhere/else")
    assert done.stdout.strip() == str(staged / "belle.cern.ch" / "tools")
    assert "/somewhere/else" in done.stderr


def test_presetup_picks_the_tree_of_this_machine(staged, tmp_path):
    done = bash(staged, 'unset VO_BELLE2_SW_DIR; BELLE2_NO_TOOLS_CHECK=1; '
                '. "$TOOLS/b2setup" "" >/dev/null; echo "$VO_BELLE2_SW_DIR"; '
                '"$TOOLS/b2install-print-os"', tmp_path)
    sw_dir, printed = done.stdout.splitlines()
    assert sw_dir == str(staged / "belle.cern.ch" / printed.replace(" ", ""))


def test_b2execute_exit_codes(staged, tmp_path):
    done = bash(staged, '"$TOOLS/b2execute" release-99-00-00 --version; echo "rc=$?"', tmp_path,
                BELLE2_NO_TOOLS_CHECK="1")
    assert "ERROR: The setup of release release-99-00-00 failed." in done.stdout
    assert "rc=2" in done.stdout
    done = bash(staged, f'"$TOOLS/b2execute" {RELEASE} missing.py; echo "rc=$?"', tmp_path,
                BELLE2_NO_TOOLS_CHECK="1")
    assert "ERROR: The execution of basf2 failed." in done.stdout and "rc=3" in done.stdout


def test_basf2_refuses_to_run_without_a_release(staged, tmp_path):
    basf2 = staged / "belle.cern.ch/el9/releases" / RELEASE / "bin/Linux_x86_64/opt/basf2"
    done = bash(staged, f'"{basf2}" --version; echo "rc=$?"', tmp_path)
    assert "rc=1" in done.stdout and "BELLE2_RELEASE_DIR" in done.stderr


def test_staged_tree_has_grid_security_and_labels(staged):
    security = staged / "grid.cern.ch/etc/grid-security"
    assert any(p.name.endswith(".0") for p in (security / "certificates").iterdir())
    assert (security / "vomses/belle").read_text().startswith('"belle" "mock-grid" "15020"')
    assert len((security / "vomsdir/belle/mock-grid.lsc").read_text().splitlines()) == 2
    for repository in ("belle.cern.ch", "grid.cern.ch"):
        assert "MOCK CVMFS" in (staged / repository / "MOCK-CVMFS.txt").read_text()
    client_site = staged / "belle.kek.jp/grid/gbasf2/pro/lib/site-packages"
    for version in ("3.9", "3.11", "3.12"):  # el9, debian12, ubuntu2404
        assert (client_site / f"python{version}/cryptography").is_dir()


def test_staging_again_reuses_the_tree(staged):
    state = staged.parent.parent
    again = mockcvmfs.ensure_staged(Config(state_dir=str(state)))
    assert again == staged


def test_posix_sh_gets_the_b2setup_function(staged, tmp_path):
    tools = staged / "belle.cern.ch" / "tools"
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "BELLE2_TOOLS": str(tools), "BELLE2_NO_TOOLS_CHECK": "1",
           "VO_BELLE2_SW_DIR": str(staged / "belle.cern.ch" / "el9")}
    script = f'. "{tools}/b2setup" >/dev/null; b2setup {RELEASE} >/dev/null && basf2 --version'
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"(Release: {RELEASE})" in done.stdout
