//! Part II's suites: the random secret, a game per open file, RANGE,
//! HISTORY, REVEAL and the debugfs view. The secret is random now, so no
//! test assumes one: players bisect, or read it where a build shows it.
//!
//! Each snapshot runs a short core (load, welcome, a won game, bad input,
//! rmmod while open) and its own chapter's tests. The heavy tests (100,000
//! guesses, 2000 games for uniformity, 8 concurrent players) run in their
//! chapter's stage and again in the complete game's.

use crate::dev::{self, EMSGSIZE};
use crate::suites::{expect_eq, expect_errno, expect_prefix, load, reload, unload};
use crate::{Ctx, TestResult};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SHARED: &str = "/dev/rustguess";
const SOLO: &str = "/dev/rustguess-solo";
pub(crate) const STATE: &str = "/sys/kernel/debug/rustguess/state";
const WELCOME: &str = "Welcome to rustguess! I'm thinking of a number from 1 to 100.\n";
const NOT_A_NUMBER: &str = "That's not a number. Write a whole number from 1 to 100";
/// The cap on HISTORY in module/steps/08-history and later.
const HISTORY_CAP: usize = 32;
/// The reply buffer of those snapshots: no reply may be longer.
const REPLY_CAP: usize = 96 + 24 * HISTORY_CAP;

/// What each Part II snapshot has, by suite name.
struct Features {
    solo: bool,
    range: bool,
    history: bool,
    /// Some(true): a debug build, REVEAL works; Some(false): a release build
    /// of a snapshot that has REVEAL; None: before REVEAL.
    reveal: Option<bool>,
    debugfs: bool,
    /// Run the heavy tests of every feature, not only this chapter's.
    all_heavy: bool,
}

pub fn run(suite: &str, stage: &str, c: &mut Ctx) -> bool {
    let f = |solo, range, history, reveal, debugfs, all_heavy| Features {
        solo,
        range,
        history,
        reveal,
        debugfs,
        all_heavy,
    };
    let features = match suite {
        "random" => f(false, false, false, None, false, false),
        "per-open" => f(true, false, false, None, false, false),
        "range" => f(true, true, false, None, false, false),
        "history" => f(true, true, true, None, false, false),
        "reveal-release" => f(true, true, true, Some(false), false, false),
        "reveal-debug" => f(true, true, true, Some(true), false, false),
        "extended" => f(true, true, true, Some(false), true, true),
        "extended-debug" => f(true, true, true, Some(true), true, false),
        // For tests/run's self-tests: one named test each, on a sabotaged
        // build of 10-debugfs that it must fail.
        "selftest-history" | "selftest-solo" | "selftest-debugfs" => {
            load(c, &format!("{stage}/insmod"));
            if suite == "selftest-debugfs" {
                c.test(
                    &format!("{stage}/debugfs/rmmod-while-state-open-is-refused"),
                    rmmod_while_state_open,
                );
                reader_reproduction();
            } else if suite == "selftest-history" {
                c.test(&format!("{stage}/history/100000-guesses-bounded"), |_| {
                    hundred_thousand(100_000)
                });
            } else {
                c.test(
                    &format!("{stage}/solo/8-players-own-games-and-secrets"),
                    |_| eight_players(8),
                );
            }
            unload(c, &format!("{stage}/rmmod"));
            return true;
        }
        _ => return crate::paths::run(suite, stage, c),
    };
    // On the debug kernel, the stress suites do the heavy tests' work
    // bigger: there, each stage runs only its own chapter's.
    let all_heavy = features.all_heavy && !c.kmemleak;
    let heavy = |chapter: &str| all_heavy || suite == chapter;
    let t = |name: &str| format!("{stage}/{name}");

    // The core, on the shared game.
    load(c, &t("insmod"));
    c.test(&t("welcome-on-load"), |_| {
        expect_prefix(&cat(SHARED)?, WELCOME)
    });
    c.test(&t("bisect-wins-in-7"), |_| {
        let mut f = open(SHARED)?;
        let (tries, _) = bisect(&mut f, 1, 100, 0)?;
        check_at_most(tries, 7)
    });
    c.test(&t("after-a-win-says-reload"), |_| {
        expect_prefix(
            &guess(SHARED, "50\n")?,
            "You already won! To play again, reload",
        )
    });
    reload(c, &t("reload"));
    bad_input(c, stage, SHARED);
    c.test(&t("rmmod-while-open-is-refused"), |c| {
        rmmod_while_open(c, SHARED)
    });
    if heavy("random") {
        c.test(
            &t("secret-changes-across-loads"),
            secret_changes_across_loads,
        );
        // With HISTORY, a game takes at most 32 guesses: 4 x 5, and the rest.
        let each = if features.history { 5 } else { 25 };
        c.test(&t("shared-game-concurrent-exact-tries"), |c| {
            shared_concurrent(c, each)
        });
    }
    if features.solo {
        solo(c, stage, heavy("per-open"));
    }
    if features.range {
        range(c, stage);
    }
    if features.history {
        history(c, stage, heavy("history"));
    }
    match features.reveal {
        Some(true) => reveal_debug(c, stage),
        Some(false) => c.test(&t("REVEAL-is-not-a-command-in-release"), |_| {
            expect_prefix(&say(&mut open(SOLO)?, "REVEAL\n")?, NOT_A_NUMBER)
        }),
        None => {}
    }
    if features.debugfs {
        reload(c, &t("reload-for-debugfs"));
        debugfs(c, stage);
    }
    unload(c, &t("rmmod"));
    if features.debugfs {
        c.test(
            &t("debugfs-state-gone-after-rmmod"),
            |_| match std::fs::metadata(STATE) {
                Err(_) => Ok(()),
                Ok(_) => Err(format!("{STATE} still exists after rmmod")),
            },
        );
    }
    if features.history && heavy("history") {
        c.test(&t("history-freed-at-unload"), history_freed_at_unload);
    }
    true
}

