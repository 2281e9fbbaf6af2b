# Sourced by the scripts in this folder: installs missing Debian packages.
#
# need_packages PKG...   installs those not yet installed (apt-get, as root),
#                        or, when not root, prints the exact command and fails.

need_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "libcoro: missing Debian packages. Install them with:" >&2
        echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        return 1
    fi
    echo "libcoro: installing ${missing[*]}" >&2
    if [ -z "${LIBCORO_APT_UPDATED:-}" ]; then
        apt-get update -qq >&2 || return 1
        export LIBCORO_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The packages every build needs.
BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config)

# What the test suite needs beyond a build.
# (g++ builds the C++ tests: tests/test_cxx_exceptions.cpp, tests/test_cxx_cancel.cpp.)
TEST_PACKAGES=(libcmocka-dev python3 gdb valgrind g++)

# The peers the benchmarks compare libcoro with.
BENCH_PACKAGES=(libboost-context-dev libpcl1-dev valgrind gnuplot-nox)
