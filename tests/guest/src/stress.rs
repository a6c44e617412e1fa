//! Stress, for the debug kernel (tests/stress): every allocation of an
//! open, a write and a read failed in turn (faults.rs), 100,000 fuzzed
//! writes, 8 players at once for 10,000 guesses each, 100 load/unload
//! cycles, and rmmod racing a loop of opens and closes, for every module
//! the book builds. The tests check every answer they get; KASAN, lockdep and
//! kmemleak judge what the kernel did, in the checks that end the stage.

use crate::dev::{self, EMSGSIZE};
use crate::part2::{bisect, open, say, state_value, STATE};
use crate::paths::{producers_consumers, rmmod, writers};
use crate::suites::expect_eq;
use crate::{Ctx, TestResult};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SHARED: &str = "/dev/rustguess";
const SOLO: &str = "/dev/rustguess-solo";
const QUEUE: &str = "/dev/rustqueue";
const COUNTER: &str = "/dev/rustcounter";
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;
/// Which KUnit suites run when a module is loaded (a glob; "*" is all).
const KUNIT_FILTER: &str = "/sys/module/kunit/parameters/filter_glob";

/// The fuzzer's seed: fixed, so a failure can be replayed exactly.
const SEED: u64 = 0x5eed_2026_7275_7374;
const FUZZ_WRITES: usize = 100_000;
const PLAYERS: u64 = 8;
const GUESSES_EACH: u64 = 10_000;
/// Messages per queue producer. A consumer opens the queue once for each
/// message (that is how the queue works), and an open costs about 2 ms on
/// the debug kernel under QEMU's emulation: 80,000 would take 10 minutes.
const QUEUE_EACH: usize = 1_000;
/// Load and unload cycles: as many as the game's ordinary suite makes on the
/// other kernels. Here KASAN and kmemleak watch each one, and the fault test
/// has loaded each module 17 to 36 times before.
const CYCLES: usize = 50;
const RACE_ROUNDS: usize = 5;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// The finished game or its C twin: one shared game, secret 42.
    Game,
    /// Part II's complete game: shared and solo, random secrets, commands.
    Extended,
    Queue,
    Counter,
}

struct Module {
    kind: Kind,
    name: &'static str,
    paths: &'static [&'static str],
    /// The longest write accepted.
    cap: usize,
}

impl Module {
    fn ko(&self, c: &Ctx) -> String {
        format!("{}/{}.ko", c.dir, self.name)
    }
}

pub fn run(suite: &str, stage: &str, c: &mut Ctx) -> bool {
    let (kind, name, paths, cap): (_, _, &'static [&'static str], _) = match suite {
        "stress-game" => (Kind::Game, "rustguess", &[SHARED], 32),
        "stress-extended" => (Kind::Extended, "rustguess", &[SHARED, SOLO], 32),
        "stress-queue" => (Kind::Queue, "rustqueue", &[QUEUE], 4096),
        "stress-counter" => (Kind::Counter, "rustcounter", &[COUNTER], 32),
        _ => return false,
    };
    let m = Module {
        kind,
        name,
        paths,
        cap,
    };
    let t = |test: &str| format!("{stage}/stress/{test}");
    // Each load would run the module's KUnit tests again (the stage that
    // built the module ran and counted them); a filter that matches no
    // suite spares the hundreds of loads below that time.
    let _ = std::fs::write(KUNIT_FILTER, "none");
    c.test(&t("insmod"), |c| dev::insmod(&m.ko(c)));
    // The fault test's last calls go through (a guess counts, a message
    // stays queued); a fresh load, whatever the test found, gives the fuzz
    // the state it counts from.
    c.test(&t("every-allocation-fails-cleanly"), |c| {
        let tested = crate::faults::run(c, kind, name, &m.ko(c), paths);
        let _ = rmmod(m.name);
        let reloaded = dev::insmod(&m.ko(c));
        tested.and(reloaded)
    });
    c.test(&t(&format!("{FUZZ_WRITES}-fuzzed-writes")), |_| fuzz(&m));
    let players_test = if kind == Kind::Queue {
        format!("{PLAYERS}x{QUEUE_EACH}-producers-{PLAYERS}-consumers-exact")
    } else {
        format!("{PLAYERS}x{GUESSES_EACH}-players-exact")
    };
    c.test(&t(&players_test), |c| players(c, &m));
    c.test(&t(&format!("insmod-rmmod-{CYCLES}-cycles")), |c| {
        cycles(c, &m)
    });
    c.test(&t("rmmod-races-opens-and-closes"), |c| race(c, &m));
    c.test(&t("rmmod"), |_| rmmod(m.name));
    let _ = std::fs::write(KUNIT_FILTER, "*");
    true
}

