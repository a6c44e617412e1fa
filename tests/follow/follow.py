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
  `expect: REGEX` line and no `reject: REGEX` line.

Commands that install packages (`sudo apt ...`, `sudo update-alternatives ...`)
run in the target's chroot, which has the network the test VM lacks; the VM's
root disk is then made from that chroot. Everything else runs in the VM, in
one bash session as user `ubuntu`, so `cd` and `$!` carry over as they do for
the reader.

  follow.py plan BOOK_MD_DIR SUMMARY OUT_DIR   write OUT_DIR/{plan.json,host.tsv,guest.sh}
                                               (FOLLOW_UNTIL=CHAPTER.md: stop after it;
                                               FOLLOW_NO_CHECKS=1: skip the exercise checks)
  follow.py check OUT_DIR CONSOLE_LOG          TAP results, one per block

Written here rather than taken from a tool: no existing tool runs a book's
shell transcripts in order against a VM and names failures by chapter and block.
"""
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demos"))
import cast  # noqa: E402  (the casts' normalisation: timestamps, timings)

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
PROMPT = re.compile(r"^(?:\$ |[\w.-]+@[\w.-]+:[^$\s]*\$ )(.*)$")
FILE = re.compile(r"<summary>File: <code>([^<]+)</code></summary>")
NOT_RUN = re.compile(r'<p class="not-run">(.*?)</p>')
CHECK_RULE = re.compile(r"^(expect|reject): (.*)$")
HOST_CMD = re.compile(r"^sudo (apt|apt-get|update-alternatives)\b")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def chapters(summary):
    """Chapter files in SUMMARY order."""
    return re.findall(r"\]\(([^)#]+\.md)\)", Path(summary).read_text())


def blocks(text):
    """(info, body_lines, context) for each fenced block; context is the last
    non-blank line before the fence."""
    lines = text.split("\n")
    i, last = 0, ""
    while i < len(lines):
        if lines[i].startswith("<!-- follow-check "):
            label, body = lines[i][len("<!-- follow-check "):].strip(), []
            i += 1
            while i < len(lines) and lines[i].strip() != "-->":
                body.append(lines[i])
                i += 1
            yield "follow-check", body, label
            i, last = i + 1, ""
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
        yield info.split(",")[0], body, last
        i, last = i + 1, ""


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


def plan(md_dir, summary, out_dir):
    steps, not_run, stop = [], [], False
    for chapter in chapters(summary):
        text = (Path(md_dir) / chapter).read_text()
        n = 0
        if stop:
            break
        stop = chapter == os.environ.get("FOLLOW_UNTIL")
        for lang, body, context in blocks(text):
            if lang == "mermaid":
                continue
            if lang == "follow-check":
                if os.environ.get("FOLLOW_NO_CHECKS"):
                    continue
                steps.append({"where": context, "kind": "check",
                              "commands": [{"cmd": "\n".join(b for b in body if not CHECK_RULE.match(b)),
                                            "expect": None}],
                              "expect": [m.group(2) for m in map(CHECK_RULE.match, body) if m and m.group(1) == "expect"],
                              "reject": [m.group(2) for m in map(CHECK_RULE.match, body) if m and m.group(1) == "reject"]})
                continue
            n += 1
            where = f"{chapter} block {n}"
            skip = NOT_RUN.search(context)
            if skip:
                not_run.append({"where": where, "reason": re.sub(r"<[^>]+>", "", skip.group(1))})
                continue
            f = FILE.search(context)
            if f:
                steps.append({"where": where, "kind": "file", "path": f.group(1),
                              "text": "\n".join(body) + "\n"})
            elif lang == "console":
                cmds = console_commands(body)
                if cmds:
                    steps.append({"where": where, "kind": "commands",
                                  "random": cast.RANDOM_MARK in body,
                                  "commands": [{"cmd": c, "expect": o} for c, o in cmds]})
            elif lang == "sh":
                cmds = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
                steps.append({"where": where, "kind": "commands",
                              "commands": [{"cmd": c, "expect": None} for c in cmds]})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    host, guest = [], ["# Generated by tests/follow/follow.py from the rendered book.", "cd ~"]
    for si, step in enumerate(steps):
        if step["kind"] == "file":
            path = step["path"].replace("~/", "$HOME/", 1)
            delim = "RUSTGUESS_FOLLOW_EOF"
            guest += [f"echo '@@RG-CMD {si}.0@@'",
                      f'mkdir -p "$(dirname "{path}")" && cat >"{path}" <<\'{delim}\'',
                      step["text"].rstrip("\n"), delim,
                      f"echo \"@@RG-RC {si}.0 $?@@\""]
            continue
        if step["kind"] == "check":
            # A subshell in a scratch copy: the reader's ~/rustguess and the
            # shell's directory stay as they were.
            guest += [f"echo '@@RG-CMD {si}.0@@'",
                      "( rm -rf ~/exercise && mkdir ~/exercise && cd ~/exercise &&",
                      "  cp ~/rustguess/Makefile ~/rustguess/Kbuild ~/rustguess/rustguess.rs . || exit 99",
                      step["commands"][0]["cmd"],
                      ") </dev/null 2>&1",
                      f"echo \"@@RG-RC {si}.0 $?@@\""]
            continue
        for ci, c in enumerate(step["commands"]):
            if HOST_CMD.match(c["cmd"]):
                c["host"] = True
                host.append(f"{si}.{ci}\t{c['cmd']}")
                continue
            # Output goes to the console, a terminal, as the reader's does
            # (ls prints columns there); the braces keep `cd` and `$!` in
            # this shell. tools/vm caps the console log, should a command run away.
            guest += [f"echo '@@RG-CMD {si}.{ci}@@'",
                      "{ " + c["cmd"],
                      "} </dev/null 2>&1",
                      f"echo \"@@RG-RC {si}.{ci} $?@@\""]
    (out / "plan.json").write_text(json.dumps({"steps": steps, "not_run": not_run}, indent=1))
    (out / "host.tsv").write_text("".join(h + "\n" for h in host))
    (out / "guest.sh").write_text("\n".join(guest) + "\n")
    print(f"follow: {sum(len(s.get('commands', [1])) for s in steps)} steps in "
          f"{len({s['where'].split()[0] for s in steps})} chapters, {len(not_run)} blocks not run")


def results(log):
    """{id: (rc, output lines)} from a console log (and host results)."""
    text = ANSI.sub("", Path(log).read_text(errors="replace").replace("\r", ""))
    res = {}
    for m in re.finditer(r"@@RG-CMD (\S+)@@\n(.*?)@@RG-RC \1 (\d+)@@", text, re.S):
        res[m.group(1)] = (int(m.group(3)), m.group(2).rstrip("\n").split("\n") if m.group(2).strip() else [])
    return res


def norm(lines, random=False):
    return cast.norm("\n".join(lines), random).rstrip("\n")


def check(out_dir, log):
    out = Path(out_dir)
    p = json.loads((out / "plan.json").read_text())
    res = results(log)
    host_log = out / "host.log"
    if host_log.exists():
        res.update(results(host_log))
    n = 0
    for si, step in enumerate(p["steps"]):
        n += 1
        problems = []
        if step["kind"] == "check":
            rc, got = res.get(f"{si}.0", (None, None))
            if got is None:
                problems.append("did not run (an earlier command hung or the VM died)")
            else:
                text = "\n".join(got)
                problems += [f"the output does not match {e!r}" for e in step["expect"] if not re.search(e, text, re.M)]
                problems += [f"the output matches {r!r}" for r in step["reject"] if re.search(r, text, re.M)]
                if problems:
                    problems += ["  " + line for line in got[-10:]]
            if problems:
                print(f"not ok {n} - {step['where']}: {problems[0].strip()}")
                for line in problems[1:]:
                    print(f"#   {line}")
            else:
                print(f"ok {n} - {step['where']}: the stated observation holds")
            continue
        cmds = step.get("commands") or [{"cmd": f"create {step.get('path')}", "expect": None}]
        for ci, c in enumerate(cmds):
            key = f"{si}.{ci}"
            short = c["cmd"].split("\n")[0]
            if key not in res:
                problems.append(f"{short}: did not run (an earlier command hung or the VM died)")
                break
            rc, got = res[key]
            if c["expect"]:
                want = [line for line in c["expect"]]
                random = step.get("random", False)
                if norm(want, random) != norm(got, random):
                    status = f" exited {rc} and" if rc else ""
                    problems.append(f"{short}{status} printed something else than the book shows")
                    problems += ["  book: " + line for line in norm(want, random).split("\n")[:12]]
                    problems += ["  now:  " + line for line in norm(got, random).split("\n")[:12]]
            elif rc != 0:
                problems.append(f"{short} exited {rc}")
                first = [line for line in got if re.match(r"(error|E:|ERROR)", line)][:2]
                problems += ["  " + line for line in first + got[-6:]]
        if problems:
            print(f"not ok {n} - {step['where']}: {problems[0].strip()}")
            for line in problems[1:]:
                print(f"#   {line}")
        else:
            what = f"creates {step['path']}" if step["kind"] == "file" else \
                "; ".join(c["cmd"].split("\n")[0] for c in cmds)[:80]
            print(f"ok {n} - {step['where']}: {what}")
    print(f"# not run: {len(p['not_run'])} blocks")
    for s in p["not_run"]:
        print(f"#   {s['where']}: {s['reason']}")


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(*sys.argv[2:5])
    elif sys.argv[1] == "check":
        check(*sys.argv[2:4])
    else:
        sys.exit(__doc__)
