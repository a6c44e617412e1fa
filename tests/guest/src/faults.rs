//! Allocation failures, on the debug kernel (a test of its stress stages):
//! the module's load, and each system call a reader makes on it (open,
//! write, read), is made again and again with its 1st, 2nd, 3rd, ... slab
//! allocation failing, until a run allocates nothing more that could fail. This is the kernel's
//! own fault injection (Documentation/fault-injection/): failslab, driven
//! for this task only through /proc/thread-self/fail-nth, and only for
//! allocations made under the module's code (its stack-trace filter),
//! leaving out kmemleak's own bookkeeping, whose failures kmemleak absorbs.
//!
//! Every injected failure must end the call with ENOMEM and leave the
//! module's state as it was (the module not loaded, the guess not counted,
//! the message not queued); the calls that follow must work. A load may
//! also succeed without what failed, if it is debugfs: the kernel's rule
//! is that a driver goes on without its debugfs files. The stage's own checks then
//! want no leak (kmemleak) and no warning. Each failure the kernel injects
//! logs a stack trace; the module's frames in it name the allocation site,
//! and the distinct sites are counted against what the module has.

use crate::dev;
use crate::part2::{state_value, STATE};
use crate::paths::rmmod;
use crate::stress::Kind;
use crate::{Ctx, TestResult};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;

const FAIL_NTH: &str = "/proc/thread-self/fail-nth";
const FAILSLAB: &str = "/sys/kernel/debug/failslab";
const ENOMEM: i32 = 12;
/// More allocations than any one call here makes: a loop that reaches it
/// means fail-nth is not being honoured.
const MOST: u32 = 200;

/// fail-nth of this thread, open for the whole test.
struct FailNth(File);

fn failslab(file: &str, value: String) -> Result<(), String> {
    std::fs::write(format!("{FAILSLAB}/{file}"), value).map_err(|e| {
        format!("{FAILSLAB}/{file}: {e} (are CONFIG_FAILSLAB and its stack-trace filter on?)")
    })
}

impl FailNth {
    /// Sets failslab up and opens this thread's fail-nth. Allocations
    /// that may sleep fail too (GFP_KERNEL ones do), and each failure logs
    /// a stack trace. kmemleak allocates its record of each allocation
    /// under the same stack and, when that fails, uses a pool: the call
    /// would then succeed though a failure was injected, so kmemleak_alloc
    /// is left out.
    fn open() -> Result<Self, String> {
        let (reject_start, reject_end) = function_range("kmemleak_alloc")?;
        failslab("ignore-gfp-wait", "N".to_owned())?;
        failslab("verbose", "2".to_owned())?;
        failslab("reject-start", format!("{reject_start:#x}"))?;
        failslab("reject-end", format!("{reject_end:#x}"))?;
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(FAIL_NTH)
            .map(FailNth)
            .map_err(|e| format!("{FAIL_NTH}: {e} (is CONFIG_FAULT_INJECTION on?)"))
    }

    /// Only allocations with code from START to END on the stack count:
    /// the module's, so that the kernel's own (the VFS's in open(), the
    /// module loader's) are left alone.
    fn require(&self, (start, end): (u64, u64)) -> Result<(), String> {
        failslab("require-start", format!("{start:#x}"))?;
        failslab("require-end", format!("{end:#x}"))
    }

    fn set(&self, n: u32) -> Result<(), String> {
        self.0
            .write_at(n.to_string().as_bytes(), 0)
            .map(|_| ())
            .map_err(|e| format!("{FAIL_NTH}: write {n}: {e}"))
    }

    /// Whether the failure set up last was injected (fail-nth reads 0
    /// then), and fail-nth off again.
    fn injected(&self) -> Result<bool, String> {
        let mut buf = [0u8; 16];
        let n = self
            .0
            .read_at(&mut buf, 0)
            .map_err(|e| format!("{FAIL_NTH}: read: {e}"))?;
        let left = String::from_utf8_lossy(&buf[..n]).trim().to_owned();
        self.set(0)?;
        Ok(left == "0")
    }
}