// --- fuzzed writes -----------------------------------------------------------

/// xorshift64*: small, fast and reproducible from SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One fuzzed write for a module whose cap is CAP: its length is 0, short,
/// exactly the cap, one over, a few times over, or up to 64 KiB; its bytes
/// are random, or digits in whitespace, or a command with a random tail, or
/// broken UTF-8.
fn fuzz_input(rng: &mut Rng, cap: usize) -> Vec<u8> {
    let len = match rng.below(100) {
        0..=2 => 0,
        3..=7 => cap,
        8..=12 => cap + 1,
        13..=19 => cap + 2 + rng.below(3 * cap as u64) as usize,
        20 => 4096 + rng.below(60 * 1024) as usize,
        _ => 1 + rng.below(cap as u64 - 1) as usize,
    };
    let mut v = Vec::with_capacity(len);
    match rng.below(100) {
        0..=34 => {}
        35..=69 => {
            let spaces: [&[u8]; 5] = [b"", b" ", b"\t", b"\r\n", b"\n"];
            v.extend_from_slice(rng.pick(&spaces));
            for _ in 0..1 + rng.below(24) {
                v.push(b'0' + rng.below(10) as u8);
            }
            v.extend_from_slice(rng.pick(&spaces));
        }
        70..=84 => {
            let words: [&[u8]; 8] = [
                b"RANGE:", b"HISTORY", b"REVEAL", b"bump", b"ADD:", b"RESET", b"42", b"ADD:1",
            ];
            v.extend_from_slice(rng.pick(&words));
            for _ in 0..rng.below(8) {
                v.push(b'0' + rng.below(10) as u8);
            }
        }
        _ => {
            let broken: [&[u8]; 6] = [
                b"\xc3\x28",
                b"\xe2\x82",
                b"\xf0\x90\x28",
                b"\xff",
                b"4\xc0\xaf2",
                b"\xed\xa0\x80",
            ];
            v.extend_from_slice(rng.pick(&broken));
        }
    }
    // Fill (or cut) to the chosen length with random bytes.
    while v.len() < len {
        v.push(rng.next() as u8);
    }
    v.truncate(len);
    v
}

/// What the finished game (and its C twin) does with one write: the
/// errno, or the reply. SECRET is 42.
struct GameModel {
    tries: u64,
    won: bool,
    reply: String,
}

impl GameModel {
    fn write(&mut self, input: &[u8]) -> Result<usize, i32> {
        if input.len() > 32 {
            self.reply = format!(
                "That's {} bytes; a guess is a number from 1 to 100.\n",
                input.len()
            );
            return Err(EMSGSIZE);
        }
        if input.is_empty() {
            return Ok(0);
        }
        let text = input.trim_ascii();
        self.reply = if self.won {
            "You already won! To play again, reload the module:\n\
             sudo rmmod rustguess && sudo insmod rustguess.ko\n"
                .into()
        } else if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
            "That's not a number. Write a whole number from 1 to 100, \
             like: echo 50 | sudo tee /dev/rustguess\n"
                .into()
        } else {
            let digits = String::from_utf8_lossy(text);
            match digits.parse::<u64>() {
                Ok(n) if (1..=100).contains(&n) => {
                    self.tries += 1;
                    match n.cmp(&42) {
                        std::cmp::Ordering::Less => format!("{n} is too low -- guess higher.\n"),
                        std::cmp::Ordering::Greater => {
                            format!("{n} is too high -- guess lower.\n")
                        }
                        std::cmp::Ordering::Equal => {
                            self.won = true;
                            let noun = if self.tries == 1 { "try" } else { "tries" };
                            format!("Correct! You got it in {} {noun}.\n", self.tries)
                        }
                    }
                }
                _ => format!("{digits} is out of range -- pick a number from 1 to 100.\n"),
            }
        };
        Ok(input.len())
    }
}

