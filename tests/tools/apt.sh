# shellcheck shell=bash
# Sourced by tests/tools/install-*.sh: Debian packages for the tests, installed one checked way.
#
# apt_install SPEC...  with SPEC  NAME>=VERSION  (a floor, what the install scripts use: the candidate
# is installed, then its version checked; Debian's archives keep only the newest build of a package
# in a suite, so an exact pin rots at the next point release or security update) or  NAME=VERSION  (an
# exact pin, for a one-off: a pin the archive has dropped is said to be so, naming the caller). Returns 1, saying why, where it cannot install (not root, no
# apt-get, offline, a dropped pin): the tests that need the package then skip, listed at the end of
# pytest's output, and fail the run under CI=true (tests/support/skipguard.py).

warn() { echo "warning: $*" >&2; }

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        warn "not root with apt-get: cannot install $* (sudo apt-get install ${*%%[=>]*})"
        return 1
    fi
    apt-get -o DPkg::Lock::Timeout=300 update -qq || { warn "apt-get update failed: cannot install $*"; return 1; }
    local spec name version exact=() floors=()
    for spec in "$@"; do
        if [[ $spec == *">="* ]]; then
            floors+=("$spec"); exact+=("${spec%%>=*}")
        else
            name=${spec%%=*} version=${spec#*=}
            if ! apt-cache madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$version"; then
                warn "the archive no longer keeps $name $version: update the pin in ${0##*/} (apt-cache madison $name)"
                return 1
            fi
            exact+=("$spec")
        fi
    done
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${exact[@]}" >/dev/null ||
        { warn "apt-get install ${exact[*]} failed"; return 1; }
    for spec in "${floors[@]}"; do
        name=${spec%%>=*} version=${spec#*>=}
        local installed
        installed=$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null)
        if ! dpkg --compare-versions "$installed" ge "$version"; then
            warn "$name $installed is older than $version, which the tests were written against"
            return 1
        fi
    done
}

# found COMMAND: whether COMMAND is on PATH or in the sbin folders (nginx lives in /usr/sbin).
found() { PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v "$1" >/dev/null; }
