# shellcheck shell=bash disable=SC2154  # out, primary: from tests/sh
# The harness's checks that are shell work: builds in the chroots, scans of
# the modules, sabotaged boots and the transcripts they are compared with.
# tests/run (tests/harness/) runs each as a check through tests/sh, which
# sources this with tools/lib.sh, tests/lint, tests/book-checks and
# demos/lib.sh; a function's output is the check's log, and its status the
# verdict.

# build_stages TARGET: build every stage in tests/stages for the loaded
# target, as build_clean does, two at a time (a module build keeps one core
# busy): into $out/TARGET/build/NAME, with its output in NAME.out and
# "STATUS SECONDS" in NAME.result; build_result reads them, one check each.
build_stages() {
    local dir args name
    mkdir -p "$out/$1/build"
    while read -r dir _ args; do
        case $dir in ""|"#"*) continue ;; esac
        # shellcheck disable=SC2086  # MAKE_ARGs, one word each
        name=$(stage_name "$dir" $args)
        while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
        (
            rc=0 t0=$SECONDS
            # shellcheck disable=SC2086
            build_clean "$dir" "$out/$1/build/$name" $args >"$out/$1/build/$name.out" 2>&1 || rc=$?
            echo "$rc $((SECONDS - t0))" >"$out/$1/build/$name.result"
        ) &
    done <"$RG_TOP/tests/stages"
    wait
}
# build_result BUILD: what build_stages left for one build: its output, and
# its status.
build_result() {
    local rc=1 secs='?'
    cat "$1.out" 2>/dev/null
    [ -f "$1.result" ] && read -r rc secs <"$1.result"
    echo "(built in ${secs}s)"
    return "$rc"
}

# update_transcript NEW NAME: with RUSTGUESS_UPDATE_TRANSCRIPTS=1 (tools/refresh
# sets it), NEW becomes demos/transcripts/NAME, so the check after it passes.
update_transcript() {
    [ "${RUSTGUESS_UPDATE_TRANSCRIPTS:-0}" = 1 ] || return 0
    cmp -s "$1" "$RG_TOP/demos/transcripts/$2" || { cp "$1" "$RG_TOP/demos/transcripts/$2"; echo "wrote demos/transcripts/$2"; }
}

# kunit_transcript CONSOLE OUT: the finished module's KUnit run, as the
# guest saw it in the kernel log, written to OUT; it must be what the book
# shows (tools/refresh copies a new one into place).
kunit_transcript() {
    { echo "# rustguess test VM: $TITLE, Linux $KVER, module built with $RUSTC_SHORT"
      echo "# The kernel log after insmod rustguess.ko (the finished module):"
      sed -n '/^# stage final: /,/^# stage /s/^# ktap: //p' "$1"; } >"$2"
    [ "$(wc -l <"$2")" -gt 5 ] || { echo "no KTAP for the finished module in $1"; return 1; }
    update_transcript "$2" kunit.txt
    diff -u "$RG_TOP/demos/transcripts/kunit.txt" "$2" ||
        { echo "the KUnit output changed: run tools/refresh (or cp ${2#"$RG_TOP"/} demos/transcripts/kunit.txt)"; return 1; }
}