// --- talking to the devices --------------------------------------------

pub(crate) fn open(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("open {path}: {e}"))
}

/// Writes `text` on an open file, then reads the reply from it (the write
/// rewinds the file, so the read starts at the reply's first byte).
pub(crate) fn say(f: &mut File, text: &str) -> Result<String, String> {
    let n = f
        .write(text.as_bytes())
        .map_err(|e| format!("write {text:?}: {e}"))?;
    if n != text.len() {
        return Err(format!("write {text:?} returned {n}"));
    }
    let bytes = dev::read_to_eof(f, 4096)?;
    String::from_utf8(bytes).map_err(|e| format!("reply is not UTF-8: {e}"))
}

fn cat(path: &str) -> Result<String, String> {
    let mut f = File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    String::from_utf8(dev::read_to_eof(&mut f, 4096)?).map_err(|e| e.to_string())
}

/// `echo TEXT | sudo tee PATH; sudo cat PATH`: each its own open.
fn guess(path: &str, text: &str) -> Result<String, String> {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("open {path}: {e}"))?;
    f.write(text.as_bytes())
        .map_err(|e| format!("write {text:?}: {e}"))?;
    drop(f);
    cat(path)
}

/// Bisects from `lo..=hi` to a win on one open file. `before` is the number
/// of tries the game has already counted. Returns (tries, secret), checking
/// every reply names the number just written and the final count is exact.
pub(crate) fn bisect(
    f: &mut File,
    mut lo: u64,
    mut hi: u64,
    before: u64,
) -> Result<(u64, u64), String> {
    let mut mine = 0;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        mine += 1;
        let reply = say(f, &format!("{mid}\n"))?;
        if reply == format!("{mid} is too low -- guess higher.\n") {
            lo = mid + 1;
        } else if reply == format!("{mid} is too high -- guess lower.\n") {
            hi = mid - 1;
        } else {
            let total = before + mine;
            let noun = if total == 1 { "try" } else { "tries" };
            expect_eq(&reply, &format!("Correct! You got it in {total} {noun}.\n"))
                .map_err(|e| format!("after guessing {mid}: {e}"))?;
            return Ok((mine, mid));
        }
    }
    Err(format!(
        "the hints contradict each other (range empty at {lo}..{hi})"
    ))
}

