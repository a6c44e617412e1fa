#!/usr/bin/env python3
"""Offline tests of follow.py: no chroot, no VM, standard library only.

    python3 tests/follow/test_follow.py [-v]
    python3 tests/follow/test_follow.py --tap     (TAP with a plan, for tests/run)

A small rendered book (FIXTURE, shaped like the real one) is planned with
follow.py, and the two scripts it writes are played by bash on this machine
against a fake machine (FAKE_TOOLS: apt, make, insmod, dmesg, ... as small
scripts, with the kernel's state in files), giving the same kind of host and
console logs as the real run. The tests then sabotage the book as
tests/run's self-tests once did in four VM boots, or edit the logs, and
require `not ok` in the right chapter and block.
"""
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import follow  # noqa: E402

FIXTURE = {
    "SUMMARY.md": """# Summary

- [Set-up](setup.md)
- [The smoke test](smoke-test.md)
- [write_iter](write-iter.md)
""",
    "setup.md": """# Set-up

<p class="not-run">Not run by this book's tests: Multipass runs on your computer.</p>

```sh
multipass launch --name rustguess
```

```sh
sudo apt update
sudo apt install -y build-essential kmod linux-headers-$(uname -r)
sudo apt install -y rustc-1.93
```

```console
$ uname -r
7.0.0-44-generic
$ rustc --version
rustc 1.93.1
```
""",
    "smoke-test.md": """# The smoke test

```console
$ mkdir ~/rustguess
$ cd ~/rustguess
```

<details><summary>File: <code>~/rustguess/rustguess.rs</code></summary>

```rust
use kernel::prelude::*;

module! {
    type: RustGuess,
    name: "rustguess",
}

fn init() { pr_info!("module loaded\\n"); }
```

</details>

<details><summary>File: <code>~/rustguess/Kbuild</code></summary>

```makefile
obj-m := rustguess.o
```

</details>

<details><summary>File: <code>~/rustguess/Makefile</code></summary>

```makefile
KDIR ?= /lib/modules/$(shell uname -r)/build
default:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
```

</details>

```console
ubuntu@rustguess:~/rustguess$ make
  RUSTC [M] rustguess.o
  LD [M]  rustguess.ko
```

```console
ubuntu@rustguess:~/rustguess$ sudo insmod rustguess.ko
ubuntu@rustguess:~/rustguess$ sudo dmesg | tail -n 1
[   10.867515] rustguess: module loaded
ubuntu@rustguess:~/rustguess$ lsmod | grep -c rustguess
1
ubuntu@rustguess:~/rustguess$ sudo rmmod rustguess
```

<!-- follow-exit 1: sudo rmmod rustguess -->

```console
ubuntu@rustguess:~/rustguess$ sudo rmmod rustguess
rmmod: ERROR: Module rustguess is not currently loaded
```

## Exercises

<!-- follow-check smoke-test.md exercise 1
perl -0pi -e 's/(    type: RustGuess,\\n)(    name: "rustguess",\\n)/$2$1/' rustguess.rs
make
expect: keys are not ordered as expected
-->

<!-- follow-check smoke-test.md exercise 2
grep -c 'module loaded' rustguess.rs
make >/dev/null 2>&1 && sudo insmod rustguess.ko && lsmod | grep -c rustguess
sudo rmmod rustguess
expect: \\A1\\n1\\Z
-->
""",
    "write-iter.md": """# write_iter

<details><summary>File: <code>~/rustguess/rustguess.rs</code></summary>

```rust
use kernel::prelude::*;
use core::cmp::Ordering;

module! {
    type: RustGuess,
    name: "rustguess",
}

fn init() { pr_info!("ready for guesses\\n"); }
fn hint(a: u8, b: u8) -> bool { a.cmp(&b) == Ordering::Less }
```

</details>

```console
ubuntu@rustguess:~/rustguess$ make
  RUSTC [M] rustguess.o
  LD [M]  rustguess.ko
ubuntu@rustguess:~/rustguess$ sudo insmod rustguess.ko
ubuntu@rustguess:~/rustguess$ sudo dmesg | tail -n 1
[   18.856201] rustguess: ready for guesses
ubuntu@rustguess:~/rustguess$ sudo rmmod rustguess
```

<!-- follow-exit 1: strings rustguess.ko | grep -c REVEAL -->

```console
ubuntu@rustguess:~/rustguess$ strings rustguess.ko | grep -c REVEAL
0
```
""",
}

