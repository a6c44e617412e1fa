//! The course's other two paths: rustqueue (path A), a bounded FIFO message
//! queue, and rustcounter (path B), an atomic counter.

use crate::dev::{self, EMSGSIZE};
use crate::suites::{expect_eq, expect_errno};
use crate::{Ctx, TestResult};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const QUEUE: &str = "/dev/rustqueue";
const COUNTER: &str = "/dev/rustcounter";
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;

pub fn run(suite: &str, stage: &str, c: &mut Ctx) -> bool {
    match suite {
        "queue-enqueue" => queue_enqueue(c, stage),
        "queue" => queue(c, stage),
        "counter-bump" => counter_bump(c, stage),
        "counter" => counter(c, stage),
        // For tests/run's self-tests: the one test a sabotage must fail.
        "selftest-queue" => {
            let ko = format!("{}/rustqueue.ko", c.dir);
            c.test(&format!("{stage}/insmod"), |_| dev::insmod(&ko));
            c.test(
                &format!("{stage}/size-bound/64MiB-write-is-EMSGSIZE"),
                |_| expect_errno(write_once(QUEUE, &vec![b'x'; 64 << 20]), EMSGSIZE),
            );
            c.test(&format!("{stage}/rmmod"), |_| rmmod("rustqueue"));
        }
        // A write then a read, each taking the queue's and a file's lock:
        // with the lock-order sabotage, lockdep sees both orders.
        "selftest-lockdep" => {
            let ko = format!("{}/rustqueue.ko", c.dir);
            c.test(&format!("{stage}/insmod"), |_| dev::insmod(&ko));
            c.test(&format!("{stage}/write-then-read"), |_| {
                write_once(QUEUE, b"one\n").map_err(|e| e.to_string())?;
                expect_eq(&cat_text(QUEUE)?, "one\n")
            });
            c.test(&format!("{stage}/rmmod"), |_| rmmod("rustqueue"));
        }
        "selftest-counter" => {
            let ko = format!("{}/rustcounter.ko", c.dir);
            c.test(&format!("{stage}/insmod"), |_| dev::insmod(&ko));
            c.test(&format!("{stage}/8x10000-writers-exact"), |_| {
                writers(8, 10_000)
            });
            c.test(&format!("{stage}/rmmod"), |_| rmmod("rustcounter"));
        }
        _ => return crate::stress::run(suite, stage, c),
    }
    true
}

pub(crate) fn rmmod(name: &str) -> TestResult {
    let out = Command::new("rmmod")
        .arg(name)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "rmmod {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn loaded(name: &str) -> bool {
    std::fs::read_to_string("/proc/modules")
        .map(|m| m.lines().any(|l| l.starts_with(&format!("{name} "))))
        .unwrap_or(false)
}

/// `echo ... | sudo tee PATH`: one open, one write(2), close.
fn write_once(path: &str, bytes: &[u8]) -> std::io::Result<usize> {
    OpenOptions::new().write(true).open(path)?.write(bytes)
}

/// `sudo cat PATH`: one open, read to end of file.
fn cat(path: &str) -> Result<Vec<u8>, String> {
    let mut f = File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    dev::read_to_eof(&mut f, 4096)
}

fn cat_text(path: &str) -> Result<String, String> {
    String::from_utf8(cat(path)?).map_err(|e| e.to_string())
}

/// rmmod must refuse while PATH is open, and succeed after it is closed.
fn rmmod_while_open(path: &str, name: &str, ko: &str) -> TestResult {
    let f = File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    if rmmod(name).is_ok() {
        println!("#   rmmod succeeded with {path} open; closing the file next may oops");
        drop(f);
        return Err(format!("rmmod succeeded while {path} was open"));
    }
    drop(f);
    rmmod(name)?;
    dev::insmod(ko)
}

/// Loads a path's module and checks its device node (both paths' suites).
fn load(c: &mut Ctx, stage: &str, ko: &str, name: &str, node: &str) {
    c.test(&format!("{stage}/insmod"), |c| {
        dev::insmod(ko)?;
        c.expect_log(&format!("{name}: module loaded"))
    });
    c.test(&format!("{stage}/node-is-misc-char-device-0600"), |_| {
        dev::check_misc_node(node)
    });
}