fn check_at_most(tries: u64, most: u64) -> TestResult {
    if tries <= most {
        Ok(())
    } else {
        Err(format!("took {tries} tries, more than {most}"))
    }
}

// --- the core ------------------------------------------------------------

/// Input that must get a clear reply (or errno) and change nothing, on any
/// Part II snapshot: none of it depends on the secret.
fn bad_input(c: &mut Ctx, stage: &str, path: &'static str) {
    let cases: &[(&str, &[u8], &str)] = &[
        ("non-utf8", b"\xff\xfe\n", NOT_A_NUMBER),
        ("nul-bytes", b"4\x002\n", NOT_A_NUMBER),
        ("minus-sign", b"-5\n", NOT_A_NUMBER),
        ("letters", b"fifty\n", NOT_A_NUMBER),
        (
            "zero",
            b"0\n",
            "0 is out of range -- pick a number from 1 to 100.\n",
        ),
        ("101", b"101\n", "101 is out of range"),
        (
            "u64-overflow",
            b"18446744073709551616\n",
            "18446744073709551616 is out of range",
        ),
    ];
    for &(name, bytes, want) in cases {
        c.test(&format!("{stage}/bad-input/{name}"), |_| {
            let mut f = open(path)?;
            let n = f.write(bytes).map_err(|e| e.to_string())?;
            if n != bytes.len() {
                return Err(format!("write returned {n}"));
            }
            expect_prefix(
                &String::from_utf8_lossy(&dev::read_to_eof(&mut f, 4096)?),
                want,
            )
        });
    }
    c.test(&format!("{stage}/bad-input/33-bytes-is-EMSGSIZE"), |_| {
        let mut f = open(path)?;
        expect_errno(f.write(&[b'7'; 33]), EMSGSIZE)?;
        expect_prefix(&cat(path)?, "That's 33 bytes")
    });
    c.test(&format!("{stage}/bad-input/changed-nothing"), |_| {
        // None of it counted: a bisecting win reports its own tries only.
        let mut f = open(path)?;
        bisect(&mut f, 1, 100, 0).map(drop)
    });
}

fn rmmod_while_open(c: &mut Ctx, path: &str) -> TestResult {
    let mut f = open(path)?;
    if dev::rmmod().is_ok() {
        println!("#   rmmod succeeded with {path} open; closing the file next may oops");
        drop(f);
        return Err(format!("rmmod succeeded while {path} was open"));
    }
    if say(&mut f, "0\n")?.is_empty() {
        return Err(format!("{path} gave no reply while rmmod was refused"));
    }
    drop(f);
    dev::rmmod().map_err(|e| format!("rmmod after close: {e}"))?;
    dev::insmod(&c.ko())
}

/// Ten loads must not all pick the same secret (the chance that ten uniform
/// picks from 1..=100 agree is 10^-18).
fn secret_changes_across_loads(c: &mut Ctx) -> TestResult {
    let mut seen = Vec::new();
    for _ in 0..10 {
        dev::rmmod()?;
        dev::insmod(&c.ko())?;
        let (_, secret) = bisect(&mut open(SHARED)?, 1, 100, 0)?;
        seen.push(secret);
    }
    dev::rmmod()?;
    dev::insmod(&c.ko())?;
    if seen.iter().all(|&s| s == seen[0]) {
        return Err(format!("ten loads all picked {}", seen[0]));
    }
    println!("# secrets of ten loads: {seen:?}");
    Ok(())
}

