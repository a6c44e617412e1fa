//! rgtest: the tests that run inside the VM, against the real kernel.
//!
//! The VM's init runs `rgtest run PLAN`. Each line of PLAN is `DIR SUITE
//! [kunit=NAME]`: DIR holds a rustguess.ko (a chapter's snapshot, the
//! finished module, or a deliberately broken one), SUITE names the tests that
//! chapter's claims need ("-": ship the module, run nothing), and NAME is a
//! KUnit suite the module must run when loaded (on a kernel with KUnit).
//! Results are printed as TAP ("ok 3 - game/transcript"), which the host
//! reads from the serial console. After every stage the kernel log is
//! scanned for warnings, oopses, KASAN and lockdep reports and the like, the
//! module's KUnit results become tests of their own, and where the kernel
//! has kmemleak, a scan must find no new leak.

mod bench;
mod dev;
mod faults;
mod part2;
mod paths;
mod stress;
mod suites;

use std::time::{Duration, Instant};

/// Lines in the kernel log that fail a run, whatever the tests said.
const KERNEL_LOG_FINDINGS: &[&str] = &[
    "WARNING:",
    "BUG:",
    "Oops",
    "Call Trace",
    "refcount_t",
    "UBSAN",
    "general protection fault",
    "kernel BUG",
    // KASAN, lockdep and might_sleep reports begin with BUG: or WARNING:;
    // kmemleak's with this.
    "suspected memory leak",
];

/// Lines of a KASAN, lockdep or might_sleep report worth showing with its
/// first line (not findings by themselves).
const REPORT_DETAILS: &[&str] = &[
    "Read of size",
    "Write of size",
    "Allocated by task",
    "Freed by task",
    "The buggy address belongs to the object",
    "in_atomic(): ",
    "lock held by",
    "locks held by",
];

/// Taint flags, by bit (Documentation/admin-guide/tainted-kernels.rst).
const TAINT_FLAGS: &[u8] = b"PFSRMBUDAWCIOELKXTN";
/// Out-of-tree (O) and unsigned (E): expected for any module built outside
/// the kernel; and test (N), which KUnit sets when it runs a module's tests.
const EXPECTED_TAINT: &str = "OEN";

/// kmemleak's control file, where the kernel has kmemleak (the debug kernel).
const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";

pub type TestResult = Result<(), String>;

pub struct Ctx {
    pub dir: String,
    kmsg: dev::Kmsg,
    /// Kernel log lines seen during the current stage.
    stage_log: Vec<String>,
    /// Index into stage_log where the current test began.
    test_start: usize,
    count: usize,
    failed: usize,
    /// The kernel has kmemleak: scan for leaks after every stage.
    kmemleak: bool,
    /// The stage whose objects the last kmemleak scan saw first, and when
    /// that scan began (or why it failed): the next scan reports its leaks.
    kmemleak_pending: Option<(String, Result<Instant, String>)>,
}

impl Ctx {
    pub fn ko(&self) -> String {
        dev::ko_path(&self.dir)
    }

    fn pull_log(&mut self) {
        let new = self.kmsg.new_lines();
        self.stage_log.extend(new);
    }

    /// Kernel log lines logged since the current test began.
    pub fn log_since_test(&mut self) -> &[String] {
        self.pull_log();
        &self.stage_log[self.test_start..]
    }

    /// Passes if a kernel log line since the current test began contains `needle`.
    pub fn expect_log(&mut self, needle: &str) -> TestResult {
        if self.log_since_test().iter().any(|l| l.contains(needle)) {
            Ok(())
        } else {
            Err(format!("kernel log has no line containing {needle:?}"))
        }
    }

    /// Runs one named test and prints its TAP line.
    pub fn test(&mut self, name: &str, f: impl FnOnce(&mut Ctx) -> TestResult) {
        self.pull_log();
        self.test_start = self.stage_log.len();
        self.count += 1;
        let t = Instant::now();
        let res = f(self);
        let ms = t.elapsed().as_millis();
        match res {
            Ok(()) => println!("ok {} - {name} # {ms} ms", self.count),
            Err(why) => {
                self.failed += 1;
                println!("not ok {} - {name} # {ms} ms", self.count);
                for line in why.lines() {
                    println!("#   {line}");
                }
            }
        }
    }

