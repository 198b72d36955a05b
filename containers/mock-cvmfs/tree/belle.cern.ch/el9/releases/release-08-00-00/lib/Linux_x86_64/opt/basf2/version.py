"""b2env MOCK CVMFS stand-in (not Belle II software): version information.

``python3 version.py`` (what ``basf2 --version`` runs) prints the one version line.
"""

import os

#: The stand-in has no git history; this id marks the build of the mock tree.
COMMIT_ID = "b2env-mock"


def get_version():
    return COMMIT_ID


def get_release():
    return os.environ.get("BELLE2_RELEASE") or "unknown"


def version_line():
    return (f"basf2 (Belle II Analysis Software Framework), Version: {get_version()} "
            f"(Release: {get_release()})")


if __name__ == "__main__":
    print(version_line())