// --- rustqueue ----------------------------------------------------------------

fn queue(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/{name}");
    let ko = format!("{}/rustqueue.ko", c.dir);
    load(c, stage, &ko, "rustqueue", QUEUE);
    c.test(&t("eof-when-empty"), |_| expect_eq(&cat_text(QUEUE)?, ""));
    c.test(&t("fifo-order-one-message-per-cat"), |_| {
        for m in ["first message\n", "second message\n", "third message\n"] {
            write_once(QUEUE, m.as_bytes()).map_err(|e| format!("write {m:?}: {e}"))?;
        }
        expect_eq(&cat_text(QUEUE)?, "first message\n")?;
        expect_eq(&cat_text(QUEUE)?, "second message\n")?;
        expect_eq(&cat_text(QUEUE)?, "third message\n")?;
        expect_eq(&cat_text(QUEUE)?, "")
    });
    c.test(&t("ENOSPC-on-the-17th"), |_| {
        for i in 1..=16 {
            write_once(QUEUE, format!("message {i}\n").as_bytes())
                .map_err(|e| format!("write {i}: {e}"))?;
        }
        expect_errno(write_once(QUEUE, b"message 17\n"), ENOSPC)?;
        for i in 1..=16 {
            expect_eq(&cat_text(QUEUE)?, &format!("message {i}\n"))?;
        }
        expect_eq(&cat_text(QUEUE)?, "")
    });
    c.test(&t("1-byte-write"), |_| {
        write_once(QUEUE, b"x").map_err(|e| e.to_string())?;
        expect_eq(&cat_text(QUEUE)?, "x")
    });
    c.test(&t("empty-write-is-no-message"), |_| {
        match write_once(QUEUE, b"") {
            Ok(0) => expect_eq(&cat_text(QUEUE)?, ""),
            other => Err(format!("empty write gave {other:?}, expected Ok(0)")),
        }
    });
    c.test(&t("size-bound/4096-bytes-accepted"), |_| {
        let msg: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
        match write_once(QUEUE, &msg) {
            Ok(4096) if cat(QUEUE)? == msg => Ok(()),
            Ok(4096) => Err("the message read back differs".into()),
            other => Err(format!("write of 4096 bytes gave {other:?}")),
        }
    });
    c.test(&t("size-bound/4097-bytes-is-EMSGSIZE"), |_| {
        expect_errno(write_once(QUEUE, &[b'y'; 4097]), EMSGSIZE)?;
        expect_eq(&cat_text(QUEUE)?, "")
    });
    c.test(&t("size-bound/64MiB-write-is-EMSGSIZE"), |_| {
        let big = vec![b'x'; 64 << 20];
        let start = Instant::now();
        expect_errno(write_once(QUEUE, &big), EMSGSIZE)?;
        println!(
            "# 64 MiB write refused in {} us",
            start.elapsed().as_micros()
        );
        expect_eq(&cat_text(QUEUE)?, "")
    });
    c.test(&t("tiny-reads-reassemble"), |_| {
        write_once(QUEUE, b"hello, queue\n").map_err(|e| e.to_string())?;
        let mut f = File::open(QUEUE).map_err(|e| e.to_string())?;
        let got = dev::read_to_eof(&mut f, 1)?;
        expect_eq(&String::from_utf8_lossy(&got), "hello, queue\n")
    });
    c.test(
        &t("4-producers-4-consumers-lose-and-duplicate-nothing"),
        |_| producers_consumers(4, 500, 120),
    );
    c.test(&t("rmmod-while-open-is-refused"), |_| {
        rmmod_while_open(QUEUE, "rustqueue", &ko)
    });
    c.test(&t("queued-messages-freed-at-unload"), |c| {
        rmmod("rustqueue")?;
        dev::leak_cycles(c.kmemleak, "4k", 400, || {
            dev::insmod(&ko)?;
            for i in 0..16 {
                write_once(QUEUE, format!("{i}\n").as_bytes()).map_err(|e| e.to_string())?;
            }
            rmmod("rustqueue")
        })?;
        dev::insmod(&ko)?;
        c.expect_log("rustqueue: module unloaded (16 messages dropped)")
    });
    c.test(&t("rmmod"), |c| {
        rmmod("rustqueue")?;
        if loaded("rustqueue") {
            return Err("still loaded".into());
        }
        c.expect_log("rustqueue: module unloaded")
    });
}

