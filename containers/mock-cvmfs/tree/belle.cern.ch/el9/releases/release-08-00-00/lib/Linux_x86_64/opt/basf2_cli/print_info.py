"""b2env MOCK CVMFS stand-in (not Belle II software): ``basf2 --info``."""

import os
import platform
import sys

from basf2.version import get_release, get_version

BANNER = (
    "  ____  ___   ___  ____  ____ ",
    " | __ )|_ _| / _ \\| ___|| ___|",
    " |  _ \\ | | | |_| |___ \\|___ \\",
    " | |_) || | |  _  |___) |___) |",
    " |____/|___||_| |_|____/|____/ ",
)


def print_info():
    for line in BANNER:
        print(line.center(48).rstrip())
    for line in ("BASF2 (Belle II Analysis Software Framework)",
                 "b2env MOCK CVMFS stand-in -- not Belle II software",
                 "Licensed under LGPL-3.0 (the real basf2)",
                 f"Release {get_release()}", f"Version {get_version()}"):
        print(line.center(48).rstrip())
    print("-" * 48)
    for key in ("BELLE2_RELEASE", "BELLE2_RELEASE_DIR", "BELLE2_LOCAL_DIR", "BELLE2_SUBDIR",
                "BELLE2_EXTERNALS_VERSION", "BELLE2_ARCH"):
        print(f"{key + ':':<25}{os.environ.get(key, '')}")
    print(f"{'Default global tags:':<25}(none: conditions are out of scope for the mock)")
    print(f"{'Kernel version:':<25}{platform.release()}")
    print(f"{'Python version:':<25}{platform.python_version()}")
    print(f"{'ROOT version:':<25}(none: uproot is used)")
    print("basf2 module directories:")
    release = os.environ.get("BELLE2_RELEASE_DIR", "")
    print(f"  {os.path.join(release, 'lib', os.environ.get('BELLE2_SUBDIR', ''))}")
    print("-" * 48)


if __name__ == "__main__":
    print_info()
    sys.exit(0)
