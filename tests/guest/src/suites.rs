//! One suite per chapter: each checks what that chapter's snapshot claims.

use crate::dev::{self, DEV, EINVAL, EMSGSIZE};
use crate::{Ctx, TestResult};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WELCOME: &str = "Welcome to rustguess! I'm thinking of a number from 1 to 100.\n";
const NOT_A_NUMBER: &str = "That's not a number. Write a whole number from 1 to 100";

/// Runs the named suite; false if there is no such suite.
pub fn run(suite: &str, stage: &str, c: &mut Ctx) -> bool {
    let t = |name: &str| format!("{stage}/{name}");
    match suite {
        "hello" => {
            c.test(&t("insmod-logs-loaded"), |c| {
                dev::insmod(&c.ko())?;
                c.expect_log("rustguess: module loaded")
            });
            c.test(&t("listed-in-proc-modules"), |_| {
                dev::proc_modules_line()
                    .map(|_| ())
                    .ok_or("rustguess not in /proc/modules".into())
            });
            c.test(&t("rmmod-logs-unloaded"), |c| {
                dev::rmmod()?;
                c.expect_log("rustguess: module unloaded")?;
                match dev::proc_modules_line() {
                    None => Ok(()),
                    Some(l) => Err(format!("still loaded: {l}")),
                }
            });
        }
        "device" => {
            load(c, &t("insmod"));
            c.test(&t("node-is-misc-char-device-0600"), |_| check_node());
            c.test(&t("open-and-close"), |_| dev::open_rw().map(drop));
            c.test(&t("read-without-read_iter-is-EINVAL"), |_| {
                expect_read_errno(EINVAL)
            });
            c.test(&t("write-without-write_iter-is-EINVAL"), |_| {
                expect_errno(dev::write_once(b"50\n"), EINVAL)
            });
            unload_and_check_node_gone(c, &t("rmmod-removes-node"));
        }
        "write" => {
            load(c, &t("insmod"));
            c.test(&t("write-returns-length"), |_| {
                match dev::write_once(b"50\n") {
                    Ok(3) => Ok(()),
                    other => Err(format!("write(\"50\\n\") gave {other:?}, expected Ok(3)")),
                }
            });
            c.test(&t("hint-in-kernel-log"), |c| {
                dev::write_once(b"25\n").map_err(|e| e.to_string())?;
                c.expect_log("rustguess: 25 is too low -- guess higher.")
            });
            c.test(&t("overlong-write-is-EMSGSIZE"), |_| {
                expect_errno(dev::write_once(&[b'7'; 33]), EMSGSIZE)
            });
            c.test(&t("read-without-read_iter-is-EINVAL"), |_| {
                expect_read_errno(EINVAL)
            });
            unload(c, &t("rmmod"));
        }
        "read" => {
            load(c, &t("insmod"));
            c.test(&t("cat-shows-welcome-then-eof"), |_| {
                expect_prefix(&dev::cat()?, WELCOME)
            });
            c.test(&t("echo-then-cat"), |_| {
                expect_eq(&dev::guess("50\n")?, "50 is too high -- guess lower.\n")
            });
            c.test(&t("write-rewinds-same-fd"), same_fd_write_read);
            c.test(&t("repeated-cat-from-new-opens"), repeated_cat);
            unload(c, &t("rmmod"));
        }
        "game" => game(c, stage, true),
        // For tests/run's self-tests on the debug kernel: load, play, unload;
        // the kernel-log and kmemleak checks after the stage must fail.
        "selftest-bugs" => {
            load(c, &t("insmod"));
            c.test(&t("three-guesses"), |_| {
                for g in ["50\n", "25\n", "42\n"] {
                    dev::guess(g)?;
                }
                Ok(())
            });
            unload(c, &t("rmmod"));
        }
        // The harness self-tests only need the checks a sabotage must trip.
        "game-short" => game(c, stage, false),
        _ => return crate::part2::run(suite, stage, c),
    }
    true
}