/// Four processes guess at once on the shared game, EACH times; every guess
/// counts once.
fn shared_concurrent(c: &mut Ctx, each: u64) -> TestResult {
    // 1 is a wrong guess unless it is the secret: reload until it is wrong.
    for _ in 0..5 {
        if guess(SHARED, "1\n")?.contains("too low") {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let players: Vec<_> = (0..4)
                .map(|_| {
                    Command::new(&exe)
                        .args(["player", "1", &each.to_string()])
                        .stdout(Stdio::null())
                        .spawn()
                })
                .collect::<Result<_, _>>()
                .map_err(|e| format!("spawn player: {e}"))?;
            wait_all(players, "players")?;
            let (tries, _) = bisect(&mut open(SHARED)?, 2, 100, 1 + 4 * each)?;
            return check_at_most(tries, 7);
        }
        dev::rmmod()?;
        dev::insmod(&c.ko())?;
    }
    Err("1 won five games in a row".into())
}

fn wait_all(children: Vec<std::process::Child>, what: &str) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(120);
    for mut child in children {
        loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(status) if status.success() => break,
                Some(status) => return Err(format!("one of the {what} failed: {status}")),
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    return Err(format!("{what} still running after 120 s: deadlock?"));
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    Ok(())
}

// --- a game per open file -------------------------------------------------

fn solo(c: &mut Ctx, stage: &str, heavy: bool) {
    let t = |name: &str| format!("{stage}/solo/{name}");
    c.test(&t("node-is-misc-char-device-0600"), |_| {
        dev::check_misc_node(SOLO)
    });
    c.test(&t("each-open-starts-with-a-welcome"), |_| {
        let mut a = open(SOLO)?;
        let mut b = open(SOLO)?;
        expect_prefix(&say(&mut a, "0\n")?, "0 is out of range")?;
        // b's game is untouched by a's write.
        let welcome = String::from_utf8_lossy(&dev::read_to_eof(&mut b, 4096)?).into_owned();
        expect_prefix(&welcome, WELCOME)?;
        expect_prefix(
            welcome.trim_start_matches(WELCOME),
            "This game lasts while this file is open.",
        )
    });
    c.test(&t("win-then-reopen-plays-again"), |_| {
        let mut f = open(SOLO)?;
        bisect(&mut f, 1, 100, 0)?;
        expect_eq(
            &say(&mut f, "50\n")?,
            "You already won! To play again, open /dev/rustguess-solo again.\n",
        )?;
        drop(f);
        let mut g = open(SOLO)?;
        bisect(&mut g, 1, 100, 0).map(drop)
    });
    c.test(&t("shared-game-untouched"), |_| {
        let before = cat(SHARED)?;
        bisect(&mut open(SOLO)?, 1, 100, 0)?;
        expect_eq(&cat(SHARED)?, &before)
    });
    c.test(&t("rmmod-while-open-is-refused"), |c| {
        rmmod_while_open(c, SOLO)
    });
    if heavy {
        c.test(&t("8-players-own-games-and-secrets"), |_| eight_players(8));
        c.test(&t("secrets-uniform-2000-games"), |_| uniform(2000));
    }
}

/// N players at once, each on its own open file: each bisects its own game
/// to a win with an exact count of its own tries, sees only replies about its
/// own guesses, and the secrets are not all the same.
fn eight_players(n: usize) -> TestResult {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            std::thread::spawn(|| -> Result<Vec<u64>, String> {
                let mut f = open(SOLO)?;
                // Three games per player, on three opens, so a shared secret
                // shows even if one pick agreed by chance.
                let mut secrets = Vec::new();
                for _ in 0..3 {
                    let (tries, secret) = bisect(&mut f, 1, 100, 0)?;
                    check_at_most(tries, 7)?;
                    secrets.push(secret);
                    f = open(SOLO)?;
                }
                Ok(secrets)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().map_err(|_| "a player panicked".to_string())??);
    }
    all.sort_unstable();
    all.dedup();
    if all.len() < 2 {
        return Err(format!(
            "{} games on {n} players all had the secret {}: one secret is shared",
            3 * n,
            all[0]
        ));
    }
    println!(
        "# {n} players, {} games: {} distinct secrets",
        3 * n,
        all.len()
    );
    Ok(())
}