/// Where MODULE lies in memory, from /proc/modules: its base address and
/// size (all of its memory, of which the code is a part).
fn module_range(module: &str) -> Result<(u64, u64), String> {
    let text =
        std::fs::read_to_string("/proc/modules").map_err(|e| format!("/proc/modules: {e}"))?;
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(module))
        .ok_or_else(|| format!("{module} is not in /proc/modules"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let size: u64 = fields
        .get(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no size in {line:?}"))?;
    let base = fields
        .get(5)
        .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .filter(|&a| a != 0)
        .ok_or_else(|| format!("no address in {line:?}"))?;
    Ok((base, base + size))
}

/// x86-64's MODULES_END (arch/x86/include/asm/pgtable_64_types.h): the
/// debug kernel is x86-64.
const MODULES_END: u64 = 0xffff_ffff_ff00_0000;

/// Where any module's code lies: above the kernel's image (its `_end`), up
/// to MODULES_END. A module about to load has no address yet, and this
/// guest loads no module but the one tested.
fn modules_area() -> Result<(u64, u64), String> {
    Ok((symbol("_end")?, MODULES_END))
}

/// /proc/kallsyms as (address, name), sorted by address.
fn kallsyms() -> Result<Vec<(u64, String)>, String> {
    let text =
        std::fs::read_to_string("/proc/kallsyms").map_err(|e| format!("/proc/kallsyms: {e}"))?;
    let mut syms: Vec<(u64, String)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let _kind = f.next()?;
            Some((addr, f.next()?.to_owned()))
        })
        .collect();
    syms.sort_unstable();
    Ok(syms)
}

/// The address of the kernel symbol NAME, from /proc/kallsyms.
fn symbol(name: &str) -> Result<u64, String> {
    symbol_in(&kallsyms()?, name)
}

fn symbol_in(syms: &[(u64, String)], name: &str) -> Result<u64, String> {
    syms.iter()
        .find(|(a, n)| n == name && *a != 0)
        .map(|(a, _)| *a)
        .ok_or_else(|| format!("{name} is not in /proc/kallsyms"))
}

/// Where the kernel function NAME lies: from its address to the next
/// symbol's, in /proc/kallsyms.
fn function_range(name: &str) -> Result<(u64, u64), String> {
    let syms = kallsyms()?;
    let start = symbol_in(&syms, name)?;
    let end = syms
        .iter()
        .map(|(a, _)| *a)
        .find(|&a| a > start)
        .ok_or_else(|| format!("no symbol after {name} in /proc/kallsyms"))?;
    Ok((start, end))
}

/// What one call returned: its value, or its errno.
type Call<T> = Result<T, i32>;

fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Makes CALL with its 1st, 2nd, ... allocation failing until it runs with
/// none failed. Each injected failure must be ENOMEM, and SAME (called
/// after it) must find the module's state unchanged. Returns how many
/// failures were injected and the successful call's value.
fn each_failure<T>(
    f: &FailNth,
    what: &str,
    mut call: impl FnMut() -> Call<T>,
    mut same: impl FnMut() -> TestResult,
) -> Result<(u32, T), String> {
    for n in 1..=MOST {
        f.set(n)?;
        let result = call();
        let injected = f.injected()?;
        match (injected, result) {
            (false, Ok(value)) => return Ok((n - 1, value)),
            (false, Err(e)) => {
                return Err(format!(
                    "{what}: failed with errno {e} though no failure was injected"
                ))
            }
            (true, Ok(_)) => {
                return Err(format!(
                    "{what}: allocation {n} failed, yet the call succeeded"
                ))
            }
            (true, Err(e)) if e != ENOMEM => {
                return Err(format!(
                    "{what}: allocation {n} failed: errno {e}, not ENOMEM"
                ))
            }
            (true, Err(_)) => same()
                .map_err(|why| format!("{what}: after allocation {n} failed (ENOMEM): {why}"))?,
        }
    }
    Err(format!(
        "{what}: still failing after {MOST} allocations: is fail-nth honoured?"
    ))
}