# The fake machine. The kernel's state (loaded modules, its log) lives in
# $FAKE_KERNEL; `make` "compiles" rustguess.rs by two rules a real rustc
# would also apply here, and writes the module's message into the .ko.
FAKE_TOOLS = {
    "sudo": """case $1 in apt) shift; exec apt "$@" ;; esac
exec "$@"
""",
    "apt": """case $1 in
update) echo "Reading package lists... Done" ;;
install) shift; [ "$1" = -y ] && shift
    for p in "$@"; do
        case $p in build-essential|kmod|linux-headers-7.0.0-44-generic|rustc-1.93) ;;
        *) echo "E: Unable to locate package $p"; exit 100 ;; esac
    done
    echo "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded." ;;
*) exit 1 ;;
esac
""",
    "uname": 'echo 7.0.0-44-generic\n',
    "rustc": 'echo "rustc 1.93.1"\n',
    "make": """case "$*" in
"") ;;
*) echo "make: *** No rule to make target '$1'.  Stop."; exit 2 ;;
esac
echo "  RUSTC [M] rustguess.o"
if grep -q 'Ordering::' rustguess.rs && ! grep -q '^use core::cmp::Ordering;' rustguess.rs; then
    echo "error[E0433]: failed to resolve: use of undeclared type \\`Ordering\\`"; exit 2
fi
if [ "$(grep -n -e '    name:' -e '    type:' rustguess.rs | head -n1 | cut -d: -f2-)" = '    name: "rustguess",' ]; then
    echo "error: keys are not ordered as expected"; exit 2
fi
echo "  LD [M]  rustguess.ko"
echo "intermediate" >rustguess.o
sed -n 's/.*pr_info!("\\(.*\\)\\\\n").*/rustguess: \\1/p' rustguess.rs >rustguess.ko
""",
    "insmod": """[ -f "$1" ] || { echo "insmod: ERROR: could not load module $1: No such file or directory"; exit 1; }
grep -qx rustguess "$FAKE_KERNEL/loaded" 2>/dev/null && { echo "insmod: ERROR: could not insert module $1: File exists"; exit 1; }
echo rustguess >>"$FAKE_KERNEL/loaded"
sed 's/^/[    1.000000] /' "$1" >>"$FAKE_KERNEL/log"
""",
    "rmmod": """grep -qx "$1" "$FAKE_KERNEL/loaded" 2>/dev/null ||
    { echo "rmmod: ERROR: Module $1 is not currently loaded"; exit 1; }
grep -vx "$1" "$FAKE_KERNEL/loaded" >"$FAKE_KERNEL/loaded.new"; mv "$FAKE_KERNEL/loaded.new" "$FAKE_KERNEL/loaded"
""",
    "lsmod": 'echo "Module                  Size  Used by"; sed "s/$/              12288  0/" "$FAKE_KERNEL/loaded" 2>/dev/null\n',
    "dmesg": 'cat "$FAKE_KERNEL/log" 2>/dev/null\n',
    "strings": 'cat "$@"\n',
}


def sabotage(book, chapter, old, new):
    """A copy of BOOK with OLD replaced by NEW in CHAPTER (which must change)."""
    assert old in book[chapter], f"{old!r} is not in {chapter}"
    copy = dict(book)
    copy[chapter] = book[chapter].replace(old, new)
    return copy


