//! Talking to the kernel the way a shell user would: insmod, rmmod, open,
//! write, read and close, each a real syscall.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::process::Command;

pub const DEV: &str = "/dev/rustguess";
pub const EINVAL: i32 = 22;
pub const EMSGSIZE: i32 = 90;
const O_NONBLOCK: i32 = 0o4000;

/// Where the module under test lives (set once per stage by the runner).
pub fn ko_path(dir: &str) -> String {
    format!("{dir}/rustguess.ko")
}

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub fn insmod(ko: &str) -> Result<(), String> {
    run("insmod", &[ko])
}

pub fn rmmod() -> Result<(), String> {
    run("rmmod", &["rustguess"])
}

/// The `delete_module()` system call itself, as `rmmod` would make it
/// (O_NONBLOCK), without kmod's own check of the use count first: the
/// kernel's answer, as an errno.
pub fn delete_module(name: &str) -> Result<(), i32> {
    extern "C" {
        fn syscall(number: i64, ...) -> i64;
    }
    #[cfg(target_arch = "x86_64")]
    const SYS_DELETE_MODULE: i64 = 176;
    #[cfg(target_arch = "aarch64")]
    const SYS_DELETE_MODULE: i64 = 106;
    let name = std::ffi::CString::new(name).map_err(|_| EINVAL)?;
    // SAFETY: delete_module(2) takes a NUL-terminated name and flags; `name`
    // lives until the call returns.
    let rc = unsafe { syscall(SYS_DELETE_MODULE, name.as_ptr(), O_NONBLOCK as i64) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// The `finit_module()` system call itself, as `insmod` makes it, from
/// this thread (so that its fail-nth applies), with no parameters: the
/// kernel's answer, as an errno.
pub fn finit_module(ko: &File) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn syscall(number: i64, ...) -> i64;
    }
    #[cfg(target_arch = "x86_64")]
    const SYS_FINIT_MODULE: i64 = 313;
    #[cfg(target_arch = "aarch64")]
    const SYS_FINIT_MODULE: i64 = 273;
    // SAFETY: finit_module(2) takes a file descriptor, a NUL-terminated
    // parameter string and flags; `ko` is open and the string is static.
    let rc = unsafe {
        syscall(
            SYS_FINIT_MODULE,
            i64::from(ko.as_raw_fd()),
            c"".as_ptr(),
            0i64,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// The module's line in /proc/modules, if it is loaded.
pub fn proc_modules_line() -> Option<String> {
    std::fs::read_to_string("/proc/modules")
        .ok()?
        .lines()
        .find(|l| l.starts_with("rustguess "))
        .map(str::to_owned)
}

/// One `echo ... > /dev/rustguess`: open, a single write(2), close.
pub fn write_once(bytes: &[u8]) -> io::Result<usize> {
    let mut f = OpenOptions::new().write(true).open(DEV)?;
    f.write(bytes)
}

/// Reads an open file to end of file like `cat`, failing if the device never
/// says EOF (the bug that makes `cat` loop forever).
pub fn read_to_eof(f: &mut File, chunk: usize) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
        if all.len() > 1 << 16 {
            return Err(format!(
                "no end of file after {} bytes: cat would loop",
                all.len()
            ));
        }
    }
}

/// One `cat /dev/rustguess`: open, read to EOF, close.
pub fn cat() -> Result<String, String> {
    let mut f = File::open(DEV).map_err(|e| format!("open {DEV}: {e}"))?;
    let bytes = read_to_eof(&mut f, 4096)?;
    String::from_utf8(bytes).map_err(|e| format!("reply is not UTF-8: {e}"))
}

/// Writes a guess and returns the reply, as `echo N > dev; cat dev` would.
pub fn guess(text: &str) -> Result<String, String> {
    let n = write_once(text.as_bytes()).map_err(|e| format!("write {text:?}: {e}"))?;
    if n != text.len() {
        return Err(format!(
            "write {text:?} returned {n}, expected {}",
            text.len()
        ));
    }
    cat()
}

pub fn open_rw() -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(DEV)
        .map_err(|e| format!("open {DEV}: {e}"))
}

/// /dev/kmsg, read from where the last call stopped.
pub struct Kmsg(File);

impl Kmsg {
    pub fn open() -> Result<Self, String> {
        OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open("/dev/kmsg")
            .map(Kmsg)
            .map_err(|e| format!("open /dev/kmsg: {e}"))
    }

    /// The messages logged since the previous call, without their headers.
    pub fn new_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    // "prio,seq,usec,flags;message\n continuation lines"
                    let msg = rec.split_once(';').map_or(&*rec, |(_, m)| m);
                    // A newline inside a message comes escaped, as \x0a.
                    let msg = msg.replace("\\x0a", "\n");
                    lines.extend(msg.lines().map(|l| l.trim_end().to_owned()));
                }
                // EPIPE: records were overwritten before we read them; go on.
                Err(e) if e.raw_os_error() == Some(32) => continue,
                Err(_) => break,
            }
        }
        lines
    }
}

/// Active objects in the kernel's kmalloc caches of SIZE (e.g. "4k").
pub fn kmalloc_objects(size: &str) -> Result<i64, String> {
    // Shrink the caches first. On a KASAN kernel that also empties their
    // quarantine, where freed objects wait, still counted as active, so
    // that a use after free is caught; elsewhere it changes nothing here.
    let suffix = format!("-{size}");
    if let Ok(dir) = std::fs::read_dir("/sys/kernel/slab") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("kmalloc") && name.ends_with(&suffix) {
                let _ = std::fs::write(entry.path().join("shrink"), "1");
            }
        }
    }
    let info =
        std::fs::read_to_string("/proc/slabinfo").map_err(|e| format!("/proc/slabinfo: {e}"))?;
    Ok(info
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|n| n.starts_with("kmalloc") && n.ends_with(&suffix))
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        .sum())
}

/// Runs CYCLE (load, use, unload) 10 times to let the caches settle, then
/// 100 times, and fails if the kmalloc-SIZE caches grew by MOST objects or
/// more: a leak at unload. On a kernel with kmemleak (the debug kernel),
/// KASAN's quarantine keeps freed objects counted as active, so counting
/// proves nothing there; 5 cycles are enough for kmemleak, which sees
/// exactly what was not freed, in the stage's kmemleak-clean check.
pub fn leak_cycles(
    kmemleak: bool,
    size: &str,
    most: i64,
    mut cycle: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    if kmemleak {
        for _ in 0..5 {
            cycle()?;
        }
        println!("# 5 cycles; kmemleak judges them in this stage's kmemleak-clean");
        return Ok(());
    }
    for _ in 0..10 {
        cycle()?;
    }
    let before = kmalloc_objects(size)?;
    for _ in 0..100 {
        cycle()?;
    }
    let after = kmalloc_objects(size)?;
    println!("# kmalloc-{size} active objects: {before} before 100 cycles, {after} after");
    if after - before >= most {
        return Err(format!(
            "{} more kmalloc-{size} objects after 100 cycles: a leak",
            after - before
        ));
    }
    Ok(())
}

/// PATH is a misc character device (major 10), mode 0600, owned by root.
pub fn check_misc_node(path: &str) -> Result<(), String> {
    let m = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    let (major, mode) = ((m.rdev() >> 8) & 0xfff, m.mode() & 0o777);
    if !m.file_type().is_char_device() || major != 10 || mode != 0o600 || m.uid() != 0 {
        return Err(format!("major {major} mode {mode:o} uid {}", m.uid()));
    }
    Ok(())
}