/// What the load loop saw.
struct Loads {
    /// Allocations failed in all.
    failed: u32,
    /// The kernel functions the module called that went on without what
    /// failed (misc_register without its uevent, debugfs without a file),
    /// with how many failures each absorbed.
    absorbed: Vec<(String, u32)>,
    /// Allocations made with __GFP_NOWARN, whose failure the kernel does
    /// not report because the caller has a way round it (kvmalloc's
    /// kmalloc, before vmalloc): the load went on.
    quiet: u32,
}

/// Loads KO with the 1st, 2nd, ... allocation that MODULE's init makes
/// failing, until it loads with none failed. Each failure must refuse the
/// load with ENOMEM, leaving the module out of /proc/modules, or be
/// absorbed by the kernel below the module (a uevent not sent, a debugfs
/// file not made), when the module must have loaded whole: its device
/// opens. It is unloaded again then.
fn loads(c: &mut Ctx, f: &FailNth, module: &str, ko: &File, device: &str) -> Result<Loads, String> {
    let mut seen = Loads {
        failed: 0,
        absorbed: Vec::new(),
        quiet: 0,
    };
    for n in 1..=MOST {
        let before = c.log_since_test().len();
        f.set(n)?;
        let result = dev::finit_module(ko);
        let injected = f.injected()?;
        let loaded = module_range(module).is_ok();
        let report = last_report(c.log_since_test().get(before..).unwrap_or_default());
        match (injected, result) {
            (false, Ok(())) => return Ok(seen),
            (false, Err(e)) => {
                return Err(format!(
                    "load: failed with errno {e} though no failure was injected"
                ))
            }
            (true, Ok(())) => {
                if report.is_empty() {
                    seen.quiet += 1;
                } else {
                    let by = absorbed_by(&report, module).ok_or_else(|| {
                        format!("load: allocation {n} failed, yet it loaded: {report:?}")
                    })?;
                    match seen.absorbed.iter_mut().find(|(f, _)| *f == by) {
                        Some((_, k)) => *k += 1,
                        None => seen.absorbed.push((by, 1)),
                    }
                }
                open_rw(device).map_err(|e| {
                    format!("load: after allocation {n} failed, it loaded, but {device} does not open: errno {e}")
                })?;
                rmmod(module).map_err(|e| {
                    format!("load: after allocation {n} failed, it loaded, and then: {e}")
                })?;
            }
            (true, Err(e)) if e != ENOMEM => {
                return Err(format!(
                    "load: allocation {n} failed: errno {e}, not ENOMEM"
                ))
            }
            (true, Err(_)) if loaded => {
                return Err(format!(
                    "load: allocation {n} failed (ENOMEM), yet {module} is in /proc/modules"
                ))
            }
            (true, Err(_)) => {}
        }
        seen.failed += 1;
    }
    Err(format!(
        "load: still failing after {MOST} allocations: is fail-nth honoured?"
    ))
}

fn open_rw(path: &str) -> Call<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(errno)
}

fn write(f: &mut File, text: &str) -> Call<usize> {
    f.write(text.as_bytes()).map_err(errno)
}