class Run:
    """A book planned and played on the fake machine, in a temporary directory."""

    def __init__(self, book, tmp):
        self.dir = Path(tmp)
        md = self.dir / "rendered"
        md.mkdir()
        for name, text in book.items():
            (md / name).write_text(text)
        with contextlib.redirect_stdout(io.StringIO()):
            follow.plan(md, md / "SUMMARY.md", self.dir)
        self.plan = json.loads((self.dir / "plan.json").read_text())
        self.host_log, self.console_log = self.dir / "host.log", self.dir / "console.log"

    def play(self):
        """Run native.sh, then guest.sh, as the chroot and the VM would."""
        bin_dir, home, seg, kernel = (self.dir / d for d in ("bin", "home", "seg", "kernel"))
        for d in (bin_dir, home, seg, kernel):
            d.mkdir()
        for name, text in FAKE_TOOLS.items():
            (bin_dir / name).write_text("#!/bin/bash\n" + text)
            (bin_dir / name).chmod(0o755)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
               "FAKE_KERNEL": str(kernel), "RG_FOLLOW_SEG": str(seg)}
        with open(self.host_log, "w") as log:
            subprocess.run(["bash", self.dir / "native.sh", seg], env=env, cwd=home, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60, check=False)
        with open(self.console_log, "w") as log:
            subprocess.run(["bash", self.dir / "guest.sh"], env=env, cwd=home, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60, check=False)
        return self

    def check(self):
        """follow.py check's TAP lines."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            follow.check(self.dir, self.host_log, self.console_log)
        return out.getvalue().splitlines()

    def key(self, chapter_block, cmd):
        """The id of CMD in the step named CHAPTER_BLOCK."""
        for si, step in enumerate(self.plan["steps"]):
            if step["where"] == chapter_block:
                for ci, c in enumerate(step["commands"]):
                    if c["cmd"] == cmd:
                        return f"{si}.{ci}"
        raise KeyError((chapter_block, cmd))


def failures(tap):
    return [line for line in tap if line.startswith("not ok ")]


class FollowTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test_follow.")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.n = 0

    def run_book(self, book=FIXTURE):
        self.n += 1
        d = Path(self.tmp) / str(self.n)
        d.mkdir()
        return Run(book, d)

    def assertTap(self, tap):
        """A plan line first, then exactly that many results, numbered in order."""
        self.assertRegex(tap[0], r"^1\.\.\d+$")
        results = [line for line in tap if re.match(r"(not )?ok ", line)]
        self.assertEqual(len(results), int(tap[0][3:]))
        self.assertEqual([int(re.match(r"(?:not )?ok (\d+)", r).group(1)) for r in results],
                         list(range(1, len(results) + 1)))

    def assertFailsFirstIn(self, tap, pattern):
        self.assertTap(tap)
        bad = failures(tap)
        self.assertTrue(bad, "nothing failed:\n" + "\n".join(tap))
        self.assertRegex(bad[0], r"^not ok \d+ - " + pattern, "\n".join(tap))


class CleanBook(FollowTest):
    def test_passes(self):
        tap = self.run_book().play().check()
        self.assertTap(tap)
        self.assertEqual(failures(tap), [], "\n".join(tap))
        self.assertIn("#   setup.md block 1: Not run by this book's tests: Multipass runs on your computer.", tap)

    def test_where_commands_run(self):
        r = self.run_book()
        runs = {c["cmd"]: c["run"] for s in r.plan["steps"] for c in s.get("commands", [])}
        self.assertEqual(runs["sudo apt update"], "native")
        self.assertEqual(runs["make"], "native")
        self.assertEqual(runs["strings rustguess.ko | grep -c REVEAL"], "native")
        self.assertEqual(runs["uname -r"], "guest")
        self.assertEqual(runs["sudo insmod rustguess.ko"], "guest")
        self.assertEqual(runs["lsmod | grep -c rustguess"], "guest")
        checks = [s["commands"][0]["run"] for s in r.plan["steps"] if s["kind"] == "check"]
        self.assertEqual(checks, ["native", "split"])

    def test_guest_gets_modules_not_intermediates(self):
        r = self.run_book().play()
        seg = r.dir / "seg"
        names = subprocess.run(["tar", "-tzf", seg / "1.tgz"], capture_output=True, text=True,
                               check=True).stdout.split()
        self.assertEqual(sorted(names), ["./rustguess/Kbuild", "./rustguess/Makefile",
                                        "./rustguess/rustguess.ko", "./rustguess/rustguess.rs"])
        self.assertEqual((seg / "1.cwd").read_text().strip(), str(r.dir / "home" / "rustguess"))

    def test_segments_in_book_order(self):
        guest = (self.run_book().dir / "guest.sh").read_text()
        self.assertEqual(re.findall(r"^rg_restore (\d+)$", guest, re.M), ["0", "1", "2", "3"])


class SabotagedBook(FollowTest):
    """What tests/run's four follow-along self-tests booted a VM for."""

    def test_listing_missing_a_line(self):
        book = sabotage(FIXTURE, "write-iter.md", "use core::cmp::Ordering;\n", "")
        self.assertFailsFirstIn(self.run_book(book).play().check(),
                                r"write-iter\.md block 2: make exited 2 and printed something else")

    def test_misspelled_package(self):
        book = sabotage(FIXTURE, "setup.md", "install -y rustc-1.93", "install -y rustc-1.39")
        self.assertFailsFirstIn(self.run_book(book).play().check(),
                                r"setup\.md block 2: sudo apt install -y rustc-1\.39 exited 100")

    def test_make_all2(self):
        book = sabotage(FIXTURE, "smoke-test.md", "rustguess$ make\n", "rustguess$ make all2\n")
        self.assertFailsFirstIn(self.run_book(book).play().check(),
                                r"smoke-test\.md block 5: make all2 exited 2 and printed something else")

    def test_exercise_promising_the_wrong_error(self):
        book = sabotage(FIXTURE, "smoke-test.md", "expect: keys are not ordered as expected",
                        "expect: keys are in the right order")
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md exercise 1: the output does not match")
        self.assertEqual(len(failures(tap)), 1)

    def test_module_built_natively_is_the_one_loaded(self):
        book = sabotage(FIXTURE, "smoke-test.md", 'pr_info!("module loaded', 'pr_info!("module loaded, sabotaged')
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md block 6: sudo dmesg \| tail -n 1 printed something else")
        self.assertIn("#     now:  [TIME] rustguess: module loaded, sabotaged", tap)

    def test_guest_half_of_an_exercise(self):
        book = sabotage(FIXTURE, "smoke-test.md", "lsmod | grep -c rustguess\nsudo", "lsmod | grep -c rustguess2\nsudo")
        self.assertFailsFirstIn(self.run_book(book).play().check(),
                                r"smoke-test\.md exercise 2: the output does not match")

    def test_exercise_build_failing_stops_the_guest_half(self):
        # The check's make fails in the chroot: the VM must not load the
        # module left by the reader's own build.
        book = sabotage(FIXTURE, "smoke-test.md", "make >/dev/null 2>&1 && sudo insmod",
                        "make all2 >/dev/null 2>&1 && sudo insmod")
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md exercise 2: the output does not match")
        self.assertTrue(any("rmmod: ERROR: Module rustguess is not currently loaded" in line for line in tap))
        self.assertFalse(any("insmod: ERROR" in line for line in tap), "\n".join(tap))

    def test_unmarked_failure_with_output(self):
        book = sabotage(FIXTURE, "smoke-test.md", "<!-- follow-exit 1: sudo rmmod rustguess -->\n", "")
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md block 7: sudo rmmod rustguess exited 1, and the book "
                                     r"does not say it fails \(if it should: <!-- follow-exit 1: sudo rmmod rustguess -->")
        self.assertEqual(len(failures(tap)), 1)

    def test_marker_with_the_wrong_status(self):
        book = sabotage(FIXTURE, "write-iter.md", "follow-exit 1: strings", "follow-exit 2: strings")
        self.assertFailsFirstIn(self.run_book(book).play().check(), r"write-iter\.md block 3: strings .* exited 1")

    def test_stale_marker(self):
        book = sabotage(FIXTURE, "smoke-test.md", "follow-exit 1: sudo rmmod rustguess",
                        "follow-exit 1: sudo rmmod rustguess2")
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md block 7: a follow-exit comment names 'sudo rmmod rustguess2'")

    def test_marker_does_not_cover_a_command_without_output(self):
        # The first rmmod of block 6 shows no output: a marker cannot excuse it.
        book = sabotage(FIXTURE, "smoke-test.md", "```console\nubuntu@rustguess:~/rustguess$ sudo insmod",
                        "<!-- follow-exit 1: sudo rmmod rustguess -->\n\n```console\n"
                        "ubuntu@rustguess:~/rustguess$ sudo insmod")
        tap = self.run_book(book).play().check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md block 6: a follow-exit comment names 'sudo rmmod rustguess', "
                                     r"which this block does not show output for")