/// The secrets of GAMES solo games cover 1 and 100 and pass a chi-square
/// test over ten buckets of ten (9 degrees of freedom; 27.88 is p = 0.001).
fn uniform(games: usize) -> TestResult {
    let mut buckets = [0usize; 10];
    let (mut lo, mut hi) = (u64::MAX, 0);
    for _ in 0..games {
        let (_, secret) = bisect(&mut open(SOLO)?, 1, 100, 0)?;
        buckets[((secret - 1) / 10) as usize] += 1;
        lo = lo.min(secret);
        hi = hi.max(secret);
    }
    let expected = games as f64 / 10.0;
    let chi2: f64 = buckets
        .iter()
        .map(|&b| (b as f64 - expected).powi(2) / expected)
        .sum();
    println!("# {games} secrets: min {lo}, max {hi}, by tens {buckets:?}, chi-square {chi2:.1}");
    if lo != 1 || hi != 100 {
        return Err(format!("secrets ranged {lo}..={hi}, expected 1..=100"));
    }
    if chi2 > 27.88 {
        return Err(format!("chi-square {chi2:.1} > 27.88: not uniform"));
    }
    Ok(())
}

// --- RANGE -------------------------------------------------------------------

fn range(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/range/{name}");
    c.test(&t("RANGE:1000-then-bisect-in-10"), |_| {
        let mut f = open(SOLO)?;
        expect_eq(
            &say(&mut f, "RANGE:1000\n")?,
            "New range: 1 to 1000. I've picked a new number.\n",
        )?;
        expect_prefix(
            &say(&mut f, "1001\n")?,
            "1001 is out of range -- pick a number from 1 to 1000.",
        )?;
        let (tries, _) = bisect(&mut f, 1, 1000, 0)?;
        check_at_most(tries, 10)
    });
    c.test(&t("RANGE:1000000-then-bisect-in-20"), |_| {
        let mut f = open(SOLO)?;
        expect_prefix(&say(&mut f, "RANGE:1000000\n")?, "New range: 1 to 1000000.")?;
        let (tries, _) = bisect(&mut f, 1, 1_000_000, 0)?;
        check_at_most(tries, 20)
    });
    c.test(&t("secrets-above-100-with-RANGE:1000"), |_| {
        // 20 games from 1 to 1000 all below 101 has chance 10^-20.
        for _ in 0..20 {
            let mut f = open(SOLO)?;
            say(&mut f, "RANGE:1000\n")?;
            if bisect(&mut f, 1, 1000, 0)?.1 > 100 {
                return Ok(());
            }
        }
        Err("20 games after RANGE:1000 all had a secret from 1 to 100".into())
    });
    let bad: &[(&str, &str, &str)] = &[
        (
            "RANGE:0",
            "RANGE:0\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:1",
            "RANGE:1\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:abc",
            "RANGE:abc\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:-5",
            "RANGE:-5\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:1000001",
            "RANGE:1000001\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:above-u64",
            "RANGE:18446744073709551616\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        (
            "RANGE:empty",
            "RANGE:\n",
            "RANGE needs a whole number from 2 to 1000000",
        ),
        ("lower-case", "range:1000\n", NOT_A_NUMBER),
        ("no-colon", "RANGE 1000\n", NOT_A_NUMBER),
    ];
    for &(name, input, want) in bad {
        c.test(&t(&format!("bad/{name}")), |_| {
            let mut f = open(SOLO)?;
            expect_prefix(&say(&mut f, input)?, want)?;
            // Nothing changed: still 1 to 100, no try counted.
            expect_prefix(
                &say(&mut f, "101\n")?,
                "101 is out of range -- pick a number from 1 to 100.",
            )?;
            bisect(&mut f, 1, 100, 0).map(drop)
        });
    }
    c.test(&t("refused-after-first-guess"), |_| {
        let mut f = open(SOLO)?;
        let first = say(&mut f, "50\n")?;
        if first.starts_with("Correct") {
            return Ok(()); // a 1-in-100 game; nothing to refuse after a win
        }
        expect_eq(
            &say(&mut f, "RANGE:1000\n")?,
            "RANGE only works before your first guess; this game is from 1 to 100.\n",
        )?;
        let (lo, hi) = if first.contains("too low") {
            (51, 100)
        } else {
            (1, 49)
        };
        bisect(&mut f, lo, hi, 1).map(drop)
    });
    c.test(&t("shared-game-takes-RANGE-too"), |c| {
        dev::rmmod()?;
        dev::insmod(&c.ko())?;
        expect_prefix(&guess(SHARED, "RANGE:500\n")?, "New range: 1 to 500.")?;
        let (tries, _) = bisect(&mut open(SHARED)?, 1, 500, 0)?;
        check_at_most(tries, 9)
    });
}

