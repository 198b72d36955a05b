# b2env MOCK CVMFS stand-in (not Belle II software): sh-family set-up of the Belle II tools.
# Sourced by b2setup; see MOCK-CVMFS.txt for what this stand-in covers.

BELLE2_TOOLS=$(cd -P "${_b2_tools_dir:-$(dirname "$0")}" && pwd -P)
export BELLE2_TOOLS
unset _b2_tools_dir

for _b2_dir in "$PWD" "$HOME" "$BELLE2_TOOLS" "${BELLE2_CONFIG_DIR:-}" /etc /sw/belle2; do
    if [ -n "$_b2_dir" ] && [ -f "$_b2_dir/b2presetup.sh" ]; then
        # shellcheck disable=SC1091
        . "$_b2_dir/b2presetup.sh"
        break
    fi
done

case ":${PATH}:" in
    *":$BELLE2_TOOLS:"*) ;;
    *) PATH="$BELLE2_TOOLS:$PATH" ;;
esac
export PATH
if [ -n "${PYTHONPATH:-}" ] && [ "$PYTHONPATH" != "$BELLE2_TOOLS" ]; then
    echo "Warning: PYTHONPATH was '$PYTHONPATH'; it is reset to $BELLE2_TOOLS" >&2
fi
PYTHONPATH=$BELLE2_TOOLS
export PYTHONPATH

if [ -z "${VO_BELLE2_SW_DIR:-}" ]; then
    VO_BELLE2_SW_DIR=$(dirname "$BELLE2_TOOLS")
fi
export VO_BELLE2_SW_DIR
export BELLE2_EXTERNALS_TOPDIR=${BELLE2_EXTERNALS_TOPDIR:-$VO_BELLE2_SW_DIR/externals}

BELLE2_ARCH="$(uname -s)_$(uname -m)"
case "${BELLE2_OPTION:-}" in
    opt | debug | clang | intel) ;;
    *) BELLE2_OPTION=opt ;;
esac
case "${BELLE2_EXTERNALS_OPTION:-}" in
    opt | debug | intel) ;;
    *) BELLE2_EXTERNALS_OPTION=opt ;;
esac
export BELLE2_ARCH BELLE2_OPTION BELLE2_EXTERNALS_OPTION
export BELLE2_SUBDIR="$BELLE2_ARCH/$BELLE2_OPTION"
export BELLE2_EXTERNALS_SUBDIR="$BELLE2_ARCH/$BELLE2_EXTERNALS_OPTION"

BELLE2_USER=${USER:-$(id -nu 2>/dev/null || echo unknown)}
export BELLE2_USER
# Mock: the repository locations have the real shape but hosts that cannot resolve.
if [ "${BELLE2_GIT_ACCESS:-}" = "http" ]; then
    export BELLE2_GIT_SERVER=https://git.belle2.invalid
else
    export BELLE2_GIT_SERVER=git@git.belle2.invalid:
fi
export BELLE2_SOFTWARE_REPOSITORY="${BELLE2_GIT_SERVER}belle2/software/basf2.git"
export BELLE2_EXTERNALS_REPOSITORY="${BELLE2_GIT_SERVER}belle2/software/externals.git"
export BELLE2_VERSIONING_REPOSITORY="${BELLE2_GIT_SERVER}belle2/software/versioning.git"
export BELLE2_ANALYSES_PROJECT=belle2/analyses
export BELLE2_DOWNLOAD="--tries=3 https://software.belle2.invalid/download"
export BELLE2_EXCLUDE_PACKAGES=daq

b2setup() {
    _b2_commands=$(b2anypython "$BELLE2_TOOLS/b2setup.py" "$@") || _b2_commands="return 1"
    eval "$_b2_commands"
}

# Hyphenated function names are bash/zsh only; a POSIX sh (dash) gets b2setup alone.
if [ -n "${BASH_VERSION:-}${ZSH_VERSION:-}" ]; then
    eval '
b2code-option() {
    case "${1:-}" in
        opt | debug | clang | intel) ;;
        *) echo "Error: unknown option '\''${1:-}'\'' (use opt, debug, clang or intel)" >&2; return 1 ;;
    esac
    export BELLE2_OPTION=$1
    export BELLE2_SUBDIR="$BELLE2_ARCH/$BELLE2_OPTION"
    if [ -n "${BELLE2_RELEASE:-}" ]; then b2setup "$BELLE2_RELEASE"; fi
}

b2code-option-externals() {
    case "${1:-}" in
        opt | debug | intel) ;;
        *) echo "Error: unknown externals option '\''${1:-}'\'' (use opt, debug or intel)" >&2; return 1 ;;
    esac
    export BELLE2_EXTERNALS_OPTION=$1
    export BELLE2_EXTERNALS_SUBDIR="$BELLE2_ARCH/$BELLE2_EXTERNALS_OPTION"
    if [ -n "${BELLE2_RELEASE:-}" ]; then b2setup "$BELLE2_RELEASE"; fi
}

b2setup-externals() {
    _b2_commands=$(b2anypython "$BELLE2_TOOLS/b2setup.py" --externals-only "$@") \
        || _b2_commands="return 1"
    eval "$_b2_commands"
}
    '
fi

echo "Belle II software tools set up at: $BELLE2_TOOLS"

if [ -z "${BELLE2_NO_TOOLS_CHECK:-}" ]; then
    # The real tools ask their git server here; the stand-in never touches the network and
    # reports what an offline machine reports.
    echo "Warning: could not check whether the Belle II software tools are up to date" \
        "(mock CVMFS: no network access). Set BELLE2_NO_TOOLS_CHECK=1 to skip this check." >&2
fi

case "${LC_ALL:-${LC_CTYPE:-${LANG:-}}}" in
    *UTF-8* | *utf-8* | *UTF8* | *utf8*) ;;
    *) echo "Warning: the preferred locale encoding is not UTF-8;" \
        "set LANG=C.UTF-8 (or another UTF-8 locale)." >&2 ;;
esac

for _b2_dir in "$PWD" "$HOME" "$BELLE2_TOOLS" "${BELLE2_CONFIG_DIR:-}" /etc /sw/belle2; do
    if [ -n "$_b2_dir" ] && [ -f "$_b2_dir/b2postsetup.sh" ]; then
        # shellcheck disable=SC1091
        . "$_b2_dir/b2postsetup.sh"
        break
    fi
done
unset _b2_dir

if [ $# -eq 1 ] && [ -z "$1" ]; then
    set --  # '""' stops a sourcing script's own arguments from being taken as a release
fi
if [ $# -gt 0 ] || [ -f .release ] || [ -f .analysis ] || [ -n "${MY_BELLE2_DIR:-}" ] \
    || [ -n "${MY_BELLE2_RELEASE:-}" ]; then
    b2setup "$@"
fi
