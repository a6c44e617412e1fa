#!/usr/bin/env python3
"""Small tools for asciicast v2 files, used by demos/record and tests/run.

Written here because no packaged tool trims a cast between marker lines or
normalises its text for a drift check; it is standard library only.

  cast.py trim RAW NAME TITLE   print RAW's events between the guest's
                                @@RGDEMO-BEGIN/END NAME@@ lines, as a new cast
  cast.py text CAST             print the terminal text of CAST
  cast.py norm FILE             print FILE (text) normalised for comparison
  cast.py split LOG DIR         write each demo's text from a console LOG to DIR/NAME.txt
  cast.py readme README NAME TXT  put transcript TXT in README's <!-- demo: NAME --> block
"""
import json
import re
import sys

BEGIN = re.compile(r"@@RGDEMO-BEGIN (\S+)@@\r?\n")
END = re.compile(r"@@RGDEMO-END (\S+)@@\r?\n")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def events(path):
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        evs = [json.loads(line) for line in f if line.strip()]
    return header, [e for e in evs if e[1] == "o"]


def trim(raw, name, title):
    header, evs = events(raw)
    out = "".join(e[2] for e in evs)
    # Re-cut the output at the markers, keeping each event's time.
    pos = 0
    kept = []
    for t, _, data in evs:
        kept.append((t, pos, data))
        pos += len(data)
    b = next((m for m in BEGIN.finditer(out) if m.group(1) == name), None)
    e = next((m for m in END.finditer(out) if m.group(1) == name), None)
    if not b or not e:
        sys.exit(f"cast.py: no @@RGDEMO markers for {name} in {raw}")
    start, end = b.end(), e.start()
    t0 = None
    header = {k: header[k] for k in ("version", "width", "height") if k in header}
    header["title"] = title
    header["env"] = {"TERM": "xterm-256color", "SHELL": "/bin/sh"}
    print(json.dumps(header))
    for t, p, data in kept:
        lo, hi = max(p, start), min(p + len(data), end)
        if lo >= hi:
            continue
        if t0 is None:
            t0 = t
        print(json.dumps([round(t - t0, 6), "o", out[lo:hi]]))


def text(path):
    _, evs = events(path)
    s = ANSI.sub("", "".join(e[2] for e in evs)).replace("\r\n", "\n").replace("\r", "")
    return s.rstrip("\n") + "\n"


NORMALISE = [
    (re.compile(r"^\[\s*\d+\.\d+\] ?", re.M), "[TIME] "),  # dmesg timestamps
    (re.compile(r"\b(CPU|PID|UID): \d+"), r"\1: N"),
    (re.compile(r"CPU#\d+: (\S+)/\d+"), r"CPU#N: \1/N"),
    (re.compile(r"^.*\]\s+\? .*\n", re.M), ""),  # unreliable stack entries vary
    (re.compile(r" \[last unloaded: [^\]]*\]"), ""),  # depends on what ran before
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])"), "ADDR"),  # registers and pointers
    (re.compile(r"\b[A-Z][a-z]{2} +\d+ +\d\d:\d\d\b"), "DATE"),  # ls -l
    (re.compile(r"\b10, +\d+\b"), "10, MINOR"),  # misc minors are dynamic
    (re.compile(r" # \d+ ms$", re.M), ""),  # guest test timings
    (re.compile(r" \(\d+s\)"), ""),  # host step timings
    (re.compile(r"^\[\s*\d+s\] ", re.M), ""),
    (re.compile(r"copied, [0-9.]+ s, [0-9.]+ [kMG]?B/s"), "copied, T s, R B/s"),  # dd timing
    (re.compile(r"RIP: 0033:0x[0-9a-f]+"), "RIP: 0033:ADDR"),  # user-space addresses (ASLR)
    (re.compile(r"[ \t]+$", re.M), ""),
]


# A session with a random secret (Part II) says so in this line; its replies
# then differ from run to run where they depend on the secret, so those parts
# are masked before comparing, and only the rest must match.
RANDOM_MARK = "# The secret is random, so your numbers will differ."
RANDOM = [
    (re.compile(r"\b\d+ is too (low -- guess higher|high -- guess lower)\.|"
                r"\bCorrect! You got it in \d+ tr(y|ies)\."), "<a hint or a win>"),
    (re.compile(r"^\d+ is (too low|too high|correct)$", re.M), "<a guess and its answer>"),
    (re.compile(r"\b(The secret is|secret:) \d+"), r"\1 N"),
]


def norm(s, random=None):
    """S normalised for comparing; RANDOM masks too if S has RANDOM_MARK (or
    if random is True)."""
    if random or (random is None and RANDOM_MARK in s):
        for pat, rep in RANDOM:
            s = pat.sub(rep, s)
    for pat, rep in NORMALISE:
        s = pat.sub(rep, s)
    return s.strip("\n") + "\n"


def split(log, outdir):
    s = open(log, encoding="utf-8", errors="replace").read().replace("\r", "")
    for b in BEGIN.finditer(s):
        name = b.group(1)
        e = next((m for m in END.finditer(s, b.end()) if m.group(1) == name), None)
        if e:
            with open(f"{outdir}/{name}.txt", "w", encoding="utf-8") as f:
                f.write(s[b.end():e.start()])


def readme(path, name, txt):
    s = open(path, encoding="utf-8").read()
    block = re.compile(r"(<!-- demo: %s -->\n```console\n).*?(```\n<!-- /demo -->)" % re.escape(name), re.S)
    body = open(txt, encoding="utf-8").read()
    new, n = block.subn(lambda m: m.group(1) + body + m.group(2), s)
    if n != 1:
        sys.exit(f"cast.py: no <!-- demo: {name} --> block in {path}")
    open(path, "w", encoding="utf-8").write(new)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "trim":
        trim(*args)
    elif cmd == "text":
        sys.stdout.write(text(args[0]))
    elif cmd == "norm":
        sys.stdout.write(norm(open(args[0], encoding="utf-8").read()))
    elif cmd == "split":
        split(*args)
    elif cmd == "readme":
        readme(*args)
    else:
        sys.exit(__doc__)