// --- HISTORY -----------------------------------------------------------------

fn history(c: &mut Ctx, stage: &str, heavy: bool) {
    let t = |name: &str| format!("{stage}/history/{name}");
    c.test(&t("empty"), |_| {
        let mut f = open(SOLO)?;
        expect_eq(
            &say(&mut f, "HISTORY\n")?,
            "0 guesses so far (this game keeps 32):\n",
        )
    });
    c.test(&t("lists-every-guess-and-answer"), |_| {
        let mut f = open(SOLO)?;
        say(&mut f, "0\n")?; // not a guess: not listed
        let mut want = String::new();
        let mut count = 0;
        let (mut lo, mut hi) = (1u64, 100u64);
        loop {
            let mid = lo + (hi - lo) / 2;
            count += 1;
            let reply = say(&mut f, &format!("{mid}\n"))?;
            if reply.contains("too low") {
                want.push_str(&format!("{mid} is too low\n"));
                lo = mid + 1;
            } else if reply.contains("too high") {
                want.push_str(&format!("{mid} is too high\n"));
                hi = mid - 1;
            } else {
                want.push_str(&format!("{mid} is correct\n"));
                break;
            }
        }
        let noun = if count == 1 { "guess" } else { "guesses" };
        let want = format!("{count} {noun} so far (this game keeps 32):\n{want}");
        // HISTORY works after a win, and is not a guess itself.
        expect_eq(&say(&mut f, "HISTORY\n")?, &want)?;
        expect_eq(&say(&mut f, "HISTORY\n")?, &want)
    });
    if heavy {
        c.test(&t("100000-guesses-bounded"), |_| hundred_thousand(100_000));
    }
}

/// Opens a solo game from 1 to 1000000 whose secret is not 1, so that "1"
/// can be guessed for ever without winning.
fn game_where_1_loses() -> Result<File, String> {
    for _ in 0..5 {
        let mut f = open(SOLO)?;
        say(&mut f, "RANGE:1000000\n")?;
        if say(&mut f, "1\n")?.contains("too low") {
            return Ok(f);
        }
    }
    Err("1 won five games from 1 to 1000000".into())
}

/// GUESSES writes of a guess on one game: after HISTORY_CAP of them the
/// game refuses more, and HISTORY stays within its buffer.
fn hundred_thousand(guesses: usize) -> TestResult {
    let mut f = game_where_1_loses()?;
    let start = Instant::now();
    for i in 2..=guesses {
        let n = f.write(b"1\n").map_err(|e| format!("write {i}: {e}"))?;
        if n != 2 {
            return Err(format!("write {i} returned {n}"));
        }
        if i == HISTORY_CAP || i == HISTORY_CAP + 1 || i % 10_000 == 0 {
            let reply = String::from_utf8_lossy(&dev::read_to_eof(&mut f, 4096)?).into_owned();
            let want = if i <= HISTORY_CAP {
                "1 is too low -- guess higher.\n".to_string()
            } else {
                "That guess does not count: this game is at its limit of 32 guesses. \
                 HISTORY shows them.\n"
                    .to_string()
            };
            expect_eq(&reply, &want).map_err(|e| format!("after {i} guesses: {e}"))?;
        }
    }
    let history = say(&mut f, "HISTORY\n")?;
    let lines = history.lines().count();
    println!(
        "# {guesses} guesses in {} ms; HISTORY: {lines} lines, {} bytes (buffer {REPLY_CAP})",
        start.elapsed().as_millis(),
        history.len()
    );
    expect_prefix(&history, "32 guesses so far (this game keeps 32):\n")?;
    if lines != HISTORY_CAP + 1 || history.len() > REPLY_CAP {
        return Err(format!(
            "HISTORY has {lines} lines, {} bytes",
            history.len()
        ));
    }
    Ok(())
}