fn read(f: &mut File) -> Call<String> {
    let mut buf = vec![0u8; 8192];
    let n = f.read(&mut buf).map_err(errno)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn state() -> Result<String, String> {
    std::fs::read_to_string(STATE).map_err(|e| format!("{STATE}: {e}"))
}

/// How many failures were injected in all.
struct Tally(u32);

impl Tally {
    fn add<T>(&mut self, r: Result<(u32, T), String>) -> Result<T, String> {
        let (n, value) = r?;
        self.0 += n;
        Ok(value)
    }
}

fn read_path(path: &str) -> Call<String> {
    std::fs::read_to_string(path).map_err(errno)
}

/// The test, with MODULE loaded from KO: its load again, then every call
/// of its kind, under failed allocations; then the allocation sites the
/// kernel's reports name.
pub fn run(c: &mut Ctx, kind: Kind, module: &str, ko: &str, paths: &[&str]) -> TestResult {
    let f = FailNth::open()?;
    let mut tally = Tally(0);
    let ko_file = File::open(ko).map_err(|e| format!("{ko}: {e}"))?;
    rmmod(module)?;
    f.require(modules_area()?)?;
    let load = loads(c, &f, module, &ko_file, paths[0])?;
    tally.0 += load.failed;
    f.require(module_range(module)?)?;
    let never = || Ok(());
    match kind {
        Kind::Game | Kind::Counter => {
            let path = paths[0];
            let guess = if kind == Kind::Game { "50\n" } else { "bump\n" };
            let mut file = tally.add(each_failure(&f, "open", || open_rw(path), never))?;
            tally.add(each_failure(&f, "write", || write(&mut file, guess), never))?;
            tally.add(each_failure(&f, "read", || read(&mut file), never))?;
        }
        Kind::Extended => {
            // A guess on the shared game: HISTORY records it, so the push
            // can fail; then the guess must not count.
            let tries = || state().and_then(|s| state_value(&s, "tries"));
            let before = tries()?;
            let mut file = tally.add(each_failure(&f, "open", || open_rw(paths[0]), never))?;
            let same = || {
                let now = tries()?;
                if now == before {
                    Ok(())
                } else {
                    Err(format!("tries went from {before} to {now}"))
                }
            };
            tally.add(each_failure(
                &f,
                "write a guess",
                || write(&mut file, "1\n"),
                same,
            ))?;
            let after: u64 = tries()?.parse().map_err(|e| format!("tries: {e}"))?;
            let want = before.parse::<u64>().map_err(|e| format!("tries: {e}"))? + 1;
            if after != want {
                return Err(format!(
                    "the guess that went through left tries at {after}, not {want}"
                ));
            }
            let reply = tally.add(each_failure(
                &f,
                "read the reply",
                || read(&mut file),
                never,
            ))?;
            if !reply.contains("1 is too low") && !reply.contains("Correct!") {
                return Err(format!("the reply to 1 is {reply:?}"));
            }
            // The debugfs file's open allocates its buffer.
            let shown = tally.add(each_failure(
                &f,
                "read the state file",
                || read_path(STATE),
                never,
            ))?;
            state_value(&shown, "tries")?;
            // A solo game is allocated per open.
            let mut solo = tally.add(each_failure(&f, "open solo", || open_rw(paths[1]), never))?;
            let reply = crate::part2::say(&mut solo, "50\n")?;
            if !reply.contains("50 is too") && !reply.contains("Correct!") {
                return Err(format!(
                    "the solo game after the failed opens answered {reply:?}"
                ));
            }
        }
        Kind::Queue => {
            let path = paths[0];
            let mut file = tally.add(each_failure(&f, "open", || open_rw(path), never))?;
            // Six messages: the queue grows on some of them, so its growth
            // fails too. A failed write queues nothing.
            let sent: Vec<String> = (1..=6).map(|i| format!("message {i}")).collect();
            for (i, msg) in sent.iter().enumerate() {
                let n = tally.add(each_failure(
                    &f,
                    &format!("write message {}", i + 1),
                    || write(&mut file, msg),
                    never,
                ))?;
                if n != msg.len() {
                    return Err(format!("write of {msg:?} returned {n}"));
                }
            }
            drop(file);
            for msg in &sent {
                // The queue hands one message per open file.
                let mut reader = open_rw(path).map_err(|e| format!("open to read: errno {e}"))?;
                let got = tally.add(each_failure(
                    &f,
                    "read a message",
                    || read(&mut reader),
                    never,
                ))?;
                if got != *msg {
                    return Err(format!(
                        "read {got:?}, wanted {msg:?}: a failed write left a trace"
                    ));
                }
            }
        }
    }
    let sites = sites(c.log_since_test(), module);
    println!(
        "# faults: {module}: {} allocations failed ({} in its load, {} of them quiet \
         ones with a fallback, and absorbed below it: {:?}), at {} allocation sites \
         of the module; each call failed with ENOMEM",
        tally.0,
        load.failed,
        load.quiet,
        load.absorbed,
        sites.len()
    );
    for s in &sites {
        println!("# faults:   {s}");
    }
    let want = match kind {
        // Its init's two misc_registers, debugfs's directory and file; the
        // history push and the solo game's open.
        Kind::Extended => 6,
        // Its init's misc_register; the open file's state, the message's
        // buffer and the queue's growth.
        Kind::Queue => 4,
        // Its init's misc_register, and nothing in open, read or write.
        Kind::Game | Kind::Counter => 1,
    };
    if sites.len() != want {
        return Err(format!(
            "{} allocation sites of {module} failed, wanted {want}: {sites:?}",
            sites.len()
        ));
    }
    Ok(())
}

/// The line that begins each fault injection report in the kernel log.
const REPORT: &str = "FAULT_INJECTION: forcing a failure";

/// Where fault injection's reports lie among LOG's lines: each from its
/// "FAULT_INJECTION: forcing a failure" line through its stack dump's
/// "</TASK>" (or up to the next report, or the log's end, if cut short).
fn reports(log: &[String]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in log.iter().enumerate() {
        if line.contains(REPORT) {
            if let Some(start) = open.replace(i) {
                found.push(start..i);
            }
        } else if line.contains("</TASK>") {
            if let Some(start) = open.take() {
                found.push(start..i + 1);
            }
        }
    }
    if let Some(start) = open {
        found.push(start..log.len());
    }
    found
}

/// The allocation sites that failed, from the kernel's reports since the
/// test began: each report's stack, as the module's frames in it.
pub fn sites(log: &[String], module: &str) -> Vec<String> {
    let tag = format!("[{module}]");
    let mut sites: Vec<String> = Vec::new();
    for report in reports(log) {
        let site = log
            .get(report)
            .unwrap_or_default()
            .iter()
            .map(|l| l.trim())
            // "? " marks a stale address the unwinder found on the stack,
            // not a frame of the call.
            .filter(|l| l.contains(&tag) && !l.starts_with("? "))
            .map(|l| l.split_whitespace().next().unwrap_or(l))
            .collect::<Vec<&str>>()
            .join(" < ");
        if !site.is_empty() && !sites.contains(&site) {
            sites.push(site);
        }
    }
    sites
}

/// The kernel function the module called that went on without the
/// allocation REPORT failed: the frame before the module's first.
fn absorbed_by(report: &[String], module: &str) -> Option<String> {
    let tag = format!("[{module}]");
    let frames: Vec<&String> = report
        .iter()
        .skip_while(|l| !l.contains("<TASK>"))
        .filter(|l| !l.starts_with("? "))
        .collect();
    let first = frames.iter().position(|l| l.contains(&tag))?;
    let caller = frames.get(first.checked_sub(1)?)?;
    caller.split('+').next().map(str::to_owned)
}

/// The lines of the last fault injection report in LOG, its stack's frames
/// among them.
fn last_report(log: &[String]) -> Vec<String> {
    let Some(report) = reports(log).pop() else {
        return Vec::new();
    };
    log.get(report)
        .unwrap_or_default()
        .iter()
        .take_while(|l| !l.contains("</TASK>"))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// The kernel log without fault injection's reports, which are not
/// findings.
pub fn without_reports(log: Vec<String>) -> Vec<String> {
    let reports = reports(&log);
    log.into_iter()
        .enumerate()
        .filter(|(i, _)| !reports.iter().any(|r| r.contains(i)))
        .map(|(_, l)| l)
        .collect()
}