/// What rustcounter does with one write.
fn counter_model(count: u64, input: &[u8]) -> Result<u64, i32> {
    if input.len() > 32 {
        return Err(EMSGSIZE);
    }
    let text = input.trim_ascii();
    if text == b"bump" {
        return Ok(count.saturating_add(1));
    }
    if text == b"RESET" {
        return Ok(0);
    }
    let digits = text.strip_prefix(b"ADD:").ok_or(EINVAL)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(EINVAL);
    }
    let n = String::from_utf8_lossy(digits)
        .parse::<u64>()
        .map_err(|_| EINVAL)?;
    Ok(count.saturating_add(n))
}

fn errno(r: std::io::Result<usize>) -> Result<usize, i32> {
    r.map_err(|e| e.raw_os_error().unwrap_or(-1))
}

fn fuzz(m: &Module) -> TestResult {
    let mut rng = Rng(SEED);
    let start = Instant::now();
    let mut files: Vec<File> = m.paths.iter().map(|p| open(p)).collect::<Result<_, _>>()?;
    let mut game = GameModel {
        tries: 0,
        won: false,
        reply: String::new(),
    };
    let mut count = 0u64;
    // The queue's messages, as the model has them.
    let mut queued: VecDeque<Vec<u8>> = VecDeque::new();
    let mut refused = 0usize;
    for i in 0..FUZZ_WRITES {
        let mut input = fuzz_input(&mut rng, m.cap);
        // The game's secret is 42: keep it for the last write, so every
        // guess before it is counted.
        if m.kind == Kind::Game {
            let t = input.trim_ascii();
            if !t.is_empty()
                && t.iter().all(u8::is_ascii_digit)
                && String::from_utf8_lossy(t).parse::<u64>() == Ok(42)
            {
                input = b"41\n".to_vec();
            }
        }
        let which = i % files.len();
        let path = m.paths[which];
        let f = &mut files[which];
        let ctx = |what: String| {
            let shown = String::from_utf8_lossy(&input[..input.len().min(40)]);
            format!(
                "write {i} ({} bytes, {shown:?}) to {path}: {what}",
                input.len()
            )
        };
        let got = errno(f.write(&input));
        if got.is_err() {
            refused += 1;
        }
        match m.kind {
            Kind::Game => {
                let want = game.write(&input);
                if got != want {
                    return Err(ctx(format!("got {got:?}, expected {want:?}")));
                }
                // The reply, even to a refused write, from the file's start.
                expect_eq(&reply(f)?, &game.reply).map_err(ctx)?;
            }
            Kind::Extended => {
                let ok = match got {
                    Ok(n) => n == input.len() && input.len() <= m.cap,
                    Err(e) => e == EMSGSIZE && input.len() > m.cap,
                };
                if !ok {
                    return Err(ctx(format!("got {got:?}")));
                }
                let text = reply(f)?;
                if text.is_empty() || text.len() > 96 + 24 * 32 {
                    return Err(ctx(format!("a reply of {} bytes", text.len())));
                }
            }
            Kind::Queue => {
                let want = if input.len() > m.cap {
                    Err(EMSGSIZE)
                } else if input.is_empty() {
                    Ok(0)
                } else if queued.len() >= 16 {
                    Err(ENOSPC)
                } else {
                    queued.push_back(input.clone());
                    Ok(input.len())
                };
                if got != want {
                    return Err(ctx(format!("got {got:?}, expected {want:?}")));
                }
                // Now and then, take every message off again: each comes
                // back whole, alone and in order. In between, the queue is
                // mostly full, and the writes try ENOSPC.
                if i % 2000 == 1999 || i + 1 == FUZZ_WRITES {
                    while let Some(msg) = queued.pop_front() {
                        let mut q = File::open(path).map_err(|e| e.to_string())?;
                        if dev::read_to_eof(&mut q, 4096)? != msg {
                            return Err(ctx(format!(
                                "a message of {} bytes came back changed",
                                msg.len()
                            )));
                        }
                    }
                    let mut q = File::open(path).map_err(|e| e.to_string())?;
                    if !dev::read_to_eof(&mut q, 4096)?.is_empty() {
                        return Err(ctx("the queue has more messages than were written".into()));
                    }
                }
            }
            Kind::Counter => {
                let want = counter_model(count, &input);
                match (got, want) {
                    (Ok(n), Ok(v)) if n == input.len() => count = v,
                    (Err(a), Err(b)) if a == b => {}
                    _ => return Err(ctx(format!("got {got:?}, the model says {want:?}"))),
                }
                expect_eq(&reply(f)?, &format!("{count}\n")).map_err(ctx)?;
            }
        }
        // Now and then, new files: fresh opens and releases under fire.
        if i % 1000 == 999 {
            files = m.paths.iter().map(|p| open(p)).collect::<Result<_, _>>()?;
        }
    }
    if m.kind == Kind::Game {
        // The last write wins, and counts every guess the model counted.
        let mut f = open(SHARED)?;
        let _ = game.write(b"42\n");
        expect_eq(&say(&mut f, "42\n")?, &game.reply)?;
    }
    println!(
        "# {FUZZ_WRITES} fuzzed writes (seed {SEED:#x}) in {} ms, {refused} refused",
        start.elapsed().as_millis()
    );
    Ok(())
}