/// 100 loads, each filling the shared game's history, then unloading: a
/// history left behind at unload would leave 100 objects of 512 bytes.
fn history_freed_at_unload(c: &mut Ctx) -> TestResult {
    let ko = c.ko();
    dev::leak_cycles(c.kmemleak, "512", 50, || {
        dev::insmod(&ko)?;
        let mut f = open(SHARED)?;
        say(&mut f, "RANGE:1000000\n")?;
        for _ in 0..HISTORY_CAP {
            f.write(b"1\n").map_err(|e| e.to_string())?;
        }
        drop(f);
        dev::rmmod()
    })?;
    dev::insmod(&ko)
}

// --- REVEAL ------------------------------------------------------------------

fn reveal_debug(c: &mut Ctx, stage: &str) {
    c.test(&format!("{stage}/REVEAL-then-win-in-1"), |_| {
        let mut f = open(SOLO)?;
        let reply = say(&mut f, "REVEAL\n")?;
        let secret: u64 = reply
            .strip_prefix("The secret is ")
            .and_then(|r| r.strip_suffix(".\n"))
            .and_then(|n| n.parse().ok())
            .ok_or(format!("REVEAL replied {reply:?}"))?;
        expect_eq(
            &say(&mut f, &format!("{secret}\n"))?,
            "Correct! You got it in 1 try.\n",
        )
    });
}

// --- the debugfs view ------------------------------------------------------

pub(crate) fn mount_debugfs() -> TestResult {
    if std::path::Path::new("/sys/kernel/debug/rustguess").exists() {
        return Ok(());
    }
    let status = Command::new("mount")
        .args(["-t", "debugfs", "debugfs", "/sys/kernel/debug"])
        .status()
        .map_err(|e| format!("mount: {e}"))?;
    if !status.success() && !std::path::Path::new(STATE).exists() {
        return Err(format!("cannot mount debugfs: {status}"));
    }
    Ok(())
}

/// The value after `key: ` in the state file.
pub(crate) fn state_value(state: &str, key: &str) -> Result<String, String> {
    state
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(str::to_owned)
        .ok_or(format!("no {key:?} in the state file: {state:?}"))
}

