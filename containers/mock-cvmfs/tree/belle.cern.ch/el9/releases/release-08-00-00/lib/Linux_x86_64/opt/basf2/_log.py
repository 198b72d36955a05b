"""b2env MOCK CVMFS stand-in (not Belle II software): basf2 log lines and levels."""

import enum
import sys


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    RESULT = 2
    WARNING = 3
    ERROR = 4
    FATAL = 5
    default = 6


class _State:
    level = LogLevel.INFO
    level_locked = False  # -l on the command line wins over set_log_level()
    counts = {LogLevel.WARNING: 0, LogLevel.ERROR: 0}
    summary = []


state = _State()


class FatalError(SystemExit):
    """B2FATAL: the message is logged, then basf2 exits with code 1."""

    def __init__(self, message):
        super().__init__(1)
        self.message = message


def log(level, message):
    if level in state.counts:
        state.counts[level] += 1
        state.summary.append(f"[{level.name}] {message}")
    if level >= state.level or level == LogLevel.FATAL:
        sys.stdout.write(f"[{level.name}] {message}\n")
        sys.stdout.flush()


def set_log_level(level):
    if not state.level_locked:
        state.level = LogLevel(level)


def B2DEBUG(debuglevel, *message):
    log(LogLevel.DEBUG, " ".join(str(m) for m in message))


def B2INFO(*message):
    log(LogLevel.INFO, " ".join(str(m) for m in message))


def B2RESULT(*message):
    log(LogLevel.RESULT, " ".join(str(m) for m in message))


def B2WARNING(*message):
    log(LogLevel.WARNING, " ".join(str(m) for m in message))


def B2ERROR(*message):
    log(LogLevel.ERROR, " ".join(str(m) for m in message))


def B2FATAL(*message):
    text = " ".join(str(m) for m in message)
    log(LogLevel.FATAL, text)
    raise FatalError(text)


def print_error_summary():
    """The block printed at the end when warnings or errors occurred."""
    if not state.summary:
        return
    sys.stdout.write("=================== Error Summary ===================\n")
    for line in state.summary:
        sys.stdout.write(f"{line}\n")
    sys.stdout.write("=====================================================\n")
    errors = state.counts[LogLevel.ERROR]
    if errors:
        sys.stdout.write(f"[ERROR] in total, {errors} errors occurred during processing\n")
    sys.stdout.flush()