class EditedLogs(FollowTest):
    def setUp(self):
        super().setUp()
        self.r = self.run_book().play()

    def edit(self, log, old, new):
        text = log.read_text()
        self.assertIn(old, text)
        log.write_text(text.replace(old, new, 1))

    def test_wrong_output(self):
        self.edit(self.r.console_log, "rustguess: module loaded", "rustguess: module unloaded")
        self.assertFailsFirstIn(self.r.check(), r"smoke-test\.md block 6: sudo dmesg \| tail -n 1 printed something else")

    def test_command_without_output_exits_1(self):
        key = self.r.key("smoke-test.md block 6", "sudo insmod rustguess.ko")
        self.edit(self.r.console_log, f"@@RG-RC {key} 0@@", f"@@RG-RC {key} 1@@")
        self.assertFailsFirstIn(self.r.check(), r"smoke-test\.md block 6: sudo insmod rustguess\.ko exited 1$")

    def test_command_with_output_exits_1(self):
        key = self.r.key("setup.md block 3", "rustc --version")
        self.edit(self.r.host_log, f"@@RG-RC {key} 0@@", f"@@RG-RC {key} 1@@")
        self.assertFailsFirstIn(self.r.check(), r"setup\.md block 3: rustc --version exited 1, and the book does not say")

    def test_log_cut_short(self):
        text = self.r.console_log.read_text()
        key = self.r.key("smoke-test.md block 6", "lsmod | grep -c rustguess")
        self.r.console_log.write_text(text[:text.index(f"@@RG-CMD {key}@@")])
        tap = self.r.check()
        self.assertFailsFirstIn(tap, r"smoke-test\.md block 6: lsmod \| grep -c rustguess: did not run")
        self.assertTrue(all(re.search(r"(smoke-test|write-iter)\.md|the kernel log: sudo dmesg did not run", line)
                            for line in failures(tap)))
        self.assertRegex("\n".join(tap), r"(?m)^ok \d+ - setup\.md block 3")

    def test_kernel_oops_in_the_log(self):
        self.edit(self.r.console_log, "@@RG-CMD klog@@\n",
                  "@@RG-CMD klog@@\n[   42.0] BUG: unable to handle page fault for address: ffffffffc0289848\n")
        tap = self.r.check()
        self.assertEqual(failures(tap), [failures(tap)[0]])
        self.assertRegex(failures(tap)[0], r"the kernel log: the kernel reported .*BUG: unable to handle page fault")

    def test_warning_no_exercise_provokes(self):
        self.edit(self.r.console_log, "@@RG-CMD klog@@\n",
                  "@@RG-CMD klog@@\n[   42.0] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:5290\n")
        self.assertFailsFirstIn(self.r.check(), r"the kernel log: 1 WARNINGs, where the exercises provoke 0")

    def test_missing_console_log(self):
        self.r.console_log.unlink()
        tap = self.r.check()
        self.assertFailsFirstIn(tap, r"setup\.md block 3: uname -r: did not run: the VM's console log .* is missing")
        self.assertRegex("\n".join(tap), r"(?m)^ok \d+ - setup\.md block 2: sudo apt update")  # in the chroot

    def test_missing_host_log(self):
        self.r.host_log.unlink()
        tap = self.r.check()
        self.assertFailsFirstIn(tap, r"setup\.md block 2: sudo apt update: did not run: the chroot's log .* is missing")
        self.assertRegex("\n".join(tap), r"(?m)^ok \d+ - smoke-test\.md block 6: sudo insmod")  # all in the VM