# reveal_scan KO: REVEAL's strings (its command and reply) and the symbols
# named after it in the module KO, one a line. It fails, saying why, if KO
# is missing or `strings` or `nm` cannot read it: no answer is not "none".
reveal_scan() {
    local ko=/src/${1#"$RG_TOP"/} text syms
    [ -s "$1" ] || { echo "${1#"$RG_TOP"/} is missing (or empty): nothing to scan" >&2; return 1; }
    text=$(in_target strings -a "$ko") && [ -n "$text" ] ||
        { echo "strings could not read ${1#"$RG_TOP"/}" >&2; return 1; }
    syms=$(in_target nm "$ko") && [ -n "$syms" ] ||
        { echo "nm could not read ${1#"$RG_TOP"/}" >&2; return 1; }
    # (Case matters: the snapshot's own directory, 09-reveal, is in the
    # module's file paths.)
    grep -E 'REVEAL|The secret is' <<<"$text" || true
    grep -i 'reveal' <<<"$syms" || true
}
# reveal_absent KO: the module has none of REVEAL's strings and no symbol
# named after it. Status 1: it has; 2: it could not be scanned.
reveal_absent() {
    local found
    found=$(reveal_scan "$1") || return 2
    [ -z "$found" ] || { printf '%s has REVEAL in it:\n%s\n' "${1#"$RG_TOP"/}" "$found"; return 1; }
}
# reveal_only_in_debug BUILDS: the release builds of the snapshots with REVEAL
# have none of it, and their debug builds have it (so the check can see it).
reveal_only_in_debug() {
    local n found
    for n in 09-reveal 10-debugfs; do
        reveal_absent "$1/$n/rustguess.ko" || return 1
        echo "$n: release build has no REVEAL"
        found=$(reveal_scan "$1/$n-debug/rustguess.ko") || return 1
        [ -n "$found" ] || { echo "$n-debug: no REVEAL in the debug build"; return 1; }
        echo "$n-debug: debug build has it"
    done
}


# Each sabotage must make a specific, named check fail.
selftest() {
    local sab=$out/sabotage
    rm -rf "$sab"; mkdir -p "$sab"
    : >"$sab/plan"
    local p
    for p in wrong-hint unbounded-write; do
        build_sabotaged "$p" "$sab" || return 1
        echo "$p game-short" >>"$sab/plan"
    done
    # Part II's, each with the one suite that must catch it.
    build_sabotaged history-no-cap "$sab" module/steps/10-debugfs || return 1
    echo "history-no-cap selftest-history" >>"$sab/plan"
    build_sabotaged solo-shared-secret "$sab" module/steps/10-debugfs || return 1
    echo "solo-shared-secret selftest-solo" >>"$sab/plan"
    # Parts III and IV's.
    build_sabotaged queue-no-size-bound "$sab" module/rustqueue || return 1
    echo "queue-no-size-bound selftest-queue" >>"$sab/plan"
    build_sabotaged counter-not-atomic "$sab" module/rustcounter || return 1
    echo "counter-not-atomic selftest-counter" >>"$sab/plan"
    build_sabotaged c-twin-wrong-hint "$sab" module/c-twin || return 1
    echo "c-twin-wrong-hint game-short" >>"$sab/plan"
    # The debugfs state file without the module owner (issue: rmmod while it is open).
    build_sabotaged debugfs-no-owner "$sab" module/steps/10-debugfs || return 1
    echo "debugfs-no-owner selftest-debugfs" >>"$sab/plan"
    "$RG_TOP/tools/vm" "$primary" "$sab" && { echo "the sabotaged modules passed"; return 1; }
    grep -E '^not ok .* wrong-hint/transcript' "$sab/console.log" || { echo "wrong hint not caught"; return 1; }
    grep -E '^not ok .* unbounded-write/kernel-log-clean' "$sab/console.log" || { echo "WARNING not caught"; return 1; }
    grep -A3 'unbounded-write/kernel-log-clean' "$sab/console.log" | grep 'WARNING:' || { echo "WARNING line not shown"; return 1; }
}
# sabotage_caught NAME TEST: the self-test VM's TEST failed on module NAME.
sabotage_caught() {
    grep -E -A3 "^not ok [0-9]+ - $1/$2 " "$out/sabotage/console.log" ||
        { echo "$1 was not caught by $2"; return 1; }
}
# A release build with REVEAL compiled in must fail the strings check.
selftest_reveal() {
    local sab=$out/sabotage-reveal
    build_sabotaged release-with-reveal "$sab" module/steps/10-debugfs || return 1
    local rc=0
    reveal_absent "$sab/release-with-reveal/rustguess.ko" || rc=$?
    [ "$rc" = 1 ] || { echo "the check did not find REVEAL in it (status $rc)"; return 1; }
}
selftest_hang() {
    local hang=$out/hang
    mkdir -p "$hang"; : >"$hang/plan"
    local rc=0
    RUSTGUESS_TIMEOUT=8 "$RG_TOP/tools/vm" "$primary" "$hang" hang || rc=$?
    [ "$rc" = 124 ] || { echo "expected the timeout (exit 124), got $rc"; return 1; }
}
# selftest_debug TARGET: on a debug kernel, one boot with four broken
# modules, each a bug that a distribution kernel lets pass: two locks taken
# in opposite orders (lockdep), a use after free, a leak, and a copy from
# user space under a spinlock.
selftest_debug() {
    local sab=$out/$1/sabotage
    rm -rf "$sab"; mkdir -p "$sab"; : >"$sab/plan"
    build_sabotaged kasan-use-after-free "$sab" module/steps/10-debugfs || return 1
    build_sabotaged kmemleak-history-not-freed "$sab" module/steps/10-debugfs || return 1
    build_sabotaged sleep-under-spinlock "$sab" || return 1
    build_sabotaged lockdep-queue-inversion "$sab" module/rustqueue || return 1
    # Lockdep first: KASAN's report taints the kernel, which turns lockdep off.
    { echo "lockdep-queue-inversion selftest-lockdep"
      printf '%s selftest-bugs\n' kasan-use-after-free kmemleak-history-not-freed sleep-under-spinlock; } >"$sab/plan"
    RUSTGUESS_TIMEOUT=${VM_TIMEOUT:-300} "$RG_TOP/tools/vm" "$1" "$sab" >"$sab/vm.log" 2>&1 &&
        { echo "the sabotaged modules passed"; return 1; }
    grep -E '^(ok|not ok) ' "$sab/console.log"
}
# bugfinder_transcript TARGET: the three reports of that boot, as the book
# shows them (demos/transcripts/bug-finders.txt): each failed check and what
# it showed. Compared with addresses, offsets and
# process numbers masked, which change from boot to boot.
bugfinder_transcript() {
    local now=$out/$1/bug-finders.txt name test
    {
        echo "# rustguess test VM: $TITLE, Linux $KVER, modules built with $RUSTC_SHORT"
        for name in kasan-use-after-free:kernel-log-clean kmemleak-history-not-freed:kmemleak-clean \
                sleep-under-spinlock:kernel-log-clean lockdep-queue-inversion:kernel-log-clean; do
            test=${name#*:} name=${name%%:*}
            echo
            awk -v pat="^not ok [0-9]+ - $name/$test " \
                '$0 ~ pat {p = 1; print; next} p && /^#   / {print; next} {p = 0}' "$out/$1/sabotage/console.log" |
                sed -E 's/^not ok [0-9]+ - /not ok - /; s/ # [0-9]+ ms$//; s/^#   /    /'
        done
    } >"$now"
    update_transcript "$now" bug-finders.txt
    mask() {
        sed -E 's/0x[0-9a-f]+/0x?/g; s/[0-9a-f]{12,}/?/g; s/(pid|PID|jiffies|crc)([:=]? *)[0-9a-f]+/\1\2?/g
                s/task ([a-z]+\/)?[0-9]+/task \1?/g; s/(held by [a-z]+)\/[0-9]+/\1\/?/g; s/\[ *[0-9.]+\]/[?]/g; s/^( +)([0-9a-f]{2} ){16}.*/\1(bytes)/' "$1"
    }
    diff -u <(mask "$RG_TOP/demos/transcripts/bug-finders.txt") <(mask "$now") ||
        { echo "the reports changed: run tools/refresh (or cp ${now#"$RG_TOP"/} demos/transcripts/bug-finders.txt)"; return 1; }
}
# debugfs_oops_transcript: the reader's reproduction on the module without the
# state file's owner, and the oops it ends with, as the debugfs chapter shows
# them (demos/transcripts/debugfs-oops.txt): the command, what it printed, and
# the report's telling lines (no register dumps). Compared with addresses and
# timestamps masked.
debugfs_oops_transcript() {
    local now=$out/debugfs-oops.txt
    {
        echo "# rustguess test VM: $TITLE, Linux $KVER, module built with $RUSTC_SHORT"
        echo "# 10-debugfs with its owner line deleted, as root:"
        awk '/^# exec 6</ {p = 1; sub(/^# /, "$ "); print; next}
             p && /---\[ end trace/ {print; exit}
             p' "$out/sabotage/console.log" |
            sed -E 's/^\[ *[0-9.]+\] //; s/ +$//' |
            grep -vE '^(Code:|RSP:|RAX:|RDX:|RBP:|R10:|R13:|FS:|CS:|CR2:|PKRU:|Hardware name:| \? |RIP: 0033)' || true
    } >"$now"
    grep -q 'full_proxy_release' "$now" || { cat "$now"; echo "no oops in full_proxy_release in the self-test's console"; return 1; }
    update_transcript "$now" debugfs-oops.txt
    # The CPU and the taint flags depend on what ran before in that boot.
    mask() { sed -E 's/[0-9a-f]{8,}/?/g; s/^PGD .*/PGD ?/; s/(CPU|PID|Comm): [^ ]+/\1: ?/g; s/Tainted: .*/Tainted: ?/' "$1"; }
    diff -u <(mask "$RG_TOP/demos/transcripts/debugfs-oops.txt") <(mask "$now") ||
        { echo "the report changed: run tools/refresh (or cp ${now#"$RG_TOP"/} demos/transcripts/debugfs-oops.txt)"; return 1; }
}
# debug_caught TARGET NAME TEST REPORT: in that boot, module NAME failed TEST
# with a line containing REPORT (the bug finder's own words), shown here.
debug_caught() {
    grep -E -A24 "^not ok [0-9]+ - $2/$3 " "$out/$1/sabotage/console.log" | grep -m1 -F -- "$4" ||
        { echo "$2 did not fail $3 with a line containing '$4'"; return 1; }
}

# selftest_compat PATCH ERROR: each kernel difference the module handles
# must matter. Without its cfg (PATCH removes it from Kbuild) the build for
# the loaded target fails, with ERROR.
selftest_compat() {
    local sab=$out/$T_NAME/compat
    build_sabotaged "$1" "$sab" && { echo "it built without the handling that $1 removes"; return 1; }
    grep -F -- "$2" "$sab/src-$1/build.log"
}

# The REVEAL check fails on a missing .ko, and on one that nm cannot read,
# instead of finding no REVEAL in nothing.
selftest_reveal_missing() {
    local d rc=0 log
    d=$(selftest_offline_dir reveal)
    mkdir -p "$d"/{09-reveal,09-reveal-debug,10-debugfs,10-debugfs-debug}
    log=$(reveal_only_in_debug "$d" 2>&1) && { echo "passed with no .ko at all: $log"; return 1; }
    echo "no .ko: $log"
    grep -q 'is missing' <<<"$log" || { echo "it did not say the .ko is missing"; return 1; }
    echo "Not a module, and no R-E-V-E-A-L in it." >"$d/09-reveal/rustguess.ko"
    log=$(reveal_only_in_debug "$d" 2>&1) && { echo "passed a .ko that nm cannot read: $log"; return 1; }
    echo "not an ELF file: $log"
    grep -q 'nm could not read' <<<"$log" || { echo "it did not say nm failed"; return 1; }
    reveal_absent "$d/09-reveal/rustguess.ko" 2>/dev/null || rc=$?
    [ "$rc" = 2 ] || { echo "reveal_absent on an unreadable .ko: status $rc, not 2"; return 1; }
}

# selftest_offline_dir NAME: an empty directory for an offline self-test.
selftest_offline_dir() { rm -rf "$out/selftest-offline/$1"; mkdir -p "$out/selftest-offline/$1"; echo "$out/selftest-offline/$1"; }

# replay_casts TARGET VM: replay the book's sessions on the primary target,
# in its own userland as the reader has it, on the modules of its main boot
# (in VM) and the assignment's unbounded write if it was built there, and
# compare them with the casts: TAP with a plan in $out/casts.log. Its status:
# the demo guest's, else compare_casts'.
replay_casts() {
    local t=$1 vm=$2 demo=$out/$1/demo sessions plan rc=0 crc=0
    cp -r "$vm"/* "$demo/"
    rm -f "$demo/console.log"
    [ ! -d "$demo/unbounded-write" ] || echo "unbounded-write -" >>"$demo/plan"
    stage_sessions "$demo"
    sessions=$(session_names)
    RUSTGUESS_TIMEOUT=${RUSTGUESS_TIMEOUT:-300} "$RG_TOP/tools/vm" "$t" "$demo" demo "rg.demos=$sessions rg.fast" \
        >"$out/$t/demo.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || tail -n 5 "$out/$t/demo.log"
    # compare_casts has one result per session, and one for the test-run
    # cast when it compares that: its plan, from what it is given.
    plan=$(echo "$sessions" | tr , '\n' | grep -c .)
    [ -n "${RUSTGUESS_CASTS_SKIP_TEST_RUN:-}" ] || [ ! -f "$RG_TOP/demos/casts/test-run.cast" ] || plan=$((plan + 1))
    compare_casts "$demo/console.log" "$vm/console.log" "$demo" >"$out/casts.tap" 2>&1 || crc=$?
    # (If compare_casts prints a plan of its own one day, that one counts.)
    { grep -qE '^1\.\.[0-9]+' "$out/casts.tap" || echo "1..$plan"; cat "$out/casts.tap"; } >"$out/casts.log"
    [ "$rc" != 0 ] || rc=$crc
    return "$rc"
}