fn debugfs(c: &mut Ctx, stage: &str) {
    let t = |name: &str| format!("{stage}/debugfs/{name}");
    c.test(&t("state-is-0400-root"), |_| {
        mount_debugfs()?;
        let m = std::fs::metadata(STATE).map_err(|e| format!("{STATE}: {e}"))?;
        let mode = m.permissions().mode() & 0o777;
        if mode != 0o400 || m.uid() != 0 {
            return Err(format!("mode {mode:o} uid {}, expected 400 root", m.uid()));
        }
        Ok(())
    });
    c.test(&t("shows-secret-tries-state"), |_| {
        let before = cat(STATE)?;
        let secret: u64 = state_value(&before, "secret")?
            .parse()
            .map_err(|e| format!("secret: {e}"))?;
        expect_eq(&state_value(&before, "tries")?, "0")?;
        expect_eq(&state_value(&before, "state")?, "playing")?;
        let wrong = if secret == 1 { 2 } else { 1 };
        guess(SHARED, &format!("{wrong}\n"))?;
        expect_eq(
            &guess(SHARED, &format!("{secret}\n"))?,
            "Correct! You got it in 2 tries.\n",
        )?;
        let after = cat(STATE)?;
        expect_eq(&state_value(&after, "tries")?, "2")?;
        expect_eq(&state_value(&after, "history")?, "2 of 32")?;
        expect_eq(&state_value(&after, "state")?, "won")
    });
    c.test(&t("non-root-cannot-read"), |_| {
        // `rgtest cat-as PATH` in a child that has dropped to uid 65534.
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let out = Command::new(exe)
            .args(["cat", STATE])
            .uid(65534)
            .gid(65534)
            .output()
            .map_err(|e| format!("spawn: {e}"))?;
        let said = String::from_utf8_lossy(&out.stdout);
        if out.status.success() || said.contains("secret") {
            return Err(format!("uid 65534 read the state: {said:?}"));
        }
        Ok(())
    });
    c.test(
        &t("rmmod-while-state-open-is-refused"),
        rmmod_while_state_open,
    );
    c.test(&t("cannot-be-written-even-by-root"), |_| {
        let before = cat(STATE)?;
        let wrote = OpenOptions::new()
            .write(true)
            .open(STATE)
            .and_then(|mut f| f.write(b"secret: 1\n"));
        if let Ok(n) = wrote {
            return Err(format!("a write to {STATE} returned {n}"));
        }
        expect_eq(&cat(STATE)?, &before)
    });
}

/// The state file held open by another process (as `sudo less` would hold
/// it) while `rmmod` runs: the open file must keep the module loaded, and
/// the file must still read.
fn rmmod_while_state_open(c: &mut Ctx) -> TestResult {
    mount_debugfs()?;
    let mut holder = Command::new("sh")
        .args([
            "-c",
            &format!("exec 3<{STATE} && echo held && exec sleep 1000000"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sh: {e}"))?;
    let mut held = [0u8; 5];
    holder
        .stdout
        .take()
        .ok_or("no pipe from the holder")?
        .read_exact(&mut held)
        .map_err(|e| format!("the holder did not open {STATE}: {e}"))?;
    if dev::rmmod().is_ok() {
        // Closing the file now would call into the unloaded module and
        // oops the kernel: the holder keeps it open until power-off.
        println!("#   rmmod succeeded with {STATE} open; closing it would oops the kernel");
        dev::insmod(&c.ko())?;
        return Err(format!("rmmod succeeded while {STATE} was open"));
    }
    let text = cat(STATE)?;
    expect_eq(&state_value(&text, "range")?, "1 to 100")?;
    let _ = holder.kill();
    holder.wait().map_err(|e| format!("wait: {e}"))?;
    dev::rmmod().map_err(|e| format!("rmmod after close: {e}"))?;
    dev::insmod(&c.ko())
}

/// The book's reproduction, exactly as a reader types it (as root), for
/// the self-test's module without an owner: the close at its end oopses
/// the kernel, and the test VM panics. It runs last, and shows the report
/// that the debugfs chapter quotes.
fn reader_reproduction() {
    println!("# {REPRODUCTION}");
    let status = Command::new("sh").args(["-c", REPRODUCTION]).status();
    println!("# the reproduction ended without an oops: {status:?}");
}

/// What the debugfs chapter shows a reader, with the file held open on fd 6.
pub(crate) const REPRODUCTION: &str =
    "exec 6</sys/kernel/debug/rustguess/state; rmmod rustguess; cat <&6; exec 6<&-";

/// `rgtest cat PATH`: print a file, or exit 1 with the error (for reading
/// as another user).
pub fn cat_cmd(args: &[String]) -> i32 {
    let Some(path) = args.first() else { return 2 };
    let mut s = String::new();
    match File::open(path).and_then(|mut f| f.read_to_string(&mut s)) {
        Ok(_) => {
            print!("{s}");
            0
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            1
        }
    }
}
