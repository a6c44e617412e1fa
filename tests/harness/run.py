"""A run of the test command: checks, their logs and verdicts, phases and
their seconds, and the processes it started.

Every check is one Check: a name, a command (argv; a shell check is
["tests/sh", FUNCTION, ARG...]), a log in test-out/, an optional timeout;
its verdict is the command's exit status. A TAP stream is judged by
Run.stream: each result a check, plus one for the stream being whole.
"""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import tap

TOP = Path(__file__).resolve().parents[2]

# A compiler's first errors (rustc's "error[E0425]: ..." or "error: ...",
# gcc's "FILE:L:C: error: ..."); rustc's "--> FILE:L:C" follows each.
RUST_ERROR = re.compile(r"^error(\[E[0-9]+\])?: ")
NOT_AN_ERROR = re.compile(r"^error: (aborting due to|could not compile)")
C_ERROR = re.compile(r":[0-9]+:[0-9]+: .*\berror: ")
WHERE = re.compile(r"^ *--> ")


def first_errors(lines, most=5):
    """The first compiler errors in a log, each with its location: the end
    of a failed build is only their consequences."""
    found, want = [], 0
    for line in lines:
        if len(found) >= most * 2:
            break
        if (RUST_ERROR.match(line) and not NOT_AN_ERROR.match(line)) or C_ERROR.search(line):
            found.append(line)
            want = 3
        elif want > 0 and WHERE.match(line):
            found.append(line)
            want = 0
        else:
            want -= 1
    return found


def shown(path):
    """A path as the reader of the results wants it: inside the checkout."""
    try:
        return str(Path(path).resolve().relative_to(TOP))
    except ValueError:
        return str(path)


@dataclass
class Check:
    name: str
    argv: list
    env: dict | None = None
    timeout: int | None = None

    @property
    def log_name(self):
        return re.sub(r"[^A-Za-z0-9._-]", "_", self.name) + ".log"


