# shellcheck shell=bash
# The demo sessions' shared half, sourced by demos/record (which records
# them), tools/refresh (which also records the test run) and tests/run
# (which replays them and compares): neither of those calls the other.
# Needs tools/lib.sh, with the primary target loaded.
ASCIINEMA_VERSION=2.4.0
demos=$RG_TOP/demos

# The sessions, ready for the guest, in STAGE/demos.
stage_sessions() {
    local dir=$1/demos s cmd
    mkdir -p "$dir"
    cp "$RG_TOP/tests/guest/guest-run" "$RG_TOP/tests/guest/type.sh" "$dir/"
    echo "$RUSTC_SHORT" >"$dir/rustc-version"
    for s in "$demos"/sessions/*.sh; do
        cp "$s" "$dir/"
        # NAME.run: each command preceded by a call that "types" it.
        while IFS= read -r cmd; do
            case $cmd in ""|"#"*) continue ;; esac
            printf "__type '%s'\n%s\n" "${cmd//\'/\'\\\'\'}" "$cmd"
        done <"$s" >"$dir/$(basename "$s" .sh).run"
    done
}

session_names() {
    local s names=()
    for s in "$demos"/sessions/*.sh; do names+=("$(basename "$s" .sh)"); done
    (IFS=,; echo "${names[*]}")
}

# The asciinema recorder, pinned, in a venv in the cache.
asciinema() {
    local venv=$RG_CACHE/asciinema-$ASCIINEMA_VERSION
    if [ ! -x "$venv/bin/asciinema" ]; then
        step "installing asciinema $ASCIINEMA_VERSION (PyPI) into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" && "$venv/bin/pip" install -q "asciinema==$ASCIINEMA_VERSION" ||
            die "cannot install asciinema"
    fi
    "$venv/bin/asciinema" "$@"
}

# rec NAME CMD: record CMD into a raw cast, then cut it to the session.
rec() {
    local name=$1 cmd=$2 raw=$RG_TOP/target/demos/$1.raw.cast
    local title="rustguess: $name ($TITLE, Linux $KVER, $RUSTC_SHORT)"
    step "recording $name"
    mkdir -p "${raw%/*}" "$demos/casts" "$demos/transcripts"
    asciinema rec --overwrite -q --idle-time-limit 1 --cols 100 --rows 30 -c "$cmd" "$raw" </dev/null
    python3 "$demos/cast.py" trim "$raw" "$name" "$title" >"$demos/casts/$name.cast"
    python3 "$demos/cast.py" text "$demos/casts/$name.cast" >"$demos/transcripts/$name.txt"
    echo "  demos/casts/$name.cast: $(wc -c <"$demos/casts/$name.cast") bytes"
    if [ "$name" = first-game ]; then
        python3 "$demos/cast.py" readme "$RG_TOP/README.md" first-game "$demos/transcripts/first-game.txt"
    fi
}

# compare_casts LOG [TESTLOG] WORK: each session's text in a demo VM's console
# LOG against its cast (TAP), and the test-run cast's guest results against
# a test VM's TESTLOG; scratch files go to WORK/now.
compare_casts() {
    local now=$3/now n=0 bad=0 name
    rm -rf "$now"; mkdir -p "$now"
    python3 "$demos/cast.py" split "$1" "$now"
    for name in $(session_names | tr , ' '); do
        n=$((n + 1))
        if [ ! -f "$demos/casts/$name.cast" ]; then
            echo "not ok $n - cast $name"; echo "#   demos/casts/$name.cast is missing: run demos/record $name"
            bad=1; continue
        fi
        python3 "$demos/cast.py" text "$demos/casts/$name.cast" >"$now/$name.cast.txt"
        if [ -f "$now/$name.txt" ] && diff -u <(python3 "$demos/cast.py" norm "$now/$name.cast.txt") \
                <(python3 "$demos/cast.py" norm "$now/$name.txt") >"$now/$name.diff"; then
            echo "ok $n - cast $name matches the module"
        else
            echo "not ok $n - cast $name: the module now prints something else"
            echo "#   re-record with: demos/record $name"
            [ -f "$now/$name.txt" ] || echo "#   the session did not run in this boot"
            [ -f "$now/$name.diff" ] && sed 's/^/#   /' "$now/$name.diff" | head -n 20
            bad=1
        fi
    done
    # The test-run cast is recorded on the host; its guest results must
    # still be the ones this boot printed.
    if [ -n "${RUSTGUESS_CASTS_SKIP_TEST_RUN:-}" ] || [ -z "${2:-}" ]; then
        echo "# test-run: not compared"
    elif [ -f "$demos/casts/test-run.cast" ]; then
        n=$((n + 1))
        local tap='^(ok|not ok) [0-9]+ - '
        if diff -u <(python3 "$demos/cast.py" text "$demos/casts/test-run.cast" | grep -E "$tap" |
                         python3 "$demos/cast.py" norm /dev/stdin) \
                   <(grep -E "$tap" "$2" | python3 "$demos/cast.py" norm /dev/stdin) >"$now/test-run.diff"; then
            echo "ok $n - cast test-run lists the guest tests that ran now"
        else
            echo "not ok $n - cast test-run: the guest tests have changed"
            echo "#   re-record with: tools/refresh --casts test-run"
            sed 's/^/#   /' "$now/test-run.diff" | head -n 20
            bad=1
        fi
    fi
    return $bad
}
