"""The self-tests of the runner's own reading of results (tests/run runs
each as a check): fabricated files, no VM and no build.

    python3 tests/harness/selftests.py NAME DIR

Each prints what the runner made of its files and exits 1 if that was not
the verdict wanted.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import run as run_mod  # noqa: E402


class Scratch(run_mod.Run):
    """A Run whose verdicts and lines stay here, for one fabricated file."""

    def __init__(self, out):
        super().__init__(out)
        self.lines = []

    def say(self, message):
        self.lines.append(message)


def judge(d, path, rc):
    """What the runner's stream check makes of path, exited rc: its line."""
    r = Scratch(d)
    r.stream("selftest/stream", path, rc, "results", prefix="selftest/")
    return r.lines[-1]


def expect(label, verdict, wanted):
    print(f"{label}: {verdict}")
    if wanted not in verdict:
        sys.exit(f"{label}: wanted a verdict with '{wanted}'")


def console(d):
    """A guest console cut in half (the guest died, or its console was cut
    off) fails the target's vm check; so do a plan that promises more
    results than came, a missing console, and a guest exit status not 0."""
    lines = ["guest: Linux (fabricated)", "TAP version 13"]
    lines += [f"ok {i} - final/test-{i} # 1 ms" for i in range(1, 21)]
    lines += ["1..20", "# 20 passed, 0 failed", "RUSTGUESS-EXIT: 0"]
    (d / "whole.log").write_text("\n".join(lines) + "\n")
    expect("whole", judge(d, d / "whole.log", 0), "PASS  selftest/stream: 20 results of plan 1..20")
    (d / "half.log").write_text("\n".join(lines[:12]) + "\n")
    expect("half", judge(d, d / "half.log", 0), "FAIL  selftest/stream: 10 results; no plan")
    (d / "short.log").write_text("\n".join(["1..20"] + lines[2:12]) + "\n")
    expect("short", judge(d, d / "short.log", 0), "the plan says 1..20 but there are 10 results")
    expect("missing", judge(d, d / "missing.log", 0), "there is no ")
    expect("exit 125", judge(d, d / "whole.log", 125), "it exited 125")


def browser(d):
    """A browser run where one page's results never came (the page never
    loaded, and the browser test died there) fails the browser check; so
    does a page whose load failed, by its own name."""
    ok3 = ["ok 1 - browser/index: loads", "ok 2 - browser/index: search finds global_lock",
           "ok 3 - browser/index: no console errors"]
    (d / "cut.log").write_text("\n".join(["1..6"] + ok3 + ["ok 4 - browser/setup: loads"]) + "\n")
    expect("cut", judge(d, d / "cut.log", 1), "the plan says 1..6 but there are 4 results")
    (d / "never.log").write_text("\n".join(["1..5"] + ok3 + [
        "not ok 4 - browser/setup: loads", "#   page.goto: Timeout 3000ms exceeded.",
        "not ok 5 - browser/setup: no console errors", "#   the page did not load"]) + "\n")
    r = Scratch(d)
    r.results(d / "never.log")
    expect("never", r.lines[0], "FAIL  browser/setup: loads")
    expect("never, its reason", r.lines[1], "page.goto: Timeout 3000ms exceeded.")
    if "browser/setup: loads" not in r.failed:
        sys.exit("the page that never loaded is not among the failed checks")
    expect("never, the stream", judge(d, d / "never.log", 1), "it exited 1")


def first_errors(d):
    """A failed build's log, as the runner shows it: rustc's first error
    with its file and line, before the lines that end the log."""
    log = d / "build.log"
    log.write_text("\n".join([
        "  RUSTC [M] rustguess.o",
        "error[E0425]: cannot find value `EMSGSIZE` in module `code`",
        "   --> /src/module/rustguess.rs:301:26",
        "    |",
        "301 |             return Err(code::EMSGSIZE);",
        "error: aborting due to 1 previous error",
    ] + [f"make: *** consequence {i}" for i in range(30)]) + "\n")
    r = Scratch(d)
    r.check("selftest/build", ["sh", "-c", f"cat {log}; exit 2"])
    text = "\n".join(r.lines)
    print(text)
    for wanted in ["FAIL  selftest/build", "first errors:", "error[E0425]: cannot find value `EMSGSIZE`",
                   "--> /src/module/rustguess.rs:301:26", "make: *** consequence 29"]:
        if wanted not in text:
            sys.exit(f"the failure did not show '{wanted}'")
    if "aborting due to" in "\n".join(r.lines[:5]):
        sys.exit("rustc's 'aborting' line was shown as a first error")


if __name__ == "__main__":
    name, d = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    {"console": console, "browser": browser, "first-errors": first_errors}[name](d)
    print(f"{name}: as wanted")
