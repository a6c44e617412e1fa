# shellcheck shell=bash disable=SC2034  # a library: its variables are for the scripts that source it
# Shared helpers for the scripts in tools/ and tests/. Source, don't run.
#
# Everything expensive lives in one cache outside the checkout:
#   $RUSTGUESS_CACHE              (default ~/.cache/rustguess)
#   ├── harness/                  Debian stable chroot: QEMU, busybox, cargo (runs the VMs)
#   ├── targets/NAME -> NAME@KVER one chroot per kernel target (tests/targets/NAME.toml),
#   │   └── .rustguess-ready      written last: KVER, KDIR, rustc, vmlinuz, ...
#   └── *.partial                 an interrupted build; deleted and redone, never trusted

set -euo pipefail

RG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RG_CACHE=${RUSTGUESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rustguess}
RG_HARNESS=$RG_CACHE/harness
# Mirrors: empty means the distribution's default, which debootstrap and apt know.
RG_DEBIAN_MIRROR=${RUSTGUESS_DEBIAN_MIRROR:-}
RG_UBUNTU_MIRROR=${RUSTGUESS_UBUNTU_MIRROR:-}
RG_START=$(date +%s)

# step "message": a progress line stamped with the seconds since the script began.
step() { printf '[%4ss] %s\n' "$(( $(date +%s) - RG_START ))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Root is needed for debootstrap, chroot and mount. Re-run the caller under sudo if needed.
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "run as root (sudo not found)"
        # Keep the caller's environment and PATH (cargo, node), which sudo's
        # secure_path would otherwise replace, and the cache as resolved
        # here, from the caller's HOME: it stays ~/.cache/rustguess.
        exec sudo -E env "PATH=$PATH" "RUSTGUESS_CACHE=$RG_CACHE" "$0" "$@"
    fi
    root_home
    # Run through sudo: when the outermost script ends, whatever it made in
    # the checkout (target/, test-out/, casts, ...) goes back to the user
    # who ran it, so their own tools/serve or git can write there later.
    if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ] && [ -z "${RG_GIVE_BACK:-}" ]; then
        export RG_GIVE_BACK=$$
        trap give_back EXIT
    fi
}
# root_home: under sudo, root's own tools (cargo, npm, pip, ...) keep their
# caches and settings under root's HOME, not in the caller's (~/.cargo,
# ~/.npm, ~/.cache/pip would get files the caller cannot remove). The
# caller's cache, RG_CACHE, was resolved from the caller's HOME and stays
# where it is; the caller's rustup stays readable for the cargo on PATH.
root_home() {
    [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ] || return 0
    local home
    home=$(getent passwd 0 | cut -d: -f6)
    [ -n "$home" ] && [ "$HOME" != "$home" ] || return 0
    export RUSTGUESS_CACHE=$RG_CACHE
    if [ -z "${RUSTUP_HOME:-}" ] && [ -d "$HOME/.rustup" ]; then export RUSTUP_HOME=$HOME/.rustup; fi
    unset CARGO_HOME XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME \
        npm_config_cache NPM_CONFIG_CACHE npm_config_prefix NPM_CONFIG_PREFIX PIP_CACHE_DIR PYTHONUSERBASE
    export HOME=$home
}
give_back() {
    find "$RG_TOP" -xdev -uid 0 -exec chown -h "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" {} + 2>/dev/null || true
}

# in_chroot ROOT CMD...: run CMD inside the chroot in a private mount namespace.
# The namespace dies with the command, so an interrupted run leaves no mounts
# behind. The chroot gets its own /dev (never a bind of the host's: package
# scripts in sid would change the host's device permissions) and the checkout
# at /src.
in_chroot() {
    local root=$1; shift
    unshare --mount --uts --propagation private -- /bin/bash -euc '
        root=$1; top=$2; cache=$3; shift 3
        # The name a reader gave the VM: it shows in prompts, and sudo wants
        # to resolve it.
        hostname rustguess
        mount -t proc proc "$root/proc"
        mount -t tmpfs -o mode=755,size=16m devtmpfs "$root/dev"
        for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
            IFS=: read -r n ma mi <<<"$d"; mknod -m 666 "$root/dev/$n" c "$ma" "$mi"
        done
        [ -c /dev/kvm ] && mknod -m 660 "$root/dev/kvm" c 10 232
        mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/src"
        mount -t devpts -o newinstance,ptmxmode=666 devpts "$root/dev/pts"
        ln -s pts/ptmx "$root/dev/ptmx"
        mount -t tmpfs tmpfs "$root/dev/shm"
        mount --bind "$top" "$root/src"
        # The cache, for the harness to reach the targets (their root disks).
        mkdir -p "$root/rgcache"
        mount --bind "$cache" "$root/rgcache"
        exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
    ' in_chroot "$root" "$RG_TOP" "$RG_CACHE" "$@"
}

