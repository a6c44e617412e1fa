"""What the test command checks, in order: the body of tests/run.

  1. set up (or reuse) the harness and each target's chroot  tools/setup
  2. per target: build every module in tests/stages as the reader does
     (warnings fail), boot the target's own kernel in QEMU and run the
     in-guest tests there                                    tools/vm
  3. on the primary target: replay the book's sessions against the casts,
     and follow the book as a reader does                    tests/follow
  4. check that the harness catches broken modules and hung guests
  5. build the book and check its includes, listings, links and versions

The checks' shell work (builds in the chroots, sabotaged boots, the book's
checks) lives in tests/checks.sh, tests/lint, tests/book-checks and
demos/lib.sh, each function run as one check through tests/sh.
"""

import datetime
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from . import targets as targets_mod
from .run import TOP
from .targets import Target

# The debug kernel exists for its bug finders (KASAN, lockdep, might_sleep,
# kmemleak) and KUnit: it boots the hand-written modules (01-hello,
# 02-device, the finished module `final`, 10-debugfs and its debug build,
# rustqueue, rustcounter, c-twin) with their full suites, and of the
# snapshots module/steps/derive makes from them, those with code of their own:
# 03-write, whose write() logs the reply under the game's lock, and 07-range,
# whose reads copy the reply out of the lock and whose play() cannot fail.
# These are built there (their build checks stay) but not booted: every line
# of their code, and every one of their KUnit cases, is in a module booted
# there (04-read is `final` without the owner and KUnit; 05-random is
# `final`'s file operations on 07-range's game; 06-per-open is 07-range
# without RANGE; 08-history and 09-reveal are 10-debugfs without its later
# chapters, and 09-reveal-debug's REVEAL case is 10-debugfs-debug's; paths
# A's and B's first steps, A1-enqueue and B1-bump, are rustqueue without its
# reader, with rustcounter's open, and rustcounter without two commands).
# Their suites still run on every other target.
DEBUG_BUILD_ONLY = {"04-read", "05-random", "06-per-open", "08-history", "09-reveal",
                    "09-reveal-debug", "A1-enqueue", "B1-bump"}

# The guest's output lines shown as they come.
GUEST_LINES = re.compile(r"^(ok |not ok |guest:|# stage|# taint|vm: )")