class Classifier(unittest.TestCase):
    # Every shape of command the real book has, and where it must run.
    NATIVE = ["sudo apt install -y rustc-1.93", "rustc --version",
              "grep -E '^CONFIG_RUST(C_VERSION_TEXT)?=' /lib/modules/$(uname -r)/build/.config",
              "ls /lib/modules/$(uname -r)/build/rust", "mkdir ~/rustguess", "cd ~/rustguess",
              "mkdir -p ~/rustqueue && cd ~/rustqueue", "make", "make DEBUG=1", "make clean",
              "make CLIPPY=1 CLIPPY_DRIVER=/usr/lib/rust-1.93/bin/clippy-driver",
              "/usr/lib/rust-1.93/bin/rustfmt --check --edition 2021 rustguess.rs",
              "strings rustguess.ko | grep -c REVEAL", "modinfo rustguess.ko",
              "perl -0pi -e 's/(a)(b)/$2$1/' rustguess.rs", "make >/dev/null 2>&1",
              "rust=$(grep -o 'rustc 1\\.[0-9]*' /lib/modules/$(uname -r)/build/.config | cut -c7-)",
              "sudo apt install -y rustc-$rust"]
    GUEST = ["uname -r", "sudo insmod rustguess.ko", "lsmod | grep rustguess", "dmesg | tail -n 1",
             "sudo dmesg | tail -n 1", "sysctl kernel.dmesg_restrict", "cat /sys/kernel/security/lockdown",
             "ls -l /dev/rustguess", "grep rustguess /proc/modules", "echo 50 | sudo tee /dev/rustguess",
             "sudo sh -c 'exec sleep 60 < /dev/rustguess' & sleep 1", "kill $! && wait",
             "for i in $(seq 4 40); do echo \"$i\" | sudo tee /dev/rustguess >/dev/null; done",
             "cat /sys/kernel/debug/rustguess/state", "sudo gnudd if=/dev/zero of=/dev/rustguess bs=64M count=1",
             "modinfo rustguess", "X=1 make", "journalctl -k", "make &", "echo $X", "unknown-tool",
             "x=$(cat /dev/rustguess)", "x=$(cat $f)", "x=$(sudo dmesg)"]

    def test_native(self):
        for cmd in self.NATIVE:
            self.assertEqual(follow.classify(cmd), "native", cmd)

    def test_guest(self):
        for cmd in self.GUEST:
            self.assertEqual(follow.classify(cmd), "guest", cmd)

    def test_split_check(self):
        lines = ["perl -pi -e 's/a/b/' rustguess.rs",
                 "make >/dev/null 2>&1 && sudo insmod rustguess.ko && echo 50 | sudo tee /dev/rustguess",
                 "sudo rmmod rustguess"]
        self.assertEqual(follow.split_check(lines),
                         (lines[:1], "make >/dev/null 2>&1", "sudo insmod rustguess.ko && echo 50 | sudo tee /dev/rustguess",
                          lines[2:]))
        only_build = ["make 2>&1 | grep -E '^(warning|error)' ; echo \"built: $?\""]
        self.assertEqual(follow.split_check(only_build), (only_build, "", "", []))

    def test_what_the_chroot_cannot_follow_is_refused(self):
        for cmd, why in (("cd /sys/kernel/debug && ls", "changes directory"),
                         ("sudo dmesg > log.txt", "writes log.txt"),
                         ("sudo dmesg | tee -a log.txt", "writes log.txt")):
            book = dict(FIXTURE)
            book["setup.md"] += f"\n```console\n$ {cmd}\n```\n"
            with tempfile.TemporaryDirectory() as tmp:
                with self.assertRaises(SystemExit) as e:
                    Run(book, tmp)
                self.assertIn(f"needs the kernel and {why}", str(e.exception))
        for cmd in ("echo 50 | sudo tee /dev/rustguess >/dev/null", 'echo 1 | sudo tee /sys/kernel/debug/x 2>&1'):
            self.assertIsNone(follow.leaves_the_guest(cmd), cmd)


class TapResult(unittest.TestResult):
    """Each test as one TAP result, after a plan, for tests/run to count
    (unittest prints no TAP of its own). A test passes only if it ran to the
    end with no failure, error or failed subtest; a skip is a failure."""

    def __init__(self, plan):
        super().__init__()
        self.n = 0
        print(f"1..{plan}", flush=True)

    def startTest(self, test):
        super().startTest(test)
        self.bad = []

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad.append(self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self.bad.append(self.errors[-1][1])

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.bad.append(f"{subtest}: " + self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.bad.append(f"skipped: {reason}")

    def stopTest(self, test):
        super().stopTest(test)
        self.n += 1
        name = "follow.py/" + test.id().split(".", 1)[-1]
        print(f"{'not ok' if self.bad else 'ok'} {self.n} - {name}")
        for line in "\n".join(self.bad).splitlines()[-12:]:
            print("#   " + line)
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--tap"]:
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        result = TapResult(suite.countTestCases())
        suite.run(result)
        sys.exit(0 if result.wasSuccessful() and not result.skipped else 1)
    unittest.main()