/// Path A, step 1: the queue takes messages but has no read_iter yet.
fn queue_enqueue(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/{name}");
    let ko = format!("{}/rustqueue.ko", c.dir);
    load(c, stage, &ko, "rustqueue", QUEUE);
    c.test(&t("read-is-EINVAL-until-step-2"), |_| match cat(QUEUE) {
        Err(e) if e.contains("os error 22") => Ok(()),
        other => Err(format!(
            "cat gave {other:?}, expected EINVAL (no read_iter)"
        )),
    });
    c.test(&t("empty-write-is-no-message"), |_| {
        match write_once(QUEUE, b"") {
            Ok(0) => Ok(()),
            other => Err(format!("empty write gave {other:?}, expected Ok(0)")),
        }
    });
    c.test(&t("size-bound/4097-bytes-is-EMSGSIZE"), |_| {
        expect_errno(write_once(QUEUE, &[b'y'; 4097]), EMSGSIZE)
    });
    c.test(&t("ENOSPC-on-the-17th"), |_| {
        for i in 1..=16 {
            write_once(QUEUE, format!("message {i}\n").as_bytes())
                .map_err(|e| format!("write {i}: {e}"))?;
        }
        expect_errno(write_once(QUEUE, b"message 17\n"), ENOSPC)
    });
    c.test(&t("rmmod-while-open-is-refused"), |_| {
        rmmod_while_open(QUEUE, "rustqueue", &ko)
    });
    c.test(&t("rmmod-frees-what-was-queued"), |c| {
        for i in 1..=3 {
            write_once(QUEUE, format!("message {i}\n").as_bytes())
                .map_err(|e| format!("write {i}: {e}"))?;
        }
        rmmod("rustqueue")?;
        if loaded("rustqueue") {
            return Err("still loaded".into());
        }
        c.expect_log("rustqueue: module unloaded (3 messages dropped)")
    });
}