fn game(c: &mut Ctx, stage: &str, full: bool) {
    let t = |name: &str| format!("{stage}/{name}");
    load(c, &t("insmod"));
    c.test(&t("welcome-on-load"), |_| {
        expect_prefix(&dev::cat()?, WELCOME)
    });
    c.test(&t("transcript"), |_| {
        expect_eq(&dev::guess("50\n")?, "50 is too high -- guess lower.\n")?;
        expect_eq(&dev::guess("25\n")?, "25 is too low -- guess higher.\n")?;
        expect_eq(&dev::guess("42\n")?, "Correct! You got it in 3 tries.\n")?;
        expect_prefix(
            &dev::guess("50\n")?,
            "You already won! To play again, reload the module:\n",
        )
    });
    reload(c, &t("reload"));
    c.test(&t("binary-search-wins-in-7"), |_| {
        let tries = bisect_to_win(0)?;
        if tries <= 7 {
            Ok(())
        } else {
            Err(format!("took {tries} tries"))
        }
    });
    reload(c, &t("reload-2"));
    c.test(&t("tiny-reads-reassemble"), |_| {
        let whole = dev::cat()?;
        let mut f = File::open(DEV).map_err(|e| e.to_string())?;
        let bytes = dev::read_to_eof(&mut f, 1)?;
        expect_eq(&String::from_utf8_lossy(&bytes), &whole)
    });
    c.test(&t("repeated-cat-from-new-opens"), repeated_cat);
    c.test(&t("write-rewinds-same-fd"), same_fd_write_read);
    reload(c, &t("reload-3"));
    bad_input(c, stage);
    reload(c, &t("reload-4"));
    c.test(&t("rmmod-while-open-is-refused"), rmmod_while_open);
    c.test(&t("concurrent-players"), |_| concurrent_players(4, 25));
    unload(c, &t("rmmod"));
    // On the debug kernel, the stress suite loads and unloads 100 times.
    if !full || c.kmemleak {
        return;
    }
    c.test(&t("insmod-rmmod-50-cycles"), |c| {
        for i in 1..=50 {
            dev::insmod(&c.ko()).map_err(|e| format!("cycle {i}: {e}"))?;
            let welcome = dev::cat().map_err(|e| format!("cycle {i}: {e}"))?;
            expect_prefix(&welcome, WELCOME).map_err(|e| format!("cycle {i}: {e}"))?;
            dev::rmmod().map_err(|e| format!("cycle {i}: {e}"))?;
        }
        match dev::proc_modules_line() {
            None => Ok(()),
            Some(l) => Err(format!("still loaded after 50 cycles: {l}")),
        }
    });
}

/// Each case: what one write sends, what write(2) must return, and how the reply must begin.
fn bad_input(c: &mut Ctx, stage: &str) {
    let cases: &[(&str, &[u8], Result<usize, i32>, &str)] = &[
        ("non-utf8", b"\xff\xfe\n", Ok(3), NOT_A_NUMBER),
        ("nul-bytes", b"4\x002\n", Ok(4), NOT_A_NUMBER),
        ("only-whitespace", b" \t \n", Ok(4), NOT_A_NUMBER),
        ("plus-sign", b"+5\n", Ok(3), NOT_A_NUMBER),
        ("minus-sign", b"-5\n", Ok(3), NOT_A_NUMBER),
        ("letters", b"fifty\n", Ok(6), NOT_A_NUMBER),
        ("inner-space", b"4 2\n", Ok(4), NOT_A_NUMBER),
        (
            "zero",
            b"0\n",
            Ok(2),
            "0 is out of range -- pick a number from 1 to 100.\n",
        ),
        ("101", b"101\n", Ok(4), "101 is out of range"),
        (
            "u64-overflow",
            b"18446744073709551616\n",
            Ok(21),
            "18446744073709551616 is out of range",
        ),
        (
            "leading-zeros",
            b"007\n",
            Ok(4),
            "7 is too low -- guess higher.\n",
        ),
        (
            "surrounding-whitespace",
            b"\t 30 \r\n",
            Ok(7),
            "30 is too low",
        ),
        (
            "longest-accepted-32-bytes",
            b"                            99\n\n",
            Ok(32),
            "99 is too high",
        ),
        (
            "33-bytes-is-EMSGSIZE",
            b"                             99\n\n",
            Err(EMSGSIZE),
            "That's 33 bytes",
        ),
        (
            "very-long-line",
            &[b'5'; 4096],
            Err(EMSGSIZE),
            "That's 4096 bytes",
        ),
    ];
    for (name, input, want, reply) in cases {
        c.test(&format!("{stage}/bad-input/{name}"), |_| {
            let got = dev::write_once(input).map_err(|e| e.raw_os_error().unwrap_or(-1));
            if got != *want {
                return Err(format!(
                    "write gave {got:?}, expected {want:?} (Err is an errno)"
                ));
            }
            expect_prefix(&dev::cat()?, reply)
        });
    }
    c.test(&format!("{stage}/bad-input/empty-write"), |_| {
        let before = dev::cat()?;
        match dev::write_once(b"") {
            Ok(0) => expect_eq(&dev::cat()?, &before),
            other => Err(format!("empty write gave {other:?}, expected Ok(0)")),
        }
    });
    c.test(&format!("{stage}/bad-input/64MiB-write"), |_| {
        let big = vec![b'1'; 64 << 20];
        expect_errno(dev::write_once(&big), EMSGSIZE)?;
        expect_prefix(&dev::cat()?, "That's 67108864 bytes")
    });
    // Of all the writes above only 007, 30 and 99 were guesses.
    c.test(
        &format!("{stage}/bad-input/only-numbers-count-as-tries"),
        |_| expect_eq(&dev::guess("42\n")?, "Correct! You got it in 4 tries.\n"),
    );
}

