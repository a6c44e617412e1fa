//! `rgtest bench DIR...`: what one guess costs, next to the cheapest syscalls,
//! for each module given (the Rust game and its C twin), in one run.
//!
//! A round trip is one write(2) of a guess plus one read(2) of the reply on
//! an open file. The floor is the same two syscalls on /dev/null and
//! /dev/zero, measured in the same VM in the same run. Output lines start
//! with "BENCH " and form a Markdown table the book can quote, one column
//! per module.

use crate::dev;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const GUESS: &[u8] = b"50\n";
const REPLY_LEN: usize = 31; // "50 is too high -- guess lower.\n"
const RUN_FOR: Duration = Duration::from_millis(1500);

/// Repeats one round trip for RUN_FOR; returns (round trips, elapsed).
fn measure(w: &mut File, r: &mut File) -> Result<(u64, Duration), String> {
    let mut buf = [0u8; REPLY_LEN];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN_FOR {
        for _ in 0..64 {
            w.write(GUESS).map_err(|e| format!("write: {e}"))?;
            let got = r.read(&mut buf).map_err(|e| format!("read: {e}"))?;
            if got != REPLY_LEN {
                return Err(format!("read {got} bytes, expected {REPLY_LEN}"));
            }
        }
        n += 64;
    }
    Ok((n, start.elapsed()))
}

fn ns_per_op((n, t): (u64, Duration)) -> f64 {
    t.as_nanos() as f64 / n as f64
}

fn throughput(players: usize) -> Result<f64, String> {
    let handles: Vec<_> = (0..players)
        .map(|_| {
            std::thread::spawn(|| -> Result<(u64, Duration), String> {
                let mut f = dev::open_rw()?;
                let mut r = f.try_clone().map_err(|e| e.to_string())?;
                measure(&mut f, &mut r)
            })
        })
        .collect();
    let mut total = 0.0;
    for h in handles {
        let (n, t) = h
            .join()
            .map_err(|_| "player thread panicked".to_string())??;
        total += n as f64 / t.as_secs_f64();
    }
    Ok(total)
}

pub fn run(dirs: &[String]) -> i32 {
    match bench(dirs) {
        Ok(()) => 0,
        Err(e) => {
            println!("BENCH error: {e}");
            1
        }
    }
}

/// One module's results: round trip in ns, then throughput for 1, 2, 4, 8.
struct Results {
    guess: f64,
    throughput: Vec<f64>,
}

/// Loads the module in DIR, measures it, unloads it.
fn bench_module(dir: &str) -> Result<Results, String> {
    dev::insmod(&dev::ko_path(dir))?;
    let mut dev_fd = dev::open_rw()?;
    let mut dev_fd2 = dev_fd.try_clone().map_err(|e| e.to_string())?;
    // Warm up, then measure.
    measure(&mut dev_fd, &mut dev_fd2)?;
    let guess = ns_per_op(measure(&mut dev_fd, &mut dev_fd2)?);
    drop((dev_fd, dev_fd2));
    let throughput = [1, 2, 4, 8]
        .into_iter()
        .map(throughput)
        .collect::<Result<_, _>>()?;
    dev::rmmod()?;
    Ok(Results { guess, throughput })
}

fn floor() -> Result<f64, String> {
    let mut null = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|e| e.to_string())?;
    let mut zero = File::open("/dev/zero").map_err(|e| e.to_string())?;
    measure(&mut null, &mut zero)?;
    Ok(ns_per_op(measure(&mut null, &mut zero)?))
}

fn bench(dirs: &[String]) -> Result<(), String> {
    let floor = floor()?;
    let results: Vec<Results> = dirs
        .iter()
        .map(|d| bench_module(d))
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = dirs
        .iter()
        .map(|d| d.rsplit('/').next().unwrap_or(d))
        .collect();
    let row = |label: &str, cells: Vec<String>| {
        println!("BENCH | {label} | {} |", cells.join(" | "));
    };
    row(
        "measurement",
        names.iter().map(|n| format!("`{n}`")).collect(),
    );
    row("---", names.iter().map(|_| "---".to_string()).collect());
    row(
        "guess round trip (write + read, one open fd)",
        results
            .iter()
            .map(|r| format!("{:.0} ns", r.guess))
            .collect(),
    );
    row(
        "floor: /dev/null write + /dev/zero read",
        results.iter().map(|_| format!("{floor:.0} ns")).collect(),
    );
    row(
        "ratio",
        results
            .iter()
            .map(|r| format!("{:.1}x", r.guess / floor))
            .collect(),
    );
    for (i, players) in [1, 2, 4, 8].into_iter().enumerate() {
        row(
            &format!("throughput with {players} concurrent player(s)"),
            results
                .iter()
                .map(|r| {
                    format!(
                        "{:.0} round trips/s",
                        r.throughput.get(i).copied().unwrap_or(0.0)
                    )
                })
                .collect(),
        );
    }
    Ok(())
}