    /// The checks that end every stage: the module's KUnit results (the
    /// suites in `kunit` must be there), a kmemleak scan, then every line
    /// the stage logged.
    fn check_kernel_log(&mut self, stage: &str, kunit: &[&str]) {
        self.pull_log();
        let results = kunit_results(&self.stage_log);
        for suite in kunit {
            // The suite's first run as the kernel logged it, for the book.
            for line in ktap_block(&self.stage_log, suite) {
                println!("# ktap: {line}");
            }
            let cases: Vec<&KunitCase> = results.iter().filter(|r| r.suite == *suite).collect();
            if cases.is_empty() {
                self.test(&format!("{stage}/kunit/{suite}"), |_| {
                    Err(format!(
                        "no KUnit results for suite {suite}: were the tests compiled out?"
                    ))
                });
            }
            // Each case once, as it first ran; a failure in any later load
            // (each insmod runs the suite again) fails it too.
            let mut seen: Vec<&str> = Vec::new();
            for case in &cases {
                if seen.contains(&case.name.as_str()) {
                    continue;
                }
                seen.push(&case.name);
                if case.skipped {
                    // Not a test that ran: say so, and count nothing.
                    println!(
                        "# kunit: {stage}/{suite}/{} skipped (not in this build)",
                        case.name
                    );
                    continue;
                }
                let failure = cases
                    .iter()
                    .find(|c| c.name == case.name && !c.ok)
                    .map(|c| c.why.join("\n"));
                self.test(
                    &format!("{stage}/kunit/{suite}/{}", case.name),
                    |_| match failure {
                        None => Ok(()),
                        Some(why) => Err(format!("KUnit says not ok:\n{why}")),
                    },
                );
            }
        }
        let unexpected: Vec<String> = results
            .iter()
            .filter(|r| !r.ok && !kunit.contains(&r.suite.as_str()))
            .map(|r| format!("KUnit: not ok {}/{}", r.suite, r.name))
            .collect();
        if self.kmemleak {
            self.kmemleak_scan(Some(stage));
        }
        self.pull_log();
        // Fault injection's reports (faults.rs) are the tests' doing.
        let log: Vec<String> = faults::without_reports(self.stage_log.drain(..).collect());
        let finding = |l: &String| KERNEL_LOG_FINDINGS.iter().any(|f| l.contains(f));
        let mut findings: Vec<String> = log.iter().filter(|l| finding(l)).cloned().collect();
        findings.extend(unexpected);
        // What is shown: the findings, and the lines of a report that say
        // what happened where.
        let shown: Vec<&String> = log
            .iter()
            .filter(|l| finding(l) || REPORT_DETAILS.iter().any(|f| l.contains(f)))
            .chain(findings.iter().filter(|f| f.starts_with("KUnit")))
            .collect();
        self.test(&format!("{stage}/kernel-log-clean"), |_| {
            if findings.is_empty() {
                return Ok(());
            }
            let mut why = String::from("kernel log findings:");
            for l in shown.iter().take(12) {
                why.push_str(&format!("\n{l}"));
            }
            Err(why)
        });
        self.stage_log.clear();
    }

