"""b2env MOCK CVMFS stand-in (not Belle II software): access to versioning information.

Reads ``versioning/versioning.py`` next to the tools directory; never any network access.
"""

import importlib.util
import os
import sys


def _local_versioning():
    top = os.path.dirname(os.environ.get("BELLE2_TOOLS") or os.path.dirname(__file__))
    path = os.path.join(top, "versioning", "versioning.py")
    if not os.path.isfile(path):
        return None
    spec = importlib.util.spec_from_file_location("b2_central_versioning", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def supported_release(release=None):
    """As the central versioning file says, or None (with a warning) when it is unreachable."""
    module = _local_versioning()
    if module is None:
        sys.stderr.write("Warning: could not get versioning information (mock CVMFS: the "
                         "versioning directory is missing).\n")
        return None
    return module.supported_release(release)
