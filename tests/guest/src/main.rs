//! rgtest: the tests that run inside the VM, against the real kernel.
//!
//! The VM's init runs `rgtest run PLAN`. Each line of PLAN is `DIR SUITE`:
//! DIR holds a rustguess.ko (a chapter's snapshot, the finished module, or a
//! deliberately broken one), SUITE names the tests that chapter's claims
//! need ("-": ship the module, run nothing). Results are printed as TAP ("ok 3 - game/transcript"), which the
//! host reads from the serial console. After every stage the kernel log is
//! scanned for warnings, oopses and the like.

mod bench;
mod dev;
mod part2;
mod paths;
mod suites;

use std::time::Instant;

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
];

/// Taint flags, by bit (Documentation/admin-guide/tainted-kernels.rst).
const TAINT_FLAGS: &[u8] = b"PFSRMBUDAWCIOELKXTN";
/// Out-of-tree (O) and unsigned (E): expected for any module built outside the kernel.
const EXPECTED_TAINT: &str = "OE";

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

    /// The kernel-log check that ends every stage: every line the stage logged.
    fn check_kernel_log(&mut self, stage: &str) {
        self.pull_log();
        let findings: Vec<String> = self
            .stage_log
            .drain(..)
            .filter(|l| KERNEL_LOG_FINDINGS.iter().any(|f| l.contains(f)))
            .collect();
        self.test(&format!("{stage}/kernel-log-clean"), |_| {
            if findings.is_empty() {
                return Ok(());
            }
            let mut why = String::from("kernel log findings:");
            for l in findings.iter().take(12) {
                why.push_str(&format!("\n{l}"));
            }
            Err(why)
        });
        self.stage_log.clear();
    }
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
    };
    println!("TAP version 13");
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
        if !suites::run(suite, &stage, &mut ctx) {
            println!("Bail out! unknown suite {suite:?}");
            return 2;
        }
        // Leave nothing loaded between stages.
        if dev::proc_modules_line().is_some() {
            let _ = dev::rmmod();
        }
        ctx.check_kernel_log(&stage);
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