    /// One kmemleak scan per stage, at its end: it reports the stage
    /// before (`STAGE/kmemleak-clean`), and is the first scan of this one's
    /// objects (NEXT; None after the last stage, whose scan this reports).
    ///
    /// kmemleak reports an object only if it is older than 5 s and its
    /// contents did not change since the scan before; for a new object,
    /// the first scan is such a change. So each stage's leaks need two
    /// scans at least 5 s apart. Waiting that out after every stage cost
    /// about 5 s a stage; instead the next stage's tests run in between,
    /// and only what is left of the 5.5 s is waited.
    fn kmemleak_scan(&mut self, next: Option<&str>) {
        let pending = self.kmemleak_pending.take();
        if let Some((_, Ok(started))) = &pending {
            std::thread::sleep(Duration::from_millis(5500).saturating_sub(started.elapsed()));
        }
        self.pull_log();
        let started = Instant::now();
        let scan = std::fs::write(KMEMLEAK, "scan").map_err(|e| format!("{KMEMLEAK}: scan: {e}"));
        // kmemleak's own line about this scan's finds ("N new suspected
        // memory leaks") is the check below's to report, for its stage.
        let new = self.kmsg.new_lines();
        self.stage_log.extend(
            new.into_iter()
                .filter(|l| !l.contains("new suspected memory leak")),
        );
        if let Some((stage, first)) = pending {
            let this = scan.clone();
            self.test(&format!("{stage}/kmemleak-clean"), |_| {
                first.map_err(|e| format!("the scan at the stage's end failed: {e}"))?;
                this?;
                kmemleak_report()
            });
        }
        if let Some(stage) = next {
            self.kmemleak_pending = Some((stage.to_owned(), scan.map(|()| started)));
        }
    }
}

/// What kmemleak's scans found, then forgotten: the next stage's check
/// starts afresh.
fn kmemleak_report() -> TestResult {
    let report = std::fs::read_to_string(KMEMLEAK).map_err(|e| format!("{KMEMLEAK}: read: {e}"))?;
    std::fs::write(KMEMLEAK, "clear").map_err(|e| format!("{KMEMLEAK}: clear: {e}"))?;
    if report.trim().is_empty() {
        return Ok(());
    }
    let objects = report.matches("unreferenced object").count();
    let mut why = format!("kmemleak: {objects} unreferenced objects:");
    for l in report.lines().take(24) {
        why.push_str(&format!("\n{l}"));
    }
    Err(why)
}

/// One KUnit test case's result, from the KTAP the kernel logged.
struct KunitCase {
    suite: String,
    name: String,
    ok: bool,
    /// "ok 3 name # SKIP": the case's body was compiled out (a `#[cfg]`).
    skipped: bool,
    /// The diagnostic lines before a failed case's result.
    why: Vec<String>,
}

/// The test cases in the KTAP output among LOG's lines. A suite's cases are
/// indented under its "# Subtest: NAME" line: "    ok 1 parse_works".
fn kunit_results(log: &[String]) -> Vec<KunitCase> {
    let mut results = Vec::new();
    let (mut suite, mut why) = (None::<String>, Vec::new());
    for line in log {
        let inner = line.strip_prefix("    ");
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("# Subtest: ") {
            suite = Some(name.trim().to_owned());
            why.clear();
            continue;
        }
        let Some(current) = &suite else { continue };
        let case = inner.and_then(|l| {
            let (ok, rest) = match l.strip_prefix("not ok ") {
                Some(rest) => (false, rest),
                None => (true, l.strip_prefix("ok ")?),
            };
            // "3 name" or "3 name # SKIP reason"
            let name = rest.split_whitespace().nth(1)?;
            Some((ok, name.to_owned(), rest.contains("# SKIP")))
        });
        match case {
            Some((ok, name, skipped)) => results.push(KunitCase {
                suite: current.clone(),
                name,
                ok,
                skipped,
                why: std::mem::take(&mut why),
            }),
            None if inner.is_some() => why.push(trimmed.to_owned()),
            // The suite's own result, unindented, ends it.
            None => suite = None,
        }
    }
    results
}

/// The KTAP of SUITE's first run among LOG's lines: from its "KTAP version"
/// line to the suite's own result.
fn ktap_block<'a>(log: &'a [String], suite: &str) -> &'a [String] {
    let subtest = format!("# Subtest: {suite}");
    let Some(at) = log.iter().position(|l| l.trim() == subtest) else {
        return &[];
    };
    let start = if at > 0 && log[at - 1].trim() == "KTAP version 1" {
        at - 1
    } else {
        at
    };
    let end = log[at..]
        .iter()
        .position(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .map_or(log.len(), |i| at + i + 1);
    &log[start..end]
}

