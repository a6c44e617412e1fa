//! `rgtest bench DIR`: what one guess costs, next to the cheapest syscalls.
//!
//! A round trip is one write(2) of a guess plus one read(2) of the reply on
//! an open file. The floor is the same two syscalls on /dev/null and
//! /dev/zero, measured in the same VM in the same run. Output lines start
//! with "BENCH " and form a Markdown table the book can quote.

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

pub fn run(dir: &str) -> i32 {
    match bench(dir) {
        Ok(()) => 0,
        Err(e) => {
            println!("BENCH error: {e}");
            1
        }
    }
}

fn bench(dir: &str) -> Result<(), String> {
    dev::insmod(&dev::ko_path(dir))?;
    let mut dev_fd = dev::open_rw()?;
    let mut dev_fd2 = dev_fd.try_clone().map_err(|e| e.to_string())?;
    let mut null = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|e| e.to_string())?;
    let mut zero = File::open("/dev/zero").map_err(|e| e.to_string())?;
    // Warm up both paths, then measure them alternately.
    measure(&mut dev_fd, &mut dev_fd2)?;
    let guess = ns_per_op(measure(&mut dev_fd, &mut dev_fd2)?);
    let floor = ns_per_op(measure(&mut null, &mut zero)?);
    drop((dev_fd, dev_fd2));
    println!("BENCH | measurement | result |");
    println!("BENCH |---|---|");
    println!("BENCH | guess round trip (write + read, one open fd) | {guess:.0} ns |");
    println!("BENCH | floor: /dev/null write + /dev/zero read | {floor:.0} ns |");
    println!("BENCH | ratio | {:.1}x |", guess / floor);
    for players in [1, 2, 4, 8] {
        let ops = throughput(players)?;
        println!(
            "BENCH | throughput with {players} concurrent player(s) | {ops:.0} round trips/s |"
        );
    }
    dev::rmmod()
}