pub(crate) fn load(c: &mut Ctx, name: &str) {
    c.test(name, |c| dev::insmod(&c.ko()));
}

pub(crate) fn unload(c: &mut Ctx, name: &str) {
    c.test(name, |_| dev::rmmod());
}

pub(crate) fn reload(c: &mut Ctx, name: &str) {
    c.test(name, |c| {
        dev::rmmod()?;
        dev::insmod(&c.ko())
    });
}

fn unload_and_check_node_gone(c: &mut Ctx, name: &str) {
    c.test(name, |_| {
        dev::rmmod()?;
        if std::path::Path::new(DEV).exists() {
            Err(format!("{DEV} still exists after rmmod"))
        } else {
            Ok(())
        }
    });
}

fn check_node() -> TestResult {
    let m = std::fs::metadata(DEV).map_err(|e| format!("{DEV}: {e}"))?;
    let major = (m.rdev() >> 8) & 0xfff;
    let mode = m.mode() & 0o777;
    if !m.file_type().is_char_device() {
        return Err(format!("{DEV} is not a character device"));
    }
    if major != 10 {
        return Err(format!("major {major}, expected 10 (misc)"));
    }
    if mode != 0o600 || m.uid() != 0 {
        return Err(format!("mode {mode:o} uid {}, expected 600 root", m.uid()));
    }
    Ok(())
}

pub(crate) fn expect_errno(got: std::io::Result<usize>, errno: i32) -> TestResult {
    match got {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        other => Err(format!("got {other:?}, expected errno {errno}")),
    }
}

fn expect_read_errno(errno: i32) -> TestResult {
    let mut f = File::open(DEV).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    expect_errno(f.read(&mut buf), errno)
}

pub(crate) fn expect_eq(got: &str, want: &str) -> TestResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("got:  {got:?}\nwant: {want:?}"))
    }
}

pub(crate) fn expect_prefix(got: &str, want: &str) -> TestResult {
    if got.starts_with(want) {
        Ok(())
    } else {
        Err(format!("got:  {got:?}\nwant it to start with: {want:?}"))
    }
}

/// Write then read on one open file: the read shows the new reply, then EOF.
fn same_fd_write_read(_: &mut Ctx) -> TestResult {
    let mut f = dev::open_rw()?;
    let _ = dev::read_to_eof(&mut f, 4096)?;
    f.write(b"60\n").map_err(|e| e.to_string())?;
    let reply = dev::read_to_eof(&mut f, 4096)?;
    expect_prefix(&String::from_utf8_lossy(&reply), "60 is too high")
}

fn repeated_cat(_: &mut Ctx) -> TestResult {
    let first = dev::cat()?;
    if first.is_empty() {
        return Err("cat printed nothing".into());
    }
    for i in 2..=5 {
        let again = dev::cat()?;
        expect_eq(&again, &first).map_err(|e| format!("cat #{i}: {e}"))?;
    }
    Ok(())
}

