"""The basf2 stand-in run directly on the host with bash (no Docker): options, exit codes,
log lines, outputs readable with uproot, and the examples shipped with b2env."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import uproot

from b2env import mockcvmfs
from b2env.config import Config

RELEASE = "release-08-00-00"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOOKKEEPING = ["__experiment__", "__run__", "__event__", "__production__", "__candidate__",
               "__ncandidates__", "__weight__"]


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.getbasetemp() / "h3-mock-cvmfs-state"
    return mockcvmfs.ensure_staged(Config(state_dir=str(state)))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    return tmp_path


def in_release(staged: Path, work: Path, command: str,
               release: str = RELEASE) -> subprocess.CompletedProcess[str]:
    """``command`` after ``b2setup release`` in a clean bash; its own exit code is returned."""
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "USER": "tester",
           "BELLE2_NO_TOOLS_CHECK": "1",
           "VO_BELLE2_SW_DIR": str(staged / "belle.cern.ch" / "el9")}
    tools = staged / "belle.cern.ch" / "tools" / "b2setup"
    script = f'. "{tools}" {release} >/dev/null || exit 99; {command}'
    return subprocess.run(["bash", "-c", script], cwd=work, env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def make_mdst(staged: Path, work: Path, name: str, events: int, *extra: str) -> Path:
    done = in_release(staged, work, f"b2mock-make-mdst {name} --events {events} {' '.join(extra)}")
    assert done.returncode == 0, done.stderr
    return work / name


def test_version_line_is_exact(staged, work):
    for release in (RELEASE, "light-2511-gacrux"):
        done = in_release(staged, work, "basf2 --version; basf2 --version-short", release)
        assert done.stdout.splitlines() == [
            f"basf2 (Belle II Analysis Software Framework), Version: b2env-mock "
            f"(Release: {release})",
            release,
        ]


def test_tutorial_test_file_processes_ten_events(staged, work):
    done = in_release(staged, work, "basf2 test_basf2.py")
    assert done.returncode == 0, done.stderr
    assert "[INFO] Steering file: test_basf2.py" in done.stdout
    assert "Processed:         10 events" in done.stdout


def test_root_output_and_statistics_with_n_and_o(staged, work):
    (work / "out.py").write_text(
        "import basf2\nmain = basf2.Path()\nmain.add_module('EventInfoSetter', evtNumList=[50])\n"
        "main.add_module('RootOutput')\nbasf2.process(main)\nprint(basf2.statistics)\n")
    done = in_release(staged, work, "basf2 out.py -n 7 -o seven.root")
    assert done.returncode == 0, done.stderr
    assert "[INFO] Write TTree tree" in done.stdout
    table = done.stdout[done.stdout.index("====="):].splitlines()
    assert table[1].split("|")[0].strip() == "Name" and "Time(ms)/Call" in table[1]
    assert table[3].split("|")[:2] == ["EventInfoSetter      ", "          8 "]
    assert table[-2].startswith("Total")
    with uproot.open(work / "seven.root") as root_file:
        assert root_file["tree"].num_entries == 7
        assert root_file["persistent"].num_entries == 1
        events = root_file["tree"]["EventMetaData.m_event"].array(library="np").tolist()
    assert events == [1, 2, 3, 4, 5, 6, 7]
    assert not (work / "RootOutput.root").exists()


def test_taupair_ntuple_from_inputs(staged, work):
    make_mdst(staged, work, "in1.root", 20, "--seed", "1")
    make_mdst(staged, work, "in2.root", 15, "--seed", "2", "--exp", "1", "--run", "3")
    done = in_release(staged, work, "basf2 steering_taupair.py -i in1.root -i in2.root -- 5")
    assert done.returncode == 0, done.stderr
    with uproot.open(work / "taupair.root") as root_file:
        assert [k.split(";")[0] for k in root_file.keys()] == ["tau"]
        tree = root_file["tau"]
        branches = tree.keys()
        assert branches[:7] == BOOKKEEPING
        assert "daughter__bo0__cm__spE__bc" in branches and "e_electronID" in branches
        arrays = tree.arrays(["__event__", "__experiment__"], library="np")
    assert 0 < tree.num_entries <= 35 * 2
    assert set(arrays["__experiment__"].tolist()) <= {0, 1}


def test_ntuple_is_deterministic(staged, work):
    make_mdst(staged, work, "in.root", 30)
    for name in ("first", "second"):
        assert in_release(staged, work, "basf2 steering_taupair.py -i in.root").returncode == 0
        (work / "taupair.root").rename(work / f"{name}.root")
    with uproot.open(work / "first.root") as a, uproot.open(work / "second.root") as b:
        assert a["tau"].arrays(library="np")["M"].tolist() == \
            b["tau"].arrays(library="np")["M"].tolist()


@pytest.mark.parametrize(
    ("steering", "stream", "message"),
    [
        ("broken/unknown_module.py", "stdout", "Could not create module: EventInfoSeter"),
        ("broken/bad_parameter.py", "stderr",
         "Could not find the parameter with the name 'evtNum'! The value of the parameter "
         "could NOT be set."),
        ("broken/wrong_type.py", "stderr", "ModuleParameterTypeError"),
        ("broken/python_error.py", "stderr", "NameError: name 'events_per_runs' is not defined"),
        ("broken/syntax_error.py", "stderr", "SyntaxError"),
        ("broken/no_event_source.py", "stdout",
         "[FATAL] 1 ERROR(S) occurred! The processing of events will not be started."),
        ("steering_simple.py", "stdout", "'tau+:selected' does not exist"),
        ("missing.py", "stdout", "[FATAL] The given filename and/or path is not valid: missing.py"),
    ],
)
def test_broken_steering_files_exit_1_with_the_message(staged, work, steering, stream, message):
    done = in_release(staged, work, f"basf2 {steering}")
    assert done.returncode == 1
    assert message in getattr(done, stream)


def test_user_traceback_starts_in_the_steering_file(staged, work):
    done = in_release(staged, work, "basf2 broken/python_error.py")
    frames = [line for line in done.stderr.splitlines() if line.strip().startswith("File ")]
    assert frames and all("python_error.py" in line for line in frames)


@pytest.mark.parametrize(
    ("options", "stream", "message"),
    [
        ("-n 0", "stdout", "[FATAL] Invalid number of events (valid range: 1..4294967294)!"),
        ("-l LOUD", "stdout", "[FATAL] Invalid log level 'LOUD'"),
        ("--run 3", "stdout", "[FATAL] Both --experiment and --run must be given"),
        ("--no-such-option", "stderr", "error: unrecognised option '--no-such-option'"),
        ("-p -1", "stdout", "[FATAL] Invalid number of processes"),
    ],
)
def test_bad_options_exit_1(staged, work, options, stream, message):
    done = in_release(staged, work, f"basf2 {options} test_basf2.py")
    assert done.returncode == 1
    assert message in getattr(done, stream)


def test_missing_input_file_is_fatal(staged, work):
    done = in_release(staged, work, "basf2 steering_taupair.py -i nowhere.root")
    assert done.returncode == 1
    assert "[FATAL] Couldn't open input file nowhere.root" in done.stdout


def test_dry_run_lists_files_and_writes_nothing(staged, work):
    done = in_release(staged, work, "basf2 --dry-run steering_taupair.py -i a.root -i b.root")
    assert done.returncode == 0, done.stderr
    assert "[INFO] Dry run input files: a.root, b.root" in done.stdout
    assert "[INFO] Dry run output files: taupair.root" in done.stdout
    assert not (work / "taupair.root").exists()


def test_job_information_json(staged, work):
    done = in_release(staged, work, "basf2 test_basf2.py --job-information job.json")
    assert done.returncode == 0
    assert "[INFO] Job information file: job.json" in done.stdout
    info = json.loads((work / "job.json").read_text())
    assert info["basf2_status"] == "finished successfully"
    assert info["release"] == RELEASE


def test_exit_code_of_sys_exit_is_kept(staged, work):
    (work / "leave.py").write_text("import sys\nsys.exit(4)\n")
    assert in_release(staged, work, "basf2 leave.py").returncode == 4


def test_make_mdst_and_hadd(staged, work):
    make_mdst(staged, work, "a.root", 10, "--exp", "2", "--run", "5")
    make_mdst(staged, work, "b.root", 4)
    with uproot.open(work / "a.root") as root_file:
        tree = root_file["tree"].arrays(library="np")
        assert set(tree["EventMetaData.m_experiment"].tolist()) == {2}
        assert root_file["persistent"]["FileMetaData.m_nEvents"].array(library="np")[0] == 10
    done = in_release(staged, work, "hadd merged.root a.root b.root")
    assert done.returncode == 0, done.stderr
    with uproot.open(work / "merged.root") as root_file:
        assert root_file["tree"].num_entries == 14
    assert in_release(staged, work, "hadd merged.root a.root").returncode == 1


def test_help_usage_line_and_module_parameters(staged, work):
    done = in_release(staged, work, "basf2 --help; basf2 -m EventInfoSetter")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "Usage: basf2 [OPTIONS] [STEERING_FILE] [-- [STEERING_FILE_OPTIONS]]"
    assert "Module EventInfoSetter parameters:" in lines
    assert any(line.split()[:2] == ["evtNumList", "list(int)"] for line in lines)


def test_dump_path_then_execute_path(staged, work):
    dumped = in_release(staged, work, "basf2 --dump-path path.pkl test_basf2.py")
    assert dumped.returncode == 0 and "Processed:" not in dumped.stdout
    executed = in_release(staged, work, "basf2 --execute-path path.pkl -n 3")
    assert executed.returncode == 0
    assert "Processed:          3 events (done)" in executed.stdout
