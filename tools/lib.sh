# shellcheck shell=bash
# Shared helpers for the scripts in tools/ and tests/. Source, don't run.
#
# Everything expensive lives in one cache outside the checkout:
#   $RUSTGUESS_CACHE            (default ~/.cache/rustguess)
#   ├── sid/                    Debian sid chroot: rustc, bindgen, gcc, QEMU, busybox
#   │   ├── .rustguess-ready    written last; lists the versions the chroot holds
#   │   └── usr/src/kdir-<kver>/  kernel tree after `make modules_prepare`
#   └── *.partial               an interrupted build; deleted and redone, never trusted

set -euo pipefail

RG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RG_CACHE=${RUSTGUESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rustguess}
RG_ROOT=$RG_CACHE/sid
RG_MIRROR=${RUSTGUESS_MIRROR:-http://deb.debian.org/debian}
RG_START=$(date +%s)

# step "message": a progress line stamped with the seconds since the script began.
step() { printf '[%4ss] %s\n' "$(( $(date +%s) - RG_START ))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Root is needed for debootstrap, chroot and mount. Re-run the caller under sudo if needed.
need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "run as root (sudo not found)"
        # Keep the caller's environment and PATH (cargo, node), which sudo's
        # secure_path would otherwise replace.
        exec sudo -E env "PATH=$PATH" "$0" "$@"
    fi
}

# in_chroot ROOT CMD...: run CMD inside the chroot in a private mount namespace.
# The namespace dies with the command, so an interrupted run leaves no mounts
# behind. The chroot gets its own /dev (never a bind of the host's: package
# scripts in sid would change the host's device permissions) and the checkout
# at /src.
in_chroot() {
    local root=$1; shift
    unshare --mount --propagation private -- /bin/bash -euc '
        root=$1; top=$2; shift 2
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
        exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
    ' in_chroot "$root" "$RG_TOP" "$@"
}

# sid CMD...: run CMD in the ready chroot, in /src (the checkout).
sid() { in_chroot "$RG_ROOT" /bin/sh -c 'cd /src && exec "$@"' sid "$@"; }

# Set up (or reuse) the toolchain quietly, showing its log only on failure,
# then load the versions; RUSTC_SHORT is e.g. "rustc 1.97.1".
setup_quietly() {
    mkdir -p "$RG_CACHE"
    "$RG_TOP/tools/setup" >"$RG_CACHE/setup.log" 2>&1 || { cat "$RG_CACHE/setup.log"; die "tools/setup failed"; }
    load_versions
}

# Versions recorded by tools/setup in the ready chroot.
load_versions() {
    [ -f "$RG_ROOT/.rustguess-ready" ] || die "toolchain not set up: run tools/setup"
    # shellcheck disable=SC1091
    . "$RG_ROOT/.rustguess-ready"
    RUSTC_SHORT=$(echo "$RUSTC_VERSION" | cut -d' ' -f1-2)
}

# build_module DIR: the reader's `make -C DIR`, pointed at the prepared tree
# and the kernel's own compiler, with Rust warnings as errors.
build_module() {
    sid make -C "$1" KDIR="$KDIR" CC="$KCC" KRUSTFLAGS=-Dwarnings
}

# The in-guest test program, built static with the chroot's cargo (std only).
RG_RGTEST=$RG_ROOT/var/cache/rgtest/release/rgtest
build_rgtest() {
    sid sh -c 'cd tests/guest && CARGO_HOME=/var/cache/cargo CARGO_TARGET_DIR=/var/cache/rgtest \
        RUSTFLAGS="-C target-feature=+crt-static -D warnings -A linker-messages" \
        cargo build --release --offline --quiet'
}

# build_sabotaged NAME OUT: the finished module with tests/sabotage/NAME.patch
# applied, built (warnings allowed) into OUT/NAME/rustguess.ko.
build_sabotaged() {
    local name=$1 out=$2 src=$2/src-$1
    rm -rf "$src"; mkdir -p "$src" "$out/$name"
    cp -r "$RG_TOP/module" "$src/module"
    rm -rf "$src/module/steps"
    patch -s -p1 -d "$src" <"$RG_TOP/tests/sabotage/$name.patch" || return 1
    sid make -C "${src#"$RG_TOP"/}/module" KDIR="$KDIR" CC="$KCC" >/dev/null 2>&1 || return 1
    cp "$src/module/rustguess.ko" "$out/$name/"
}

# stage_name DIR: the name a module directory from tests/stages has in the VM.
stage_name() {
    if [ "$1" = module ]; then echo final; else basename "$1"; fi
}