class Run:
    def __init__(self, out, quick=False):
        self.out = Path(out)
        self.quick = quick
        self.passed = 0
        self.failed = []  # names
        self.t0 = time.monotonic()
        self.phases = {}  # name -> seconds, in the order begun
        self.phase_name = None
        self.phase_t0 = self.t0
        self.env = dict(os.environ)
        self.background = []  # Popen objects still running

    # -- progress -----------------------------------------------------------
    def seconds(self):
        return int(time.monotonic() - self.t0)

    def step(self, message):
        print(f"[{self.seconds():4d}s] {message}", file=sys.stderr, flush=True)

    def say(self, message):
        print(message, flush=True)

    def phase(self, name):
        """The seconds since the last call go to the phase then begun (added
        up, if a phase comes back); NAME begins; None ends the last one."""
        now = time.monotonic()
        if self.phase_name is not None:
            self.phases[self.phase_name] = self.phases.get(self.phase_name, 0) + now - self.phase_t0
        self.phase_name, self.phase_t0 = name, now

    # -- verdicts -----------------------------------------------------------
    def pass_(self, name):
        self.passed += 1

    def fail(self, name):
        self.failed.append(name)

    def counts(self):
        return self.passed, len(self.failed)

    def popen(self, argv, log, env=None, err=subprocess.STDOUT):
        """A process of this run, in a session of its own: a Ctrl-C at the
        terminal reaches only tests/run, which then stops everything it
        started, in order (interrupted())."""
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=err,
                             stdin=subprocess.DEVNULL, env=e, cwd=TOP, start_new_session=True)
        self.background.append(p)
        return p

    def wait(self, p, timeout=None):
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_tree(p.pid, p)
            p.wait()
            rc = 124
        if p in self.background:
            self.background.remove(p)
        return rc

    def run(self, argv, log_path, env=None, timeout=None):
        """argv with its output in log_path; its exit status."""
        with open(log_path, "wb") as log:
            return self.wait(self.popen(argv, log, env), timeout)

    def run_live(self, argv, log_path, show, env=None, err_path=None):
        """run(), and for each output line, what show(line) makes of it
        printed as it comes, if anything (set-up's progress, the guest's
        results)."""
        e = dict(self.env)
        e.update(env or {})
        with open(log_path, "wb") as log:
            p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=e, cwd=TOP, start_new_session=True)
            self.background.append(p)
            for raw in p.stdout:
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip("\n")
                shown_line = show(line)
                if shown_line is not None:
                    self.say(shown_line)
            return self.wait(p)

    def check(self, name, argv, env=None, timeout=None, show=None):
        """One check: argv's output in test-out/NAME.log, its status the
        verdict (show: what to print of each line as it comes, see
        run_live). True if it passed."""
        c = Check(name, argv, env, timeout)
        log = self.out / c.log_name
        t0 = time.monotonic()
        if show:
            rc = self.run_live(argv, log, show, env)
        else:
            rc = self.run(argv, log, env, timeout)
        return self.judge(name, rc, log, int(time.monotonic() - t0), timed_out=bool(timeout) and rc == 124)

    def judge(self, name, rc, log, secs, timed_out=False):
        """The verdict on a check that ran with its output in log: status 0
        passes. A failure shows the log's first compiler errors (if it has
        any) and its last lines."""
        if rc == 0:
            self.pass_(name)
            self.say(f"PASS  {name} ({secs}s)")
            return True
        self.fail(name)
        self.say(f"FAIL  {name} ({secs}s{', timed out' if timed_out else ''}); from {shown(log)}:")
        try:
            lines = Path(log).read_text(errors="replace").splitlines()
        except OSError:
            lines = [f"(no log: {log})"]
        first = first_errors(lines)
        if first:
            lines = ["first errors:"] + ["  " + f for f in first] + ["last lines:"] + ["  " + x for x in lines[-10:]]
        for line in lines[-25:] if not first else lines:
            self.say("      " + line)
        return False

    def sh(self, name, function, *args, target=None, env=None, timeout=None):
        """A shell check: FUNCTION from the harness's shell files (tests/sh)."""
        e = dict(env or {})
        if target:
            e["RG_TARGET"] = target
        return self.check(name, [TOP / "tests/sh", function, *args], e, timeout)

    def stream(self, name, path, rc, what, prefix="", secs=None):
        """Each TAP result in path a check (named PREFIX + its name), and one
        check, NAME, that the stream is whole and its producer exited 0."""
        s = self.results(path, prefix)
        self.whole(name, s, path, rc, what, secs)
        return s

    def results(self, path, prefix=""):
        """Each TAP result in path a check, named PREFIX + its name; a
        failed one is shown with its reasons."""
        s = tap.read(path)
        for r in s.results:
            if r.ok:
                self.pass_(prefix + r.name)
            else:
                self.fail(prefix + r.name)
                self.say(f"FAIL  {prefix}{r.name}")
                for reason in r.reasons:
                    self.say(f"      {reason}")
        return s

    def whole(self, name, s, path, rc, what, secs=None):
        """The check that the stream s (from path) is whole (tap.read) and
        that its producer exited 0."""
        why = s.bad or (f"it exited {rc}" if rc != 0 else "")
        took = f", {secs}s" if secs is not None else ""
        if why:
            self.fail(name)
            self.say(f"FAIL  {name}: {len(s.results)} {what}; {why}{took}; see {shown(path)}")
        else:
            self.pass_(name)
            self.say(f"PASS  {name}: {len(s.results)} {what} of plan 1..{s.plan}, exit 0{took}")
        return not why

    def tail(self, path, n):
        """The last n lines of a file, indented, as the reason for what
        just failed."""
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            lines = [f"(there is no {path})"]
        for line in lines[-n:]:
            self.say("      " + line)

    # -- the end --------------------------------------------------------------
    def timings(self):
        """The phases' seconds: test-out/timings.tsv (phase, seconds; the
        last line the total), and as a table."""
        self.phase(None)
        rows = [(p, int(round(s))) for p, s in self.phases.items()]
        with open(self.out / "timings.tsv", "w") as f:
            f.write("phase\tseconds\n")
            for p, s in rows:
                f.write(f"{p}\t{s}\n")
            f.write(f"total\t{self.seconds()}\n")
        self.say("Phase timings (test-out/timings.tsv):")
        for p, s in rows + [("total", self.seconds())]:
            self.say(f"  {p:<36} {s:6d}s")
        return rows

    def finish(self):
        """The failed checks by name, each phase's seconds, and the last
        line, "N passed, M failed"; the exit status."""
        self.step("done")
        if self.failed:
            self.say("Failed checks:")
            for n in self.failed:
                self.say(f"  {n}")
        rows = self.timings()
        self.say(f"Time: {self.seconds()}s ({', '.join(f'{p} {s}s' for p, s in rows)})")
        self.say(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0

    def interrupted(self, signum):
        """Ctrl-C or TERM: stop every process this run started, QEMU
        included, then report what ran."""
        print(f"tests/run: interrupted ({signal.Signals(signum).name}): stopping the VMs and jobs it started",
              file=sys.stderr, flush=True)
        stop_tree(os.getpid())
        stop_qemu(self.out)
        try:
            self.timings()
        except OSError:
            pass


def processes():
    """Every process: {pid: (ppid, pgid, command name)}."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name is in parentheses; after it the state, the
        # parent and the process group.
        comm = text[text.index("(") + 1:text.rindex(")")]
        rest = text[text.rindex(")") + 2:].split()
        found[int(stat.parent.name)] = (int(rest[1]), int(rest[2]), comm)
    return found


def descendants(top):
    parent = {pid: v[0] for pid, v in processes().items()}
    found = []
    for pid in parent:
        q = parent.get(pid)
        while q and q > 1:
            if q == top:
                found.append(pid)
                break
            q = parent.get(q)
    return found


def stop_tree(top, proc=None):
    """TERM to every process below top, and to proc (top's Popen) if given
    (tools/vm stops its QEMU on TERM), three times a second apart, then
    KILL."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        pids = descendants(top)
        if proc is not None and proc.poll() is None:
            pids.append(proc.pid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1)


def stop_qemu(out):
    """Any QEMU that has left the tree (its parents died first): tools/vm
    keeps the process group of the `timeout` that runs it, and QEMU's pid,
    in each boot's qemu.pgid and qemu.pid."""
    for f in list(Path(out).rglob("qemu.pgid")) + list(Path(out).rglob("qemu.pid")):
        try:
            ident = int(f.read_text().strip())
        except (OSError, ValueError):
            continue
        try:
            if f.suffix == ".pgid":
                # Only while the group is still a timeout and its QEMU.
                if any(pg == ident and c.startswith(("timeout", "qemu-system"))
                       for _, pg, c in processes().values()):
                    os.killpg(ident, signal.SIGKILL)
            elif Path(f"/proc/{ident}/comm").read_text().startswith("qemu-system"):
                os.kill(ident, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass
