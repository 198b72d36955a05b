"""Events processed per job, read from the basf2 log in a job's output sandbox."""

from __future__ import annotations

from b2env.demo import processed_events

TABLE = """\
[INFO] Steering file: steering_taupair.py
==========================================================================
Name                     |      Calls | Memory(MB) |    Time(s) |     Time(ms)/Call
==========================================================================
RootInput                |        101 |         57 |       0.00 |    0.00 +-   0.00
VariablesToNtuple_vpho   |        100 |         57 |       0.01 |    0.05 +-   0.11
==========================================================================
Total                    |        101 |         57 |       0.07 |    0.69 +-   0.00
==========================================================================
"""


def test_statistics_table_total_minus_one_with_root_input() -> None:
    assert processed_events(TABLE) == 100


def test_progress_line_wins_and_missing_table_is_none() -> None:
    assert processed_events("[INFO] Processed:         42 events (done)\n" + TABLE) == 42
    assert processed_events("[FATAL] no input\n") is None


def test_event_generation_without_input_module_counts_total_calls() -> None:
    text = TABLE.replace("RootInput      ", "EventInfoSetter").replace("101", "10")
    assert processed_events(text) == 10