def table(path):
    """The lines of a table file (tests/stages, tests/stress): words, with
    blank lines and comments left out."""
    for line in (TOP / path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split()


def stages():
    """tests/stages: (dir, suite, make args, the stage's name in the VM)."""
    for words in table("tests/stages"):
        d, suite, args = words[0], words[1], words[2:]
        name = "final" if d == "module" else Path(d).name
        if "DEBUG=1" in args:
            name += "-debug"
        yield d, suite, " ".join(args), name


def kunit_suites(d):
    """" kunit=NAME" for each #[kunit_tests(NAME)] in the directory's Rust."""
    found = []
    for rs in sorted((TOP / d).glob("*.rs")):
        found += re.findall(r"#\[kunit_tests\(([a-z0-9_]*)\)\]", rs.read_text())
    return "".join(f" kunit={k}" for k in found)


class Plan:
    def __init__(self, run, cache):
        self.run = run
        self.out = run.out
        self.cache = cache
        self.quick = run.quick
        self.targets = targets_mod.wanted()
        self.primary = targets_mod.primary()
        self.has_primary = self.primary in self.targets
        self.book = os.environ.get("RUSTGUESS_BOOK", "1") != "0"
        self.follow_native = None
        self.browser_thread = None
        self.browser = None
        run.env.update(RG_OUT=str(self.out), RG_PRIMARY=self.primary)

    def load(self, name):
        return Target.load(name, self.cache)

    # -- 1. set-up and lint ----------------------------------------------------
    def setup(self):
        r = self.run
        r.phase("setup")
        # The mdBook tools compile while the chroots download (cold runs
        # only); the book and the follow-along (on the primary) use them.
        self.book_tools = None
        if self.book or self.has_primary:
            self.book_tools = r.popen([TOP / "tools/book-tools"], open(self.out / "book-tools.log", "wb"))
        args = self.targets or ["--harness"]
        what = f" and targets {' '.join(self.targets)}" if self.targets else ""
        r.step(f"setup: harness{what} (cached after the first run)")
        # Set-up prints its own progress (a cold run takes minutes): shown as it goes.
        if not r.check("setup", [TOP / "tools/setup", *args], show=lambda line: "      " + line):
            r.say("cannot go on without the toolchains")
            return False
        r.check("snapshots 03 and 04 are derived from module/rustguess.rs", [TOP / "module/steps/derive", "--check"])
        if self.targets:
            r.sh("build in-guest tests (tests/guest)", "build_rgtest")
        return True

    def lint(self):
        r = self.run
        r.phase("lint")
        what = "rustfmt with each target's own tools, clippy once per rustc"
        r.step(f"lint: {'shellcheck; ' if self.book else ''}{what}")
        if self.book:
            r.sh("lint: shellcheck, every script", "lint_shellcheck", TOP)
        for t in self.targets:
            r.sh(f"{t}/lint: rustfmt", "lint_rustfmt", t, TOP)
        # Targets with the same rustc have the same Clippy: it runs on one of
        # them (the debug kernel where it is one: there Clippy also sees the
        # KUnit tests).
        if not self.targets:
            return
        lines = subprocess.run([TOP / "tests/sh", "clippy_targets", *self.targets], env=r.env,
                               capture_output=True, text=True, check=True).stdout.splitlines()
        for line in lines:
            t, *also = line.split()
            note = f"; for {', '.join(also)} too, same rustc" if also else ""
            r.sh(f"{t}/lint: clippy (make CLIPPY=1), every snapshot{note}", "lint_clippy", t)

    # -- 2. each target ----------------------------------------------------------
    def target(self, t):
        r = self.run
        T = self.load(t)
        rec = T.rec
        r.step(f"{t}: kernel {T.kver} ({rec['KPKG_VERSION']}), {T.rustc}, {rec['BINDGEN_VERSION']}")
        r.phase(f"{t}/builds")
        r.check(f"{t}/book/generated names this kernel and compiler", [TOP / "tools/versions", "--check", t])
        vm = self.out / t / "vm"
        vm.mkdir(parents=True, exist_ok=True)
        build = self.out / t / "build"
        build.mkdir(parents=True, exist_ok=True)
        t0 = r.seconds()
        rc = r.run([TOP / "tests/sh", "build_stages", t], build / "stages.log", {"RG_TARGET": t})
        r.say(f"      {t}: built every stage in {r.seconds() - t0}s, two at a time"
              + (f" (build_stages exited {rc}: {build / 'stages.log'})" if rc else ""))
        # Another architecture's guest runs its own rgtest, built in the target's chroot.
        if T.arch:
            r.sh(f"{t}/build in-guest tests for {T.arch} (tests/guest)", "build_rgtest_cross", target=t)
        plan, built_only = [], []
        for d, suite, args, name in stages():
            if not r.sh(f"{t}/build {d}{f' ({args})' if args else ''}", "build_result", build / name):
                continue
            if T.debug_kernel and name in DEBUG_BUILD_ONLY:
                built_only.append(name)
                continue
            # A target with a lean plan (vm_stages) boots only those.
            if T.vm_stages and name not in T.vm_stages:
                built_only.append(name)
                continue
            (vm / name).mkdir(exist_ok=True)
            for ko in (build / name).glob("*.ko"):
                shutil.copy(ko, vm / name)
            # On a kernel with KUnit, the module's own KUnit suites must run.
            plan.append(f"{name} {suite}{kunit_suites(d) if T.debug_kernel else ''}")
        if built_only:
            why = (f"its lean plan boots {' '.join(T.vm_stages)}" if T.vm_stages
                   else "derived, their code is in the modules booted")
            r.say(f"      {t}: built, not booted ({why}): {' '.join(built_only)}")
        if T.debug_kernel:
            # The stress suites, on stages built above.
            plan += [f"{name} {suite}" for name, suite in table("tests/stress") if (vm / name).is_dir()]
        (vm / "plan").write_text("".join(p + "\n" for p in plan))
        r.sh(f"{t}/release builds have no REVEAL code or strings, debug builds do",
             "reveal_only_in_debug", build, target=t)
        if t == self.primary:
            self.follow_start()
        if T.debug_kernel:
            self.browser_start()
        r.phase(f"{t}/guest")
        r.step(f"{t}: in-guest tests on Linux {T.kver}")
        t0 = r.seconds()
        timeout = os.environ.get("RUSTGUESS_TIMEOUT") or str(T.vm_timeout)
        rc = r.run_live([TOP / "tools/vm", t, vm, "run"], self.out / t / "vm.log",
                        lambda line: line if GUEST_LINES.match(line) else None,
                        env={"RUSTGUESS_TIMEOUT": timeout})
        console = vm / "console.log"
        # The results first, then the stream's own check.
        stream = r.results(console, prefix=f"{t}/")
        if T.debug_kernel:
            self.kunit_counts(stream, t)
        r.whole(f"{t}/vm", stream, console, rc, "guest tests", secs=r.seconds() - t0)
        if T.debug_kernel:
            r.sh(f"{t}/the KUnit output the book shows is this run's (demos/transcripts/kunit.txt)",
                 "kunit_transcript", console, self.out / t / "kunit.txt", target=t)
        if t == self.primary:
            r.phase(f"{t}/casts")
            self.casts(T, vm)

    def kunit_counts(self, stream, t):
        """How many KUnit cases and stress tests the debug kernel's guest ran
        (they are already in the totals, as guest tests)."""
        k = sum(1 for x in stream.results if "/kunit/" in x.name)
        s = sum(1 for x in stream.results if "/stress/" in x.name)
        self.run.say(f"      {t}: {k} KUnit cases and {s} stress tests among them")

    def casts(self, T, vm):
        """Replay the book's sessions on the primary target, in its own
        userland as the reader has it, and compare them with the casts."""
        r, t = self.run, T.name
        demo = self.out / t / "demo"
        demo.mkdir(parents=True, exist_ok=True)
        t0 = r.seconds()
        # One session shows the course assignment's unbounded write.
        built = r.sh(f"{t}/build the assignment's unbounded write (for a demo)",
                     "build_sabotaged", "unbounded-write", demo, target=t)
        r.step(f"{t}: the book's sessions in {T.title}'s own userland")
        rc = r.run([TOP / "tests/sh", "replay_casts", t, vm, "1" if built else "0"],
                   self.out / t / "replay.log", {"RG_TARGET": t})
        if rc:
            r.tail(self.out / t / "replay.log", 5)
        r.stream(f"{t}/casts", self.out / "casts.log", rc, "casts", prefix=f"{t}/", secs=r.seconds() - t0)

    # -- 3. the follow-along -----------------------------------------------------
    def follow_start(self):
        """The follow-along's chroot half (it needs no kernel), in the
        background from the primary target's VMs on, while the cores have
        room; follow() waits for it."""
        self.follow_t0 = self.run.seconds()
        env = {"FOLLOW_NO_CHECKS": "1" if self.quick else "", "FOLLOW_PART": "native"}
        self.follow_native = self.run.popen([TOP / "tests/follow/run"], open(self.out / "follow.log", "wb"),
                                            env, err=open(self.out / "follow.err", "wb"))

    def follow(self):
        """Do what the book tells the reader, in order, on the primary
        target (tests/follow/run); one check per block of the book."""
        r, t = self.run, self.primary
        T = self.load(t)
        r.phase(f"{t}/follow-along")
        r.step(f"{t}: following the book as a reader does, in {T.title}'s own userland")
        t0 = r.seconds()
        if self.follow_native is None:
            self.follow_start()
        rc = r.wait(self.follow_native)
        r.say(f"      {t}/follow: its chroot half ran alongside the VMs ({r.seconds() - self.follow_t0}s since it began)")
        if rc:
            r.say(f"      {t}/follow: the chroot half ended with status {rc}:")
            r.tail(self.out / "follow.err", 5)
        with open(self.out / "follow.log", "ab") as log, open(self.out / "follow.err", "ab") as err:
            rc = r.wait(r.popen([TOP / "tests/follow/run"], log, {"FOLLOW_PART": "guest"}, err=err))
        result = self.out / t / "follow" / "result.tap"
        plan = [x for x in (self.out / "follow.err").read_text(errors="replace").splitlines()
                if re.match(r"^follow: [0-9]", x)]
        r.say(f"      {t}/{plan[0] if plan else 'follow: no plan'}")
        if not result.is_file():
            r.tail(self.out / "follow.err", 5)
        r.stream(f"{t}/follow", result, rc, "blocks", prefix=f"{t}/follow/", secs=r.seconds() - t0)

    # -- 4. the harness's self-tests ----------------------------------------------
    def selftests_primary(self):
        """Each sabotage must make a specific, named check fail. The
        sabotaged modules boot on their own, not as expected failures in
        the target's main boot: two of them hurt the kernel itself (the
        unbounded write's WARNING taints it, and debugfs-no-owner oopses
        it, on purpose), which would fail every later stage's log and taint
        checks; and a boot costs about 5 s of the 22 s this one takes."""
        r, p = self.run, self.primary
        r.step("harness self-tests: sabotaged modules and a guest that never powers off")
        # The hung guest only waits for its timeout: let it do so alongside.
        hang_log = self.out / "selftest-hang.log"
        hang = r.popen([TOP / "tests/sh", "selftest_hang"], open(hang_log, "wb"))
        t0 = r.seconds()
        r.sh(f"{p}/self-test: wrong hint and kernel WARNING are caught", "selftest", target=p)
        r.judge(f"{p}/self-test: a hung guest fails on the timeout", r.wait(hang), hang_log, r.seconds() - t0)
        for what, module, test in [
            ("a HISTORY without its cap", "history-no-cap", "history/100000-guesses-bounded"),
            ("solo games sharing one secret", "solo-shared-secret", "solo/8-players-own-games-and-secrets"),
        ]:
            r.sh(f"{p}/self-test: {what} fails {test}", "sabotage_caught", module, test)
        r.sh(f"{p}/self-test: a release build with REVEAL compiled in fails the strings check",
             "selftest_reveal", target=p)
        for what, module, test in [
            ("a queue without its size bound", "queue-no-size-bound", "size-bound/64MiB-write-is-EMSGSIZE"),
            ("a counter with a non-atomic read-modify-write", "counter-not-atomic", "8x10000-writers-exact"),
            ("the C twin with a wrong hint", "c-twin-wrong-hint", "transcript"),
            ("a debugfs file without an owner", "debugfs-no-owner", "debugfs/rmmod-while-state-open-is-refused"),
        ]:
            r.sh(f"{p}/self-test: {what} fails {test}", "sabotage_caught", module, test)
        r.sh(f"{p}/self-test: the oops the debugfs chapter shows is this run's (demos/transcripts/debugfs-oops.txt)",
             "debugfs_oops_transcript", target=p)

    def selftests_targets(self):
        r = self.run
        for t in self.targets:
            T = self.load(t)
            v = T.kernel_version()
            if v < 701:
                r.sh(f"{t}/self-test: without the 7.0 handling the build fails",
                     "selftest_compat", "no-7.0-compat", "cannot find value `EMSGSIZE`", target=t)
            if v >= 703:
                r.sh(f"{t}/self-test: without the 7.3 handling the build fails",
                     "selftest_compat", "no-7.3-compat", "cannot find value `THIS_MODULE`", target=t)
            # An item the game needs, compiled for x86_64 only, must fail the
            # arm64 build: the target really builds for arm64, and catches
            # code that assumes the reader's architecture.
            if T.arch == "arm64":
                r.sh(f"{t}/self-test: an x86_64-only item (x86-only.patch) fails the arm64 build",
                     "selftest_compat", "x86-only", "cannot find value `OPTIONS`", target=t)
        for t in self.targets:
            T = self.load(t)
            if not T.debug_kernel:
                continue
            r.sh(f"{t}/self-test: a boot with four broken modules fails", "selftest_debug", t, target=t)
            for what, patch, test, report in [
                ("KASAN catches a use after free", "kasan-use-after-free", "kernel-log-clean",
                 "BUG: KASAN: slab-use-after-free"),
                ("kmemleak catches a leak", "kmemleak-history-not-freed", "kmemleak-clean", "unreferenced object"),
                ("might_sleep catches a copy from user space under a spinlock", "sleep-under-spinlock",
                 "kernel-log-clean", "BUG: sleeping function called from invalid context"),
                ("lockdep catches two locks taken in opposite orders", "lockdep-queue-inversion",
                 "kernel-log-clean", "possible circular locking dependency detected"),
            ]:
                r.sh(f"{t}/self-test: {what} ({patch}.patch)", "debug_caught", t, patch, test, report)
            r.sh(f"{t}/self-test: the reports the book shows are this run's (demos/transcripts/bug-finders.txt)",
                 "bugfinder_transcript", t, target=t)
        if self.book:
            r.sh("self-test: a shellcheck error fails the lint, naming the script", "selftest_lint_shellcheck")

    def selftests_lint_follow(self):
        r, p = self.run, self.primary
        r.sh(f"{p}/self-test: a rustfmt diff fails the lint, naming the file", "selftest_lint_rustfmt", target=p)
        r.sh(f"{p}/self-test: an unsafe block without SAFETY fails clippy", "selftest_lint_clippy", target=p)
        # follow.py's plan and checks have offline tests (below); this one
        # boots, to show that the VM loads what the chroot built.
        r.check(f"{p}/self-test: follow fails a module that logs the wrong message, in smoke-test.md",
                [TOP / "tests/follow/run", "--vm-selftest"])

    def selftests_offline(self):
        """The self-tests of the harness's own reading of results:
        fabricated files, no VM and no build, so --quick runs them too."""
        r = self.run
        r.phase("self-tests")
        r.step("self-tests of the results' reading: fabricated files")
        d = self.out / "selftest-offline"
        selftests = TOP / "tests/harness/selftests.py"
        r.check("self-test: a guest console cut in half fails its vm check (no plan, a short plan, no file, exit 125)",
                ["python3", selftests, "console", d / "console"])
        if self.has_primary:
            r.sh(f"{self.primary}/self-test: a missing or unreadable .ko fails the REVEAL check",
                 "selftest_reveal_missing", target=self.primary)
        r.check("self-test: a browser result with a page missing fails the browser check",
                ["python3", selftests, "browser", d / "browser"])
        r.check("self-test: a failed build's log shows rustc's first error, with its line",
                ["python3", selftests, "first-errors", d / "first-errors"])
        # follow.py's offline tests (tests/follow/test_follow.py): a small
        # book, planned and played against fake tools, then sabotaged: each
        # test a result.
        log = self.out / "follow-offline.log"
        t0 = r.seconds()
        rc = r.run(["python3", TOP / "tests/follow/test_follow.py", "--tap"], log)
        r.stream("self-test: follow.py offline", log, rc, "tests", secs=r.seconds() - t0)

    # -- 5. the book ------------------------------------------------------------------
    def book_checks(self):
        r = self.run
        r.phase("book")
        r.step("book: waiting for the mdBook tools")
        if self.book_tools is not None:
            r.wait(self.book_tools)
        r.step("book: build and check")
        tools = subprocess.run([TOP / "tools/book-tools"], env=r.env, capture_output=True, text=True)
        with open(self.out / "book-tools.log", "a") as f:
            f.write(tools.stderr)
        book_bin = tools.stdout.strip() if tools.returncode == 0 else ""
        env = {"PATH": f"{book_bin}:{r.env['PATH']}"} if book_bin else {}
        r.sh("book: no hand-typed kernel, compiler or date in book/ and README.md", "typed_versions")
        if not book_bin:
            r.fail("book tools")
            r.say("FAIL  book tools: see test-out/book-tools.log")
        else:
            r.sh("book: mdbook build and link check, no warnings", "book_build", env=env)
            r.check("book: every #link leads to an id on its page (tests/book_links.py)",
                    ["python3", TOP / "tests/book_links.py", TOP / "target/book/html", "/rustguess/"])
        r.sh("book: every include resolves to a non-empty anchor", "book_includes")
        r.sh("book: no pasted Rust or Makefile code", "book_no_pasted_code")
        r.sh("book: no chapter but the appendix narrates the test harness", "harness_words")
        r.sh("README: code tour points at the right lines", "readme_code_tour")
        r.sh("README: demo block is the recorded transcript", "readme_demo")
        if book_bin:
            r.sh("book: mermaid assets match mdbook-mermaid", "mermaid_assets", env=env)
        # The site in a real browser: Debian's Chromium, driven by
        # playwright-core, both in the harness chroot, never on the host.
        r.phase("browser")
        r.step("browser: the built book in headless Chromium, in the harness")
        if self.quick:
            r.say("      browser: skipped by --quick")
        else:
            if self.browser_thread is None:
                self.browser_run()
            else:
                self.browser_thread.join()
                r.say(f"      browser: ran alongside the debug kernel's guest, in {self.browser['secs']}s")
            b, log = self.browser, self.out / "browser.log"
            if r.judge("browser: Chromium and playwright-core installed in the harness", b["deps"],
                       self.out / "browser-deps.log", b["deps_secs"]):
                for line in log.read_text(errors="replace").splitlines():
                    if line.startswith("# first page"):
                        r.say(line)
                s = r.stream("browser", log, b["test"], "checks")
                if s.bad:
                    r.tail(log, 5)
            r.sh("self-test: a browser page that never loads fails browser/never: loads",
                 "selftest_browser_never_loads")
        r.phase("book")
        r.sh("workflows: actionlint", "actionlint_check")

    def browser_start(self):
        """The browser test needs the book, not a kernel: it runs alongside
        the debug kernel's guest, the run's longest step, whose tests
        mostly keep one of the two cores busy; book_checks judges it.
        Not when tools/refresh may rewrite transcripts during the run."""
        if self.quick or not self.book or os.environ.get("RUSTGUESS_UPDATE_TRANSCRIPTS") == "1":
            return
        self.browser_thread = threading.Thread(target=self.browser_guarded, daemon=True)
        self.browser_thread.start()

    def browser_guarded(self):
        """browser_run in its thread: an exception there becomes a failed
        check, not a lost thread."""
        try:
            self.browser_run()
        except Exception as e:  # whatever it is, it fails the browser checks
            (self.out / "browser-deps.log").write_text(f"the browser test's thread failed: {e!r}\n")
            self.browser = {"deps": 1, "deps_secs": 0, "test": 1, "secs": 0}

    def browser_run(self):
        """The book built from the sources into a directory of its own
        (test-out/browser-book), Chromium and playwright-core in the
        harness, then tests/browser/book.mjs on that book. Only the exit
        statuses are kept, in self.browser: the checks are made when the
        run gets to the browser (book_checks)."""
        r, t0 = self.run, time.monotonic()
        if self.book_tools is not None:
            r.wait(self.book_tools)
        tools = subprocess.run([TOP / "tools/book-tools"], env=r.env, capture_output=True, text=True)
        book_bin = tools.stdout.strip() if tools.returncode == 0 else ""
        site = self.out / "browser-book"
        built = 1
        with open(self.out / "browser-book.log", "wb") as log:
            if book_bin:
                built = r.wait(r.popen([Path(book_bin) / "mdbook", "build", "--dest-dir", site], log,
                                       {"PATH": f"{book_bin}:{r.env['PATH']}"}))
        d0 = time.monotonic()
        deps = r.run([TOP / "tests/sh", "browser_deps"], self.out / "browser-deps.log")
        deps_secs = int(time.monotonic() - d0)
        log = self.out / "browser.log"
        if deps != 0:
            test = deps
        elif built != 0:
            log.write_text("Bail out! the book did not build for the browser: see test-out/browser-book.log\n")
            test = built
        else:
            test = r.run([TOP / "tests/sh", "browser_test", site / "html", self.out / "screenshots"], log)
        self.browser = {"deps": deps, "deps_secs": deps_secs, "test": test, "secs": int(time.monotonic() - t0)}

    # -- the whole run -------------------------------------------------------------
    def all(self):
        r = self.run
        if not self.setup():
            return
        self.lint()
        for t in self.targets:
            p0, f0 = r.counts()
            self.target(t)
            self.result(t, p0, f0)
        # The follow-along's VM half comes after every target, so that its
        # chroot half, started with the primary target's VMs, ran behind
        # the others' too.
        if self.has_primary:
            p0, f0 = r.counts()
            self.follow()
            self.result(self.primary, p0, f0, add=True)
        if not self.quick:
            r.phase("self-tests")
            if self.has_primary:
                self.selftests_primary()
            self.selftests_targets()
            if self.has_primary:
                self.selftests_lint_follow()
        if self.book:
            self.book_checks()
        self.selftests_offline()

    def result(self, t, p0, f0, add=False):
        """For the book's "Tested on" table (tools/versions): the target's
        passed and failed checks, and the date."""
        p, f = self.run.counts()
        p, f = p - p0, f - f0
        path = self.out / t / "result"
        if add:
            rp, rf, rd = path.read_text().split()
            p, f, today = p + int(rp), f + int(rf), rd
        else:
            today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        path.write_text(f"{p} {f} {today}\n")
