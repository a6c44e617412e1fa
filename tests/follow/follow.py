#!/usr/bin/env python3
"""The follow-along test's reading and judging half (tests/follow/run drives it).

It reads the book as rendered by mdBook's markdown renderer (includes resolved),
chapter by chapter in SUMMARY order, and turns what a reader is told to do into
steps:

- a code block right after `<summary>File: <code>~/rustguess/NAME</code>` is
  a file to create, with exactly that text;
- a ```console block holds commands (lines after a `$ ` prompt, or after a
  recorded prompt like `ubuntu@rustguess:~/rustguess$ `), each followed by the
  output the book says it prints;
- a ```sh block holds commands, one per line, with no output shown;
- a block right after `<p class="not-run">` is counted, not run;
- every other block (rust fragments, text, mermaid, ...) is not an instruction;
- a `<!-- follow-check LABEL ... -->` comment (invisible on the page) checks
  an exercise's stated observation: its shell lines run in a scratch copy,
  ~/exercise, of the reader's three files, and the output must match every
  `expect: REGEX` line and no `reject: REGEX` line;
- a `<!-- follow-exit STATUS: COMMAND -->` comment (also invisible) says that
  COMMAND, in the next block, fails: where the book shows its output, it may
  exit with STATUS (its output must still be what the book shows). Every
  other command must exit 0.

Where each command runs. The reader has one machine; the test has two that
give the same answers: the target's chroot (same packages, rustc, headers and
make as the VM's root disk, `uname -r` answering the target kernel) and the VM,
which runs the target kernel itself. A command runs in the chroot ("native")
when it cannot see the running kernel: creating files, `make`, reading files,
`strings`, `modinfo FILE.ko`, the package commands (the chroot has the network
the VM lacks). Everything else runs in the VM ("guest"): anything with sudo,
insmod/rmmod/lsmod/dmesg/sysctl/uname, /dev, /sys or /proc, a background job,
a shell variable, and any command `classify` does not know. The chroot plays
the whole book in one bash session; before each run of guest commands it saves
the directory it is in and the reader's files in ~ (sources and .ko, without
build intermediates) as a numbered segment, and the guest, in one bash session
of its own, restores each segment before running its commands, so `$!`, jobs
and loaded modules carry over as they do for the reader. An exercise check
builds in the chroot up to its first kernel command and continues in the VM.

  follow.py plan BOOK_MD_DIR SUMMARY OUT_DIR   write OUT_DIR/{plan.json,native.sh,guest.sh}
                                               (FOLLOW_UNTIL=CHAPTER.md: stop after it;
                                               FOLLOW_NO_CHECKS=1: skip the exercise checks)
  follow.py check OUT_DIR HOST_LOG CONSOLE_LOG TAP results, with a plan, one per block

Written here rather than taken from a tool: no existing tool runs a book's
shell transcripts in order against a VM and names failures by chapter and block.
"""
import json
import os
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demos"))
import cast  # noqa: E402  (the casts' normalisation: timestamps, timings)

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
PROMPT = re.compile(r"^(?:\$ |[\w.-]+@[\w.-]+:[^$\s]*\$ )(.*)$")
FILE = re.compile(r"<summary>File: <code>([^<]+)</code></summary>")
NOT_RUN = re.compile(r'<p class="not-run">(.*?)</p>')
EXIT_MARK = re.compile(r"^<!-- follow-exit (\d+): (.*) -->$")
CHECK_RULE = re.compile(r"^(expect|reject): (.*)$")
# Package commands, also behind the set-up chapter's architecture test.
HOST_CMD = re.compile(r'^(if \[ "\$\(dpkg --print-architecture\)" = \w+ \]; then )?'
                      r"sudo (apt|apt-get|update-alternatives)\b")
# What the kernel prints when something went wrong (WARN, BUG, oops, the
# bug finders); dmesg prefixes each with its time stamp.
KERNEL_REPORT = re.compile(r"\b(WARNING:|BUG:|Oops|KASAN|UBSAN|kmemleak|general protection|Kernel panic)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# Programs that read and write only files, never the running kernel, and
# give the same result in the chroot as in the VM.
NATIVE = {"make", "mkdir", "cd", "cat", "ls", "grep", "strings", "rustc", "rustfmt",
          "clippy-driver", "perl", "echo", "printf", "cp", "mv", "rm", "touch", "head",
          "tail", "wc", "tr", "sort", "diff", "cmp", "file", "nm", "objdump", "readelf",
          "sed", "true", "false", "test", "modinfo", "rustfilt", "git", "ssh-keygen", "cut"}
# Where a command touches the kernel whatever its program: devices (but not
# /dev/null), sysfs and debugfs, procfs.
KERNEL_PATH = re.compile(r"/dev/(?!null\b)|/sys\b|/proc\b")
KERNEL_FILES = ("/dev/", "/sys/", "/proc/")  # what a guest command may write
SEPARATORS = {"&&", "||", ";", "|", "(", ")", "{", "}", "!"}


def chapters(summary):
    """Chapter files in SUMMARY order."""
    return re.findall(r"\]\(([^)#]+\.md)\)", Path(summary).read_text())


def blocks(text):
    """(info, body_lines, context, exits) for each fenced block; context is the
    last non-blank line before the fence, exits the {command: status} of the
    follow-exit comments since the previous block."""
    lines = text.split("\n")
    i, last, exits = 0, "", {}
    while i < len(lines):
        if lines[i].startswith("<!-- follow-check "):
            label, body = lines[i][len("<!-- follow-check "):].strip(), []
            i += 1
            while i < len(lines) and lines[i].strip() != "-->":
                body.append(lines[i])
                i += 1
            yield "follow-check", body, label, {}
            i, last = i + 1, ""
            continue
        mark = EXIT_MARK.match(lines[i].strip())
        if mark:
            exits[mark.group(2)] = int(mark.group(1))
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last = lines[i]
            i += 1
            continue
        fence, info = m.group(1), m.group(2)
        body, i = [], i + 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        yield info.split(",")[0], body, last, exits
        i, last, exits = i + 1, "", {}


def console_commands(body):
    """[(command, [expected output lines])] from a console block."""
    cmds = []
    for line in body:
        m = PROMPT.match(line)
        if m:
            cmds.append([m.group(1), []])
        elif cmds:
            if cmds[-1][0].endswith("\\") and not cmds[-1][1]:
                cmds[-1][0] += "\n" + line
            else:
                cmds[-1][1].append(line)
    return [(c, out) for c, out in cmds]


def classify(cmd, in_check=False):
    """Where CMD runs: "native" if it gives the same result in the target's
    chroot as in the VM (it cannot see the running kernel), else "guest".
    Anything not understood is "guest": slower, never wrong."""
    if HOST_CMD.match(cmd):
        return "native"
    text = cmd.replace("$(uname -r)", "KVER").replace("$HOME", "~")
    # A variable set from what a native command prints (the set-up chapter's
    # `rust=$(grep ... .config | cut ...)`) is set in the chroot's session,
    # where the package commands that use it run.
    assign = re.fullmatch(r"[A-Za-z_]\w*=\$\((.*)\)", text)
    if assign and "$" not in assign.group(1) and classify(assign.group(1), in_check) == "native":
        return "native"
    if in_check:
        text = text.replace("$?", "0")  # the status of the check's own previous command
    if "$" in re.sub(r"'[^']*'", "''", text) or "`" in text or "\n" in text:
        return "guest"  # shell state (variables, $!, substitutions) lives in the guest
    # A commit message is words, even where it names /dev/rustguess.
    if KERNEL_PATH.search(re.sub(r'^(git commit .*-m )("[^"$`]*"|\'[^\']*\')', r"\1''", text)):
        return "guest"
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    try:
        tokens = list(lex)
    except ValueError:
        return "guest"
    start, redirect = True, False
    for t in tokens:
        if redirect:
            redirect = False
        elif t == "&":
            return "guest"  # a background job: `$!` and `wait` follow it to the guest
        elif t in SEPARATORS:
            start = True
        elif set(t) <= set("<>&"):
            redirect = True
        elif start:
            start = False
            name = t.rsplit("/", 1)[-1]
            if name not in NATIVE or (name == "modinfo" and not text.rstrip().endswith(".ko")):
                return "guest"
    return "native"


def leaves_the_guest(cmd):
    """What a guest command changes that the chroot's session, which plays
    the book on, would need to see: its directory, or a file it writes
    (not a device, sysfs or procfs file). None if nothing."""
    if re.search(r"(^|[;&|({]\s*)(cd|pushd|popd)\b", cmd):
        return "changes directory"
    # Without the file descriptor numbers of redirections (2>&1).
    lex = shlex.shlex(re.sub(r"\b\d+(?=[<>])", "", cmd), posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    tokens = list(lex)
    for before, t in zip(tokens, tokens[1:]):
        if before in (">", ">>", "&>", ">|") and not t.startswith(KERNEL_FILES):
            return f"writes {t}"
    for i, t in enumerate(tokens):
        if t != "tee":
            continue
        for arg in tokens[i + 1:]:
            if arg in SEPARATORS or set(arg) <= set("<>&"):
                break
            if not arg.startswith(("-",) + KERNEL_FILES):
                return f"writes {arg}"
    return None


def split_and(line):
    """LINE cut at its top-level `&&`s (outside quotes)."""
    parts, cur, quote, i = [], "", None, 0
    while i < len(line):
        ch = line[i]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif line.startswith("&&", i):
            parts.append(cur.strip())
            cur, i = "", i + 2
            continue
        cur += ch
        i += 1
    return parts + [cur.strip()]


def split_check(lines):
    """(native lines, native head, guest tail, guest lines) of a check's shell
    lines: the lines before the first one that needs the kernel run in the
    chroot, and so does the start of that line's `&&` chain up to its first
    kernel command; the rest runs in the VM, after `(exit HEAD_STATUS) &&`."""
    for i, line in enumerate(lines):
        if classify(line, in_check=True) == "native":
            continue
        parts = split_and(line)
        k = 0
        while k < len(parts) - 1 and classify(parts[k], in_check=True) == "native":
            k += 1
        head = " && ".join(parts[:k])
        return lines[:i], head, " && ".join(parts[k:]), lines[i + 1:]
    return lines, "", "", []


def plan(md_dir, summary, out_dir):
    steps, not_run, stop = [], [], False
    for chapter in chapters(summary):
        text = (Path(md_dir) / chapter).read_text()
        n = 0
        if stop:
            break
        stop = chapter == os.environ.get("FOLLOW_UNTIL")
        for lang, body, context, exits in blocks(text):
            if lang == "mermaid":
                continue
            if lang == "follow-check":
                if os.environ.get("FOLLOW_NO_CHECKS"):
                    continue
                rules = [m for m in map(CHECK_RULE.match, body) if m]
                steps.append({"where": context, "kind": "check",
                              "commands": [{"cmd": "\n".join(b for b in body if not CHECK_RULE.match(b)),
                                            "expect": None}],
                              "expect": [m.group(2) for m in rules if m.group(1) == "expect"],
                              "reject": [m.group(2) for m in rules if m.group(1) == "reject"]})
                continue
            n += 1
            where = f"{chapter} block {n}"
            skip = NOT_RUN.search(context)
            if skip:
                not_run.append({"where": where, "reason": re.sub(r"<[^>]+>", "", skip.group(1))})
                continue
            step = None
            f = FILE.search(context)
            if f:
                step = {"where": where, "kind": "file", "path": f.group(1),
                        "text": "\n".join(body) + "\n"}
            elif lang == "console":
                cmds = console_commands(body)
                if cmds:
                    step = {"where": where, "kind": "commands",
                            "random": cast.RANDOM_MARK in body,
                            "commands": [{"cmd": c, "expect": o} for c, o in cmds]}
            elif lang == "sh":
                cmds = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
                step = {"where": where, "kind": "commands",
                        "commands": [{"cmd": c, "expect": None} for c in cmds]}
            if step is None:
                if exits:
                    steps.append({"where": where, "kind": "commands", "commands": [],
                                  "problems": [f"a follow-exit comment names {c!r}, which this block does not run"
                                               for c in exits]})
                continue
            for c in step.get("commands", []):
                if c["cmd"] in exits and c["expect"]:
                    c["may_exit"] = exits[c["cmd"]]
            named = {c["cmd"] for c in step.get("commands", []) if c["expect"]}
            step["problems"] = [f"a follow-exit comment names {c!r}, which this block does not show output for"
                                for c in exits if c not in named]
            steps.append(step)
    scripts(steps, out_dir)
    out = Path(out_dir)
    (out / "plan.json").write_text(json.dumps({"steps": steps, "not_run": not_run}, indent=1))
    n_native = sum(c.get("run") == "native" for s in steps for c in s.get("commands", []))
    n_cmds = sum(len(s.get("commands", [1])) for s in steps)
    print(f"follow: {n_cmds} steps in "
          f"{len({s['where'].split()[0] for s in steps})} chapters, {len(not_run)} blocks not run; "
          f"{n_native} commands in the chroot, the rest in {sum(1 for _ in segments(steps))} VM segments")


def segments(steps):
    seen = set()
    for s in steps:
        for c in s.get("commands", []):
            if "segment" in c and c["segment"] not in seen:
                seen.add(c["segment"])
                yield c["segment"]


def framed(key, cmd):
    """Run CMD in this shell (the braces keep `cd` and `$!`), its output and
    status between markers. Output goes to a terminal, as the reader's does
    (ls prints columns there): the VM's console, or the chroot's pty. Stdin
    is not the reader's terminal."""
    return [f"echo '@@RG-CMD {key}@@'", "{ " + cmd, "} </dev/null 2>&1", f"echo \"@@RG-RC {key} $?@@\""]


NATIVE_HEAD = r"""# Generated by tests/follow/follow.py from the rendered book: the whole book
# in the target's chroot, as user ubuntu. Commands that need the kernel are
# not here: rg_snap saves, for each run of them, the directory and the reader's
# files (sources and modules, no build intermediates or Git data) for the
# guest (guest.sh).
rg_seg=$1
rg_snap() {
    pwd >"$rg_seg/$1.cwd" &&
        (cd ~ && find . \( -path './.*' -o -name .git \) -prune -o -type f ! -name '.*' ! -name '*.o' ! -name '*.cmd' \
            ! -name '*.mod' ! -name '*.mod.c' ! -name modules.order ! -name Module.symvers -print0 |
            tar -czf "$rg_seg/$1.tgz" --null -T -) ||
        echo "follow: could not save segment $1 for the guest"
}
cd ~"""

GUEST_HEAD = r"""# Generated by tests/follow/follow.py from the rendered book: the commands
# that need the kernel, in the VM as user ubuntu. rg_restore puts back the
# reader's files and directory as they were in the chroot at that point.
rg_seg=${RG_FOLLOW_SEG:-/rustguess/follow/seg}  # the stage disk (tests set their own)
rg_restore() {
    cd ~ && find . -mindepth 1 -maxdepth 1 ! -name '.*' -exec rm -rf {} + &&
        tar -xzf "$rg_seg/$1.tgz" && cd "$(cat "$rg_seg/$1.cwd")" ||
        echo "follow: could not restore segment $1"
}
cd ~"""

CHECK_SETUP = ["( rm -rf ~/exercise && mkdir ~/exercise && cd ~/exercise &&",
               "  cp ~/rustguess/Makefile ~/rustguess/Kbuild ~/rustguess/rustguess.rs . || exit 99"]


def scripts(steps, out_dir):
    """Write native.sh and guest.sh; mark each command with where it runs
    ("run") and its segment."""
    native, guest = [NATIVE_HEAD], [GUEST_HEAD]
    seg, in_guest = -1, False

    def new_segment():
        nonlocal seg
        seg += 1
        guest.append(f"rg_restore {seg}")
        return seg

    for si, step in enumerate(steps):
        if step["kind"] == "file":
            in_guest = False
            path = step["path"].replace("~/", "$HOME/", 1)
            delim = "RUSTGUESS_FOLLOW_EOF"
            native += [f"echo '@@RG-CMD {si}.0@@'",
                       f'mkdir -p "$(dirname "{path}")" && cat >"{path}" <<\'{delim}\'',
                       step["text"].rstrip("\n"), delim,
                       f"echo \"@@RG-RC {si}.0 $?@@\""]
            continue
        if step["kind"] == "check":
            # A subshell in a scratch copy: the reader's ~/rustguess and the
            # shell's directory stay as they were.
            in_guest = False
            c = step["commands"][0]
            pre, head, tail, post = split_check(c["cmd"].split("\n"))
            native += [f"echo '@@RG-CMD {si}.0@@'"] + CHECK_SETUP + pre
            if not tail:
                c["run"] = "native"
                native += [") </dev/null 2>&1", f"echo \"@@RG-RC {si}.0 $?@@\""]
                continue
            c["run"], c["segment"] = "split", seg + 1
            k = new_segment()
            if head:
                native += [head, f'echo "$?" >"$rg_seg/{k}.head"']
                tail = f'(exit "$(cat "$rg_seg/{k}.head" || echo 99)") && {tail}'
            native += [f"rg_snap {k}", ") </dev/null 2>&1", f"echo \"@@RG-RC {si}.0 $?@@\""]
            guest += [f"echo '@@RG-CMD {si}.0@@'", "(", tail] + post + \
                [") </dev/null 2>&1", f"echo \"@@RG-RC {si}.0 $?@@\""]
            continue
        for ci, c in enumerate(step["commands"]):
            c["run"] = classify(c["cmd"])
            if c["run"] == "native":
                in_guest = False
                native += framed(f"{si}.{ci}", c["cmd"])
                continue
            change = leaves_the_guest(c["cmd"])
            if change:
                sys.exit(f"follow.py: {step['where']}: {c['cmd']!r} needs the kernel and {change}; "
                         "the chroot, which plays the book on, cannot follow (see follow.py's classify)")
            if not in_guest:
                native.append(f"rg_snap {new_segment()}")
                in_guest = True
            c["segment"] = seg
            guest += framed(f"{si}.{ci}", c["cmd"])
    # Last, the kernel log of the whole session, for check's final result.
    guest += framed("klog", "sudo dmesg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "native.sh").write_text("\n".join(native) + "\n")
    (out / "guest.sh").write_text("\n".join(guest) + "\n")


def results(log):
    """{id: (rc, output lines)} from a log, or None if there is no log."""
    if not Path(log).is_file():
        return None
    text = ANSI.sub("", Path(log).read_text(errors="replace").replace("\r", ""))
    res = {}
    for m in re.finditer(r"@@RG-CMD (\S+)@@\n(.*?)@@RG-RC \1 (\d+)@@", text, re.S):
        res[m.group(1)] = (int(m.group(3)), m.group(2).rstrip("\n").split("\n") if m.group(2).strip() else [])
    return res


def norm(lines, random=False):
    return cast.norm("\n".join(lines), random).rstrip("\n")


def check(out_dir, host_log, console_log):
    p = json.loads((Path(out_dir) / "plan.json").read_text())
    logs = {"native": (results(host_log), f"the chroot's log {host_log}"),
            "guest": (results(console_log), f"the VM's console log {console_log}")}

    def get(run, key):
        """(rc, lines) of KEY in the log of RUN, or (None, why it is missing)."""
        res, name = logs[run]
        if res is None:
            return None, f"did not run: {name} is missing"
        if key not in res:
            return None, f"did not run (an earlier command hung, or {'the VM died' if run == 'guest' else 'the chroot session ended'})"
        return res[key]

    print(f"1..{len(p['steps']) + 1}")
    for n, step in enumerate(p["steps"], 1):
        si = n - 1
        problems = list(step.get("problems", []))
        if step["kind"] == "check":
            c = step["commands"][0]
            parts = ["native", "guest"] if c["run"] == "split" else [c["run"]]
            got, rcs = [], []
            for run in parts:
                rc, lines = get(run, f"{si}.0")
                if rc is None:
                    problems.append(lines)
                    break
                got, rcs = got + lines, rcs + [rc]
            if not problems:
                text = "\n".join(got)
                if rcs[0] == 99:
                    problems.append("could not copy the reader's files to ~/exercise (exit 99)")
                problems += [f"the output does not match {e!r}" for e in step["expect"] if not re.search(e, text, re.M)]
                problems += [f"the output matches {r!r}" for r in step["reject"] if re.search(r, text, re.M)]
                if problems:
                    problems += ["  " + line for line in got[-10:]]
            report(n, step, problems, "the stated observation holds")
            continue
        if step["kind"] == "file":
            cmds = [{"cmd": f"create {step['path']}", "expect": None, "run": "native"}]
        else:
            cmds = step["commands"]
        for ci, c in enumerate(cmds):
            short = c["cmd"].split("\n")[0]
            rc, got = get(c["run"], f"{si}.{ci}")
            if rc is None:
                problems.append(f"{short}: {got}")
                break
            random = step.get("random", False)
            if c["expect"] and norm(c["expect"], random) != norm(got, random):
                status = f" exited {rc} and" if rc else ""
                problems.append(f"{short}{status} printed something else than the book shows")
                problems += ["  book: " + line for line in norm(c["expect"], random).split("\n")[:12]]
                problems += ["  now:  " + line for line in norm(got, random).split("\n")[:12]]
            elif rc != 0 and rc != c.get("may_exit"):
                if c["expect"]:
                    problems.append(f"{short} exited {rc}, and the book does not say it fails "
                                    f"(if it should: <!-- follow-exit {rc}: {c['cmd']} --> before the block)")
                else:
                    problems.append(f"{short} exited {rc}")
                first = [line for line in got if re.match(r"(error|E:|ERROR)", line)][:2]
                problems += ["  " + line for line in first + got[-6:]]
        what = f"creates {step['path']}" if step["kind"] == "file" else \
            "; ".join(c["cmd"].split("\n")[0] for c in cmds)[:80]
        report(n, step, problems, what)
    # The kernel log, read after the last block: a warning is allowed only
    # where an exercise's check provokes it on purpose (its expect: names
    # WARNING); anything else the kernel reports fails.
    n = len(p["steps"]) + 1
    provoked = sum(1 for s in p["steps"] if s["kind"] == "check" and any("WARNING" in e for e in s["expect"]))
    rc, lines = get("guest", "klog")
    if rc is None:
        problems = [f"sudo dmesg {lines}"]
    elif rc != 0 or not lines:
        problems = [f"sudo dmesg exited {rc} with {len(lines)} lines"]
    else:
        bad = [line for line in lines if KERNEL_REPORT.search(line)]
        warns = [line for line in bad if "WARNING:" in line]
        others = [line for line in bad if "WARNING:" not in line]
        problems = []
        if others:
            problems.append(f"the kernel reported {others[0].strip()}")
        if len(warns) != provoked:
            problems.append(f"{len(warns)} WARNINGs, where the exercises provoke {provoked}")
        if problems:
            problems += ["  " + line for line in (others + warns)[:8]]
    report(n, {"where": "the kernel log"}, problems,
           f"no oops, BUG or KASAN report, and only the {provoked} WARNING(s) the exercises provoke")
    print(f"# not run: {len(p['not_run'])} blocks")
    for s in p["not_run"]:
        print(f"#   {s['where']}: {s['reason']}")


def report(n, step, problems, what):
    if problems:
        print(f"not ok {n} - {step['where']}: {problems[0].strip()}")
        for line in problems[1:]:
            print(f"#   {line}")
    else:
        print(f"ok {n} - {step['where']}: {what}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "plan":
        plan(*sys.argv[2:5])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