/// Plays by bisection from the hints alone; returns the tries it needed.
/// The winning reply must count `already` earlier guesses plus its own.
fn bisect_to_win(already: u64) -> Result<u64, String> {
    let (mut lo, mut hi) = (1u64, 100u64);
    for mine in 1..=10u64 {
        let mid = lo + (hi - lo) / 2;
        let reply = dev::guess(&format!("{mid}\n"))?;
        if reply.contains("too low") {
            lo = mid + 1;
        } else if reply.contains("too high") {
            hi = mid.saturating_sub(1);
        } else {
            let total = already + mine;
            let noun = if total == 1 { "try" } else { "tries" };
            return expect_eq(&reply, &format!("Correct! You got it in {total} {noun}.\n"))
                .map(|()| mine);
        }
        if lo > hi {
            return Err(format!("hints contradict each other at {mid}: {reply:?}"));
        }
    }
    Err("no win after 10 tries".into())
}

/// `rgtest player GUESS COUNT`: one process that writes GUESS COUNT times.
pub fn player(args: &[String]) -> i32 {
    let (Some(guess), Some(Ok(count))) = (args.first(), args.get(1).map(|c| c.parse::<u32>()))
    else {
        return 2;
    };
    let line = format!("{guess}\n");
    for _ in 0..count {
        match dev::write_once(line.as_bytes()) {
            Ok(n) if n == line.len() => {}
            _ => return 1,
        }
    }
    0
}

/// Several processes guess at once; every guess must be counted exactly once.
fn concurrent_players(players: u64, each: u64) -> TestResult {
    // A wrong guess for certain: 1 is too low unless it wins outright.
    if !dev::guess("1\n")?.contains("too low") {
        return Err("1 was not \"too low\"; this test needs a secret above 1".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut children = Vec::new();
    for _ in 0..players {
        let child = Command::new(&exe)
            .args(["player", "1", &each.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn player: {e}"))?;
        children.push(child);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for mut child in children {
        loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(status) if status.success() => break,
                Some(status) => return Err(format!("a player failed: {status}")),
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    return Err("players still running after 60 s: deadlock?".into());
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    let mine = bisect_to_win(1 + players * each)?;
    if mine > 7 {
        return Err(format!("the final player needed {mine} tries"));
    }
    Ok(())
}

/// rmmod must refuse while a file is open, and the open file must keep working.
fn rmmod_while_open(c: &mut Ctx) -> TestResult {
    let mut f = dev::open_rw()?;
    if dev::rmmod().is_ok() {
        // Closing `f` now would run freed code; say so before it happens.
        println!("#   rmmod succeeded with /dev/rustguess open; closing the file next may oops");
        drop(f);
        return Err("rmmod succeeded while the device was open".into());
    }
    let line = dev::proc_modules_line().ok_or("module gone after a refused rmmod")?;
    let refs = line.split_whitespace().nth(2).unwrap_or("?");
    if refs != "1" {
        return Err(format!("expected 1 reference while open: {line}"));
    }
    // kmod's rmmod gave up on the use count without asking the kernel
    // (Hardening says so); the kernel's own delete_module() refuses too,
    // with EWOULDBLOCK (EAGAIN, 11).
    match dev::delete_module("rustguess") {
        Err(11) => {}
        Err(e) => {
            return Err(format!(
                "delete_module while open: errno {e}, not EWOULDBLOCK (11)"
            ))
        }
        Ok(()) => {
            println!("#   delete_module succeeded with /dev/rustguess open; closing the file next may oops");
            drop(f);
            return Err("delete_module succeeded while the device was open".into());
        }
    }
    f.write(b"10\n")
        .map_err(|e| format!("write on the open file: {e}"))?;
    let reply = dev::read_to_eof(&mut f, 4096)?;
    expect_prefix(&String::from_utf8_lossy(&reply), "10 is too low")?;
    drop(f);
    dev::rmmod().map_err(|e| format!("rmmod after close: {e}"))?;
    dev::insmod(&c.ko())
}