# harness CMD...: run CMD in the harness chroot (QEMU, busybox, cargo), in /src.
harness() { in_chroot "$RG_HARNESS" /bin/sh -c 'cd /src && exec "$@"' harness "$@"; }

# The kernel targets, one TOML file each in tests/targets/ (their keys:
# tests/harness/targets.py, which reads them for bash too). targets: the
# ones RUSTGUESS_TARGETS (space-separated names; "none": no kernel) picks,
# else all; the primary target comes first.
targets() { python3 "$RG_TOP/tests/harness/targets.py" --list; }
all_targets() { RUSTGUESS_TARGETS='' targets; }
primary_target() { python3 "$RG_TOP/tests/harness/targets.py" --primary; }
# source_target NAME: the target file's keys as shell variables (TITLE,
# DISTRO, ..., upper case; lists as words, COMPONENTS with commas).
source_target() {
    local vars
    vars=$(python3 "$RG_TOP/tests/harness/targets.py" "$1") || exit 1
    eval "$vars"
}

# load_target NAME: the target's description (source_target) and what
# tools/setup recorded for it: T_ROOT (its chroot), KVER, KDIR, KCC,
# RUSTC_VERSION, RUSTC_SHORT (e.g. "rustc 1.93.1"), BINDGEN_VERSION, VMLINUZ;
# ARCH is empty for an amd64 target (the host's), VM_STAGES empty to boot
# every stage.
load_target() {
    source_target "$1"
    T_ROOT=$RG_CACHE/targets/$T_NAME
    [ -f "$T_ROOT/.rustguess-ready" ] || die "target $T_NAME is not set up: run tools/setup $T_NAME"
    # shellcheck disable=SC1091
    . "$T_ROOT/.rustguess-ready"
    RUSTC_SHORT=$(echo "$RUSTC_VERSION" | cut -d' ' -f1-2)
}

# in_target CMD...: run CMD in the loaded target's chroot, in /src, as root.
# /usr/local/bin/uname there answers `uname -r` with the target's kernel, so
# `$(uname -r)` in the reader's commands means the kernel under test.
in_target() { in_chroot "$T_ROOT" /bin/sh -c 'cd /src && exec "$@"' in_target "$@"; }

# Set up (or reuse) the harness and the targets quietly, showing the log only
# on failure.
setup_quietly() {
    mkdir -p "$RG_CACHE"
    "$RG_TOP/tools/setup" "$@" >"$RG_CACHE/setup.log" 2>&1 || { cat "$RG_CACHE/setup.log"; die "tools/setup failed"; }
}