/// The device's reply (or count) as a read from offset 0 gives it: one
/// pread, whatever the file's position.
fn reply(f: &File) -> Result<String, String> {
    let mut buf = [0u8; 4096];
    let n = f.read_at(&mut buf, 0).map_err(|e| format!("pread: {e}"))?;
    String::from_utf8(buf[..n].to_vec()).map_err(|e| format!("reply not UTF-8: {e}"))
}

// --- 8 players x 10,000 guesses ----------------------------------------------

fn players(c: &mut Ctx, m: &Module) -> TestResult {
    let start = Instant::now();
    let result = match m.kind {
        Kind::Game => {
            // Reload for a fresh game: the fuzzer won the last one.
            reload(c, m)?;
            shared_players(GUESSES_EACH)?;
            // 1 + 80,000 wrong guesses, then a bisection from 2.
            let (mine, _) = bisect(&mut open(SHARED)?, 2, 100, 1 + PLAYERS * GUESSES_EACH)?;
            if mine > 7 {
                return Err(format!("the last player needed {mine} tries"));
            }
            Ok(())
        }
        Kind::Extended => extended_players(c, m),
        Kind::Queue => producers_consumers(PLAYERS as usize, QUEUE_EACH, 600),
        Kind::Counter => writers(PLAYERS, GUESSES_EACH),
    };
    println!(
        "# {PLAYERS} x {GUESSES_EACH} in {} ms",
        start.elapsed().as_millis()
    );
    result
}

fn reload(c: &Ctx, m: &Module) -> TestResult {
    rmmod(m.name)?;
    dev::insmod(&m.ko(c))
}

