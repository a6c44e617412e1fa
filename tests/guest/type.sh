# shellcheck shell=sh
# Sourced at the top of each demo session in the test VM (tests/guest/guest-run):
# __type CMD prints the prompt ($RG_PROMPT) and "types" CMD, a key at a
# time, unless RG_FAST=1 (the drift check in tests/run). Busybox has usleep;
# elsewhere sleep takes fractions.
__nap() { if command -v usleep >/dev/null; then usleep "$1"; else sleep "$(echo "$1" | awk '{print $1 / 1000000}')"; fi; }
__type() {
    printf '%s' "$RG_PROMPT"
    if [ "$RG_FAST" = 1 ]; then
        printf '%s\n' "$1"
        return
    fi
    __nap 1000000
    s=$1
    while [ -n "$s" ]; do
        rest=${s#?}
        printf '%s' "${s%"$rest"}"
        s=$rest
        __nap 35000
    done
    __nap 300000
    printf '\n'
}