/// PRODUCERS threads each enqueue EACH distinct messages (retrying on
/// ENOSPC) while as many consumers dequeue with one open per message.
/// Every message must come out exactly once.
pub(crate) fn producers_consumers(producers: usize, each: usize, secs: u64) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let total = producers * each;
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::new();
    for p in 0..producers {
        handles.push(std::thread::spawn(
            move || -> Result<Vec<String>, String> {
                for i in 0..each {
                    let msg = format!("producer {p} message {i}\n");
                    loop {
                        match write_once(QUEUE, msg.as_bytes()) {
                            Ok(n) if n == msg.len() => break,
                            Err(e) if e.raw_os_error() == Some(ENOSPC) => std::thread::yield_now(),
                            other => return Err(format!("write {msg:?}: {other:?}")),
                        }
                        if Instant::now() > deadline {
                            return Err(format!("producers still blocked after {secs} s"));
                        }
                    }
                }
                Ok(Vec::new())
            },
        ));
    }
    for _ in 0..producers {
        let taken = taken.clone();
        handles.push(std::thread::spawn(
            move || -> Result<Vec<String>, String> {
                let mut got = Vec::new();
                while taken.load(std::sync::atomic::Ordering::SeqCst) < total {
                    let msg = cat_text(QUEUE)?;
                    if msg.is_empty() {
                        std::thread::yield_now();
                    } else {
                        taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        got.push(msg);
                    }
                    if Instant::now() > deadline {
                        return Err(format!("consumers still waiting after {secs} s"));
                    }
                }
                Ok(got)
            },
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for h in handles {
        for m in h.join().map_err(|_| "a thread panicked".to_string())?? {
            *seen.entry(m).or_default() += 1;
        }
    }
    let dup: Vec<_> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(m, _)| m.clone())
        .collect();
    let missing: Vec<_> = (0..producers)
        .flat_map(|p| (0..each).map(move |i| format!("producer {p} message {i}\n")))
        .filter(|m| !seen.contains_key(m))
        .collect();
    let checksum: u64 = seen
        .keys()
        .map(|m| {
            m.bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        })
        .fold(0, u64::wrapping_add);
    println!(
        "# {total} messages through the queue: {} distinct, checksum {checksum:016x}",
        seen.len()
    );
    if !dup.is_empty() || !missing.is_empty() || seen.len() != total {
        return Err(format!(
            "{} duplicated (e.g. {:?}), {} missing (e.g. {:?})",
            dup.len(),
            dup.first(),
            missing.len(),
            missing.first()
        ));
    }
    expect_eq(&cat_text(QUEUE)?, "")
}

// --- rustcounter ----------------------------------------------------------------

fn count() -> Result<String, String> {
    cat_text(COUNTER)
}

fn say(text: &[u8]) -> TestResult {
    match write_once(COUNTER, text) {
        Ok(n) if n == text.len() => Ok(()),
        other => Err(format!(
            "write {:?} gave {other:?}",
            String::from_utf8_lossy(text)
        )),
    }
}

/// Path B, step 1: `bump` is the only command.
fn counter_bump(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/{name}");
    let ko = format!("{}/rustcounter.ko", c.dir);
    load(c, stage, &ko, "rustcounter", COUNTER);
    c.test(&t("starts-at-0"), |_| expect_eq(&count()?, "0\n"));
    c.test(&t("bump-bump-is-2"), |_| {
        say(b"bump\n")?;
        say(b"bump\n")?;
        expect_eq(&count()?, "2\n")
    });
    for (name, input) in [
        ("ADD:5", &b"ADD:5\n"[..]),
        ("RESET", b"RESET\n"),
        ("hello", b"hello\n"),
    ] {
        c.test(&t(&format!("{name}-is-EINVAL-until-step-2")), |_| {
            expect_errno(write_once(COUNTER, input), EINVAL)?;
            expect_eq(&count()?, "2\n")
        });
    }
    c.test(&t("33-bytes-is-EMSGSIZE"), |_| {
        expect_errno(write_once(COUNTER, &[b' '; 33]), EMSGSIZE)
    });
    c.test(&t("4x1000-writers-exact"), |_| writers_add(2, 4, 1000));
    c.test(&t("rmmod-while-open-is-refused"), |_| {
        rmmod_while_open(COUNTER, "rustcounter", &ko)
    });
    c.test(&t("rmmod"), |c| {
        say(b"bump\n")?;
        rmmod("rustcounter")?;
        c.expect_log("rustcounter: module unloaded at 1")
    });
}

fn counter(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/{name}");
    let ko = format!("{}/rustcounter.ko", c.dir);
    load(c, stage, &ko, "rustcounter", COUNTER);
    c.test(&t("starts-at-0"), |_| expect_eq(&count()?, "0\n"));
    c.test(&t("bump-bump-bump-is-3"), |_| {
        say(b"bump\n")?;
        expect_eq(&count()?, "1\n")?;
        say(b"bump\n")?;
        say(b"bump\n")?;
        expect_eq(&count()?, "3\n")
    });
    c.test(&t("one-read-then-eof"), |_| {
        let mut f = File::open(COUNTER).map_err(|e| e.to_string())?;
        expect_eq(
            &String::from_utf8_lossy(&dev::read_to_eof(&mut f, 1)?),
            "3\n",
        )
    });
    c.test(&t("ADD:5"), |_| {
        say(b"ADD:5\n")?;
        expect_eq(&count()?, "8\n")
    });
    c.test(&t("RESET"), |_| {
        say(b"RESET\n")?;
        expect_eq(&count()?, "0\n")
    });
    c.test(&t("saturates-at-u64-max"), |_| {
        say(b"ADD:18446744073709551615\n")?;
        expect_eq(&count()?, "18446744073709551615\n")?;
        say(b"bump\n")?;
        say(b"ADD:10\n")?;
        expect_eq(&count()?, "18446744073709551615\n")?;
        say(b"RESET\n")?;
        say(b"ADD:18446744073709551614\n")?;
        say(b"bump\n")?;
        say(b"bump\n")?;
        expect_eq(&count()?, "18446744073709551615\n")?;
        say(b"RESET\n")
    });
    let bad: &[(&str, &[u8], i32)] = &[
        ("empty-write", b"", EINVAL),
        ("bum", b"bum\n", EINVAL),
        ("BUMP", b"BUMP\n", EINVAL),
        ("bump-bump", b"bump bump\n", EINVAL),
        ("RESET-now", b"RESET now\n", EINVAL),
        ("reset", b"reset\n", EINVAL),
        ("ADD-nothing", b"ADD:\n", EINVAL),
        ("ADD-minus", b"ADD:-1\n", EINVAL),
        ("ADD-letters", b"ADD:abc\n", EINVAL),
        ("ADD-above-u64", b"ADD:18446744073709551616\n", EINVAL),
        ("non-utf8", b"\xff\xfe\n", EINVAL),
        ("33-bytes", &[b' '; 33], EMSGSIZE),
    ];
    c.test(&t("bad-input/setup"), |_| {
        say(b"ADD:7\n")?;
        expect_eq(&count()?, "7\n")
    });
    for &(name, input, errno) in bad {
        c.test(&t(&format!("bad-input/{name}")), |_| {
            expect_errno(write_once(COUNTER, input), errno)?;
            expect_eq(&count()?, "7\n")
        });
    }
    c.test(&t("bad-input/64MiB-write"), |_| {
        expect_errno(write_once(COUNTER, &vec![b'x'; 64 << 20]), EMSGSIZE)?;
        expect_eq(&count()?, "7\n")
    });
    c.test(&t("2x1000-writers-exact"), |_| writers(2, 1000));
    c.test(&t("8x10000-writers-exact"), |_| writers(8, 10_000));
    c.test(&t("rmmod-while-open-is-refused"), |_| {
        rmmod_while_open(COUNTER, "rustcounter", &ko)
    });
    c.test(&t("a-new-load-starts-at-0"), |_| {
        expect_eq(&count()?, "0\n")
    });
    c.test(&t("rmmod"), |c| {
        rmmod("rustcounter")?;
        c.expect_log("rustcounter: module unloaded")
    });
}

/// WRITERS processes each write `bump` EACH times on their own open file,
/// all at once, from RESET: the count must be exactly WRITERS x EACH.
pub(crate) fn writers(writers: u64, each: u64) -> TestResult {
    say(b"RESET\n")?;
    writers_add(0, writers, each)
}

/// WRITERS processes bump the count, BEFORE now, EACH times at once.
fn writers_add(before: u64, writers: u64, each: u64) -> TestResult {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let children: Vec<_> = (0..writers)
        .map(|_| {
            Command::new(&exe)
                .args(["writer", COUNTER, "bump", &each.to_string()])
                .stdout(Stdio::null())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    for mut child in children {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a writer failed: {status}"));
        }
    }
    let got = count()?;
    println!(
        "# {writers} x {each} writers in {} ms: count {}",
        start.elapsed().as_millis(),
        got.trim()
    );
    expect_eq(&got, &format!("{}\n", before + writers * each))
}

/// `rgtest writer PATH TEXT COUNT`: one open file, COUNT writes of TEXT.
pub fn writer(args: &[String]) -> i32 {
    let (Some(path), Some(text), Some(Ok(count))) = (
        args.first(),
        args.get(1),
        args.get(2).map(|c| c.parse::<u32>()),
    ) else {
        return 2;
    };
    let Ok(mut f) = OpenOptions::new().write(true).open(path) else {
        return 1;
    };
    let line = format!("{text}\n");
    for _ in 0..count {
        match f.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {}
            _ => return 1,
        }
    }
    0
}