# build_module SRC OUT [MAKE_ARG...]: build the module source directory SRC
# (relative to the checkout) for the loaded target, as the reader does
# (`make`, plus any MAKE_ARGs), in a copy at OUT (inside the checkout), with
# Rust warnings as errors. Output: the build's own output; the .ko in OUT.
build_module() {
    local src=$1 out=$2; shift 2
    rm -rf "$out"; mkdir -p "$out"
    cp "$RG_TOP/$src"/Makefile "$RG_TOP/$src"/Kbuild "$out/"
    cp "$RG_TOP/$src"/*.rs "$out/" 2>/dev/null || cp "$RG_TOP/$src"/*.c "$out/"
    target_make "$out" KRUSTFLAGS=-Dwarnings "$@"
}

# target_make DIR [ARG...]: `make` in DIR (inside the checkout) in the loaded
# target's chroot, with the target's own arguments (KDIR, CC) if it has any.
target_make() {
    local dir=$1; shift
    # shellcheck disable=SC2086
    in_target sh -c 'cd "$1" && shift && exec make "$@"' make "${dir#"$RG_TOP"/}" $MAKE_ARGS "$@"
}

# build_clean SRC OUT [MAKE_ARG...]: build_module, and fail on any warning or
# error the target does not expect readers to see (its TOLERATE list).
build_clean() {
    build_module "$@" 2>&1 | tee "$2.log"
    [ "${PIPESTATUS[0]}" = 0 ] || return 1
    local bad
    bad=$(grep -Ei 'warning|error' "$2.log" | grep -Ev "${TOLERATE:-^$}" || true)
    [ -z "$bad" ] || { printf 'not expected in a clean build:\n%s\n' "$bad"; return 1; }
}

# The in-guest test program, built static with the harness's cargo (std only).
RG_RGTEST=$RG_HARNESS/var/cache/rgtest/release/rgtest
build_rgtest() {
    harness sh -c 'cd tests/guest && CARGO_HOME=/var/cache/cargo CARGO_TARGET_DIR=/var/cache/rgtest \
        RUSTFLAGS="-C target-feature=+crt-static -D warnings" \
        cargo build --release --offline --quiet'
}
# target_rgtest: the rgtest the loaded target's guest runs: the harness's
# (amd64), or for an arm64 target its own, from build_rgtest_cross.
target_rgtest() {
    case $ARCH in
        '') echo "$RG_RGTEST" ;;
        arm64) echo "$T_ROOT/var/cache/rgtest/aarch64-unknown-linux-gnu/release/rgtest" ;;
        *) die "$T_NAME: no rgtest for ARCH=$ARCH" ;;
    esac
}
# build_rgtest_cross: rgtest for the loaded arm64 target, in its chroot
# (sid's cargo, libstd-rust-dev:arm64 and the cross linker), static against
# glibc: Debian has no musl std for aarch64. glibc's static-link notes
# (getaddrinfo, getpwuid_r) come as rustc's linker_messages lint, which
# -D warnings does not reach; -A keeps the log clean.
build_rgtest_cross() {
    [ "$ARCH" = arm64 ] || die "$T_NAME: build_rgtest_cross is for arm64 targets"
    in_target sh -c 'cd tests/guest && CARGO_HOME=/var/cache/cargo CARGO_TARGET_DIR=/var/cache/rgtest \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        RUSTFLAGS="-C target-feature=+crt-static -D warnings -A linker-messages" \
        cargo build --release --offline --quiet --target aarch64-unknown-linux-gnu'
}

# build_sabotaged NAME OUT [DIR [MAKE_ARG...]]: module directory DIR (the
# finished Part I module if none) with tests/sabotage/NAME.patch applied, built
# for the loaded target (warnings allowed) into OUT/NAME/ (its .ko).
build_sabotaged() {
    local name=$1 out=$2 dir=${3:-module} src=$2/src-$1
    shift $(($# < 3 ? $# : 3))
    rm -rf "$src"; mkdir -p "$src/$dir" "$out/$name"
    cp "$RG_TOP/$dir"/{Makefile,Kbuild} "$src/$dir/"
    cp "$RG_TOP/$dir"/*.rs "$src/$dir/" 2>/dev/null || cp "$RG_TOP/$dir"/*.c "$src/$dir/"
    patch -s -p1 -d "$src" <"$RG_TOP/tests/sabotage/$name.patch" || return 1
    target_make "$src/$dir" "$@" >"$src/build.log" 2>&1 || { tail -n 20 "$src/build.log"; return 1; }
    cp "$src/$dir"/*.ko "$out/$name/"
}

# stage_name DIR [MAKE_ARG...]: the name a module build from tests/stages has
# in the VM: the directory's, with -debug for a DEBUG=1 build.
stage_name() {
    local name
    if [ "$1" = module ]; then name=final; else name=$(basename "$1"); fi
    case " ${*:2} " in *" DEBUG=1 "*) name=$name-debug ;; esac
    echo "$name"
}
