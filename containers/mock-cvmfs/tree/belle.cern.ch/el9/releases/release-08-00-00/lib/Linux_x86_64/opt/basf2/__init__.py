"""b2env MOCK CVMFS stand-in (not Belle II software): the ``basf2`` Python API.

Only what steering files and toolkits observe: paths, modules with checked parameters, the
event loop, statistics, log functions, find_file and version information. See MOCK-CVMFS.txt.
"""

import os
import random

from ._log import (  # noqa: F401
    B2DEBUG, B2ERROR, B2FATAL, B2INFO, B2RESULT, B2WARNING, LogLevel, set_log_level,
)
from ._modules import (  # noqa: F401
    Module, ModuleNotCreatedError, ModuleParameterTypeError, ModuleParamError, register_module,
)
from ._process import Path, create_path, print_path, process, statistics  # noqa: F401


class _Conditions:
    """Global tags are out of scope for the stand-in; the list is kept for steering files."""

    def __init__(self):
        self.globaltags = []

    def prepend_globaltag(self, tag):
        self.globaltags.insert(0, tag)

    def append_globaltag(self, tag):
        self.globaltags.append(tag)

    def override_globaltags(self, tags=None):
        self.globaltags = list(tags or [])


conditions = _Conditions()
_seed = {"value": ""}


def set_random_seed(seed):
    _seed["value"] = str(seed)
    random.seed(str(seed))


def get_random_seed():
    return _seed["value"]


def find_file(filename, data_type="", silent=False):
    """Resolve ``filename`` in the release, the examples data dir or as given."""
    roots = {
        "examples": [os.environ.get("BELLE2_EXAMPLES_DATA_DIR", "")],
        "validation": [os.environ.get("BELLE2_VALIDATION_DATA_DIR", "")],
    }.get(data_type, [os.environ.get("BELLE2_LOCAL_DIR", ""),
                      os.environ.get("BELLE2_RELEASE_DIR", "")])
    for root in roots:
        candidate = os.path.join(root, filename) if root else ""
        if candidate and os.path.exists(candidate):
            return os.path.abspath(candidate)
    if data_type == "" and os.path.exists(filename):
        return os.path.abspath(filename)
    if not silent:
        B2FATAL(f"Could not find file '{filename}'"
                + (f" in the {data_type} data directory" if data_type else ""))
    return None
