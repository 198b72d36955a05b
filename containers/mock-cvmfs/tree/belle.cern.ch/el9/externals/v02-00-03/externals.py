"""b2env MOCK CVMFS stand-in (not Belle II software): set-up of the externals.

The real externals ship ROOT, Geant4, Python and more; the stand-in ships a ``python3`` that is
the image's own Python plus the wheels b2env installs under
``Linux_x86_64/common/lib/python3.<minor>/site-packages`` (uproot, numpy, awkward).
"""

import os


def _prepend(env, name, *entries):
    current = [e for e in env.get(name, "").split(":") if e and e not in entries]
    env[name] = ":".join([*entries, *current])


def setup_externals(env, location):
    """Add the externals' directories to the environment mapping ``env``."""
    arch = env.get("BELLE2_ARCH", "Linux_x86_64")
    subdir = env.get("BELLE2_EXTERNALS_SUBDIR", f"{arch}/opt")
    common = os.path.join(location, arch, "common")
    option = os.path.join(location, subdir)
    _prepend(env, "PATH", os.path.join(common, "bin"), os.path.join(option, "bin"))
    _prepend(env, "LD_LIBRARY_PATH", os.path.join(common, "lib"), os.path.join(common, "lib64"),
             os.path.join(option, "lib"), os.path.join(option, "lib64"))
    _prepend(env, "ROOT_INCLUDE_PATH", location, os.path.join(location, "include"),
             os.path.join(location, "include", "libxml2"))
    env["ROOTSYS"] = os.path.join(option, "root")
    env["GIT_EXEC_PATH"] = os.path.join(common, "libexec", "git-core")
    env["GIT_TEMPLATE_DIR"] = os.path.join(common, "share", "git-core", "templates")
    env["GIT_GUI_LIB_DIR"] = os.path.join(common, "share", "git-gui", "lib")
    env["GITPERLLIB"] = os.path.join(common, "share", "perl5")
    env["GXX_INCLUDE"] = os.path.join(common, "include", "c++")
    env["EPICS_BASE"] = os.path.join(option, "epics")
    env["EPICS_HOST_ARCH"] = "linux-x86_64"
    env["PYTHIA8DATA"] = os.path.join(location, "share", "Pythia8", "xmldoc")
    env["PANTHER_TABLE_DIR"] = os.path.join(location, "share", "belle_legacy", "panther")


def unsetup_externals(env, location):
    """Remove what setup_externals added."""
    for name in ("PATH", "LD_LIBRARY_PATH", "ROOT_INCLUDE_PATH"):
        entries = env.get(name, "").split(":")
        env[name] = ":".join(e for e in entries if e and not e.startswith(location))
    for name in ("ROOTSYS", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_GUI_LIB_DIR", "GITPERLLIB",
                 "GXX_INCLUDE", "EPICS_BASE", "EPICS_HOST_ARCH", "PYTHIA8DATA",
                 "PANTHER_TABLE_DIR"):
        env.pop(name, None)


def check_externals(env, location):
    """Raise when the externals' Python is not usable."""
    python = os.path.join(location, env.get("BELLE2_ARCH", "Linux_x86_64"), "common", "bin",
                          "python3")
    if not os.access(python, os.X_OK):
        raise RuntimeError(f"{python} is missing")
