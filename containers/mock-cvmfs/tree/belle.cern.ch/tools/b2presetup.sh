# b2env MOCK CVMFS stand-in (not Belle II software): CVMFS pre-setup hook.
# Chooses the OS software tree from /etc/os-release unless VO_BELLE2_SW_DIR is already set.
if [ -z "${VO_BELLE2_SW_DIR:-}" ]; then
    _b2_os=$("$BELLE2_TOOLS/b2install-print-os" | tr -d ' ')
    VO_BELLE2_SW_DIR="$(dirname "$BELLE2_TOOLS")/$_b2_os"
    export VO_BELLE2_SW_DIR
    unset _b2_os
fi