/// Writes 1 (a wrong guess, checked first) to the shared game from PLAYERS
/// processes at once, EACH times each, each on a file of its own (as
/// `exec 3>/dev/rustguess` would; the race test opens and closes).
fn shared_players(each: u64) -> TestResult {
    let reply = dev::guess("1\n")?;
    if !reply.contains("too low") {
        return Err(format!("1 is not a wrong guess here: {reply:?}"));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let children = (0..PLAYERS)
        .map(|_| {
            Command::new(&exe)
                .args(["writer", SHARED, "1", &each.to_string()])
                .stdout(Stdio::null())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("spawn: {e}"))?;
    for mut child in children {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a player failed: {status}"));
        }
    }
    Ok(())
}

/// Part II's game: every solo player plays whole games by bisection on
/// opens of its own until it has made 10,000 guesses, and each win must
/// count that game's guesses exactly; then the same 8 x 10,000 wrong
/// guesses on the shared game, which counts exactly its first 32.
fn extended_players(c: &mut Ctx, m: &Module) -> TestResult {
    // An open costs milliseconds on the debug kernel: games from 1 to
    // 1,000,000 take about 20 guesses each, so a third of the opens.
    let threads: Vec<_> = (0..PLAYERS)
        .map(|_| {
            std::thread::spawn(|| -> Result<u64, String> {
                let (mut guesses, mut games) = (0, 0);
                while guesses < GUESSES_EACH {
                    let mut f = open(SOLO)?;
                    say(&mut f, "RANGE:1000000\n")?;
                    let (tries, _) = bisect(&mut f, 1, 1_000_000, 0)?;
                    guesses += tries;
                    games += 1;
                }
                Ok(games)
            })
        })
        .collect();
    let mut games = 0;
    for t in threads {
        games += t.join().map_err(|_| "a player panicked".to_string())??;
    }
    println!("# {PLAYERS} solo players won {games} games, every try count exact");
    // The shared game, fresh: reload until 1 is not the secret (debugfs
    // shows it).
    for _ in 0..5 {
        reload(c, m)?;
        if state_value(
            &std::fs::read_to_string(STATE).map_err(|e| e.to_string())?,
            "secret",
        )? != "1"
        {
            shared_players(GUESSES_EACH)?;
            let state = std::fs::read_to_string(STATE).map_err(|e| e.to_string())?;
            expect_eq(&state_value(&state, "tries")?, "32")?;
            return expect_eq(&state_value(&state, "history")?, "32 of 32");
        }
    }
    Err("1 was the secret five loads in a row".into())
}

// --- load and unload ------------------------------------------------------------

fn cycles(c: &mut Ctx, m: &Module) -> TestResult {
    rmmod(m.name)?;
    let start = Instant::now();
    for i in 1..=CYCLES {
        dev::insmod(&m.ko(c)).map_err(|e| format!("cycle {i}: {e}"))?;
        for path in m.paths {
            touch(path).map_err(|e| format!("cycle {i}: {path}: {e}"))?;
        }
        rmmod(m.name).map_err(|e| format!("cycle {i}: {e}"))?;
    }
    println!("# {CYCLES} cycles in {} ms", start.elapsed().as_millis());
    dev::insmod(&m.ko(c))
}

/// One open, one write and a read to the end, one close (the debugfs
/// state file, read-only: an open and a read).
fn touch(path: &str) -> Result<(), std::io::Error> {
    if path == STATE {
        let mut f = File::open(path)?;
        dev::read_to_eof(&mut f, 4096).map_err(std::io::Error::other)?;
        return Ok(());
    }
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let text: &[u8] = if path == COUNTER { b"bump\n" } else { b"50\n" };
    f.write_all(text)?;
    dev::read_to_eof(&mut f, 4096).map_err(std::io::Error::other)?;
    Ok(())
}

/// While a thread opens, uses and closes the devices as fast as it can,
/// unload and load the module RACE_ROUNDS times. Every open either works,
/// and then so does everything done with the file, or fails cleanly
/// because the device is going or gone.
fn race(c: &mut Ctx, m: &Module) -> TestResult {
    // Part II's game races its debugfs state file too: an open of it must
    // hold the module as the devices' opens do.
    let paths: &'static [&'static str] = if m.kind == Kind::Extended {
        crate::part2::mount_debugfs()?;
        &[SHARED, SOLO, STATE]
    } else {
        m.paths
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (opened, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let opener = {
        let (stop, opened, refused) = (stop.clone(), opened.clone(), refused.clone());
        std::thread::spawn(move || -> TestResult {
            while !stop.load(Relaxed) {
                for path in paths {
                    match touch(path) {
                        Ok(()) => opened.fetch_add(1, Relaxed),
                        // The node is gone, or going: rmmod won this race.
                        Err(e)
                            if matches!(e.kind(), ErrorKind::NotFound)
                                || matches!(e.raw_os_error(), Some(6 | 19)) =>
                        {
                            refused.fetch_add(1, Relaxed)
                        }
                        Err(e) => return Err(format!("{path}: {e}")),
                    };
                }
            }
            Ok(())
        })
    };
    let start = Instant::now();
    let mut attempts = 0u64;
    let mut result = Ok(());
    'rounds: for round in 1..=RACE_ROUNDS {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            attempts += 1;
            if rmmod(m.name).is_ok() {
                break;
            }
            if Instant::now() > deadline || opener.is_finished() {
                result = Err(format!("round {round}: rmmod refused for 30 s"));
                break 'rounds;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Err(e) = dev::insmod(&m.ko(c)) {
            result = Err(format!("round {round}: {e}"));
            break;
        }
    }
    stop.store(true, Relaxed);
    let thread = opener
        .join()
        .map_err(|_| "the opener panicked".to_string())?;
    result?;
    thread?;
    println!(
        "# {RACE_ROUNDS} unloads in {} ms ({attempts} rmmod attempts) while a thread \
         used the devices {} times and was refused {} times",
        start.elapsed().as_millis(),
        opened.load(Relaxed),
        refused.load(Relaxed)
    );
    Ok(())
}