/// Mounts debugfs (the busybox guest does not) and, if the kernel has
/// kmemleak, forgets what it found during boot: the stages start clean.
fn kmemleak_start() -> bool {
    if !std::path::Path::new(KMEMLEAK).exists() {
        let _ = std::process::Command::new("mount")
            .args(["-t", "debugfs", "debugfs", "/sys/kernel/debug"])
            .status();
    }
    // Task stacks are not scanned: a stack keeps stale copies of pointers
    // it once held, and this program's own kernel stack, which made every
    // allocation of the stage, could hide the very leaks it looks for.
    std::path::Path::new(KMEMLEAK).exists()
        && std::fs::write(KMEMLEAK, "stack=off").is_ok()
        && std::fs::write(KMEMLEAK, "clear").is_ok()
}

/// Reads /proc/sys/kernel/tainted and spells it as letters, e.g. "OE".
pub fn taint() -> (u64, String) {
    let value: u64 = std::fs::read_to_string("/proc/sys/kernel/tainted")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let letters = TAINT_FLAGS
        .iter()
        .enumerate()
        .filter(|(bit, _)| value & (1 << bit) != 0)
        .map(|(_, &c)| c as char)
        .collect();
    (value, letters)
}

fn run(plan_path: &str) -> i32 {
    let plan = match std::fs::read_to_string(plan_path) {
        Ok(p) => p,
        Err(e) => {
            println!("Bail out! cannot read plan {plan_path}: {e}");
            return 2;
        }
    };
    let kmsg = match dev::Kmsg::open() {
        Ok(k) => k,
        Err(e) => {
            println!("Bail out! {e}");
            return 2;
        }
    };
    let mut ctx = Ctx {
        dir: String::new(),
        kmsg,
        stage_log: Vec::new(),
        test_start: 0,
        count: 0,
        failed: 0,
        kmemleak: kmemleak_start(),
        kmemleak_pending: None,
    };
    println!("TAP version 13");
    if ctx.kmemleak {
        println!("# kmemleak: on; a scan ends every stage and reports the stage before");
    }
    // Boot messages are not ours to judge; start the log check from here.
    ctx.pull_log();
    ctx.stage_log.clear();
    let (_, boot_taint) = taint();
    for line in plan.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let (Some(dir), Some(suite)) = (words.next(), words.next()) else {
            println!("Bail out! bad plan line {line:?}");
            return 2;
        };
        if suite == "-" {
            continue; // shipped for the demos, not tested here
        }
        let stage = dir.rsplit('/').next().unwrap_or(dir).to_owned();
        ctx.dir = dir.to_owned();
        println!("# stage {stage}: suite {suite}");
        let kunit: Vec<&str> = words.filter_map(|w| w.strip_prefix("kunit=")).collect();
        if !suites::run(suite, &stage, &mut ctx) {
            println!("Bail out! unknown suite {suite:?}");
            return 2;
        }
        // Leave nothing loaded between stages.
        if dev::proc_modules_line().is_some() {
            let _ = dev::rmmod();
        }
        ctx.check_kernel_log(&stage, &kunit);
    }
    if ctx.kmemleak {
        // The last stage's second scan.
        ctx.kmemleak_scan(None);
    }
    let (value, letters) = taint();
    ctx.test("kernel-taint", |_| {
        println!("# taint: {value} ({letters}) at boot: ({boot_taint})");
        let unexpected: String = letters
            .chars()
            .filter(|c| !EXPECTED_TAINT.contains(*c))
            .collect();
        if unexpected.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "kernel tainted {letters} ({value}); unexpected flags: {unexpected}"
            ))
        }
    });
    println!("1..{}", ctx.count);
    println!("# {} passed, {} failed", ctx.count - ctx.failed, ctx.failed);
    i32::from(ctx.failed > 0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("run") => run(args.get(2).map_or("/rustguess/plan", String::as_str)),
        Some("player") => suites::player(&args[2..]),
        Some("cat") => part2::cat_cmd(&args[2..]),
        Some("writer") => paths::writer(&args[2..]),
        Some("bench") => bench::run(&args[2..]),
        _ => {
            eprintln!("usage: rgtest run PLAN | rgtest bench DIR | rgtest player GUESS COUNT | rgtest cat PATH | rgtest writer PATH TEXT COUNT");
            2
        }
    };
    std::process::exit(code);
}
