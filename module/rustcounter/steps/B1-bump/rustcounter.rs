// SPDX-License-Identifier: GPL-2.0

//! rustcounter, step 1: an atomic counter at `/dev/rustcounter`.
//!
//! Each write is one command, and step 1 knows one: `bump` adds one.
//! Anything else is refused with `EINVAL` and changes nothing; step 2 adds
//! `ADD:N` and `RESET`. Reading the device returns the count as text, then
//! end of file. No lock: the count is one kernel atomic, and `add` loops on
//! compare-and-exchange.

use kernel::{
    fmt::Write,
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    str::Formatter,
    sync::atomic::{Atomic, Full, Relaxed},
};

module! {
    type: RustCounter,
    name: "rustcounter",
    authors: ["rustguess contributors"],
    description: "An atomic counter at /dev/rustcounter",
    license: "GPL",
}

/// The longest write accepted, in bytes: `ADD:` and 20 digits fit easily.
const MAX_WRITE: usize = 32;

// ANCHOR: count
/// The count. `Atomic<u64>` is the kernel's own atomic type (it maps to the
/// C `atomic64_*` operations), usable in a static because `new` is `const`.
static COUNT: Atomic<u64> = Atomic::new(0);

/// Adds `n` to the count, stopping at `u64::MAX`. No single instruction adds
/// with saturation, so this reads the count, computes the new value and
/// stores it only if nobody changed the count in between (compare and
/// exchange); if somebody did, it tries again from their value. An update
/// is never lost, and no lock is taken.
fn add(n: u64) {
    let mut seen = COUNT.load(Relaxed);
    while let Err(now) = COUNT.cmpxchg(seen, seen.saturating_add(n), Full) {
        seen = now;
    }
}
// ANCHOR_END: count

// ANCHOR: parse
/// What one write asks for (step 2 adds the other commands).
enum Command {
    Add(u64),
}

/// Parses one write, whitespace trimmed; `None` for anything else.
fn parse(input: &[u8]) -> Option<Command> {
    let text = input.trim_ascii();
    if text == b"bump" {
        return Some(Command::Add(1));
    }
    None
}
// ANCHOR_END: parse

// ANCHOR: compat
/// `EMSGSIZE`, which `kernel::error::code` has from Linux 7.1 on (see
/// rustguess's Kbuild and the book's "One module, several kernels").
#[cfg(rustcounter_no_emsgsize)]
fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as i32))
}

#[cfg(not(rustcounter_no_emsgsize))]
fn emsgsize() -> Error {
    EMSGSIZE
}

/// The misc-device owner that the binding leaves empty before Linux 7.3,
/// as in rustguess: without it `rmmod` succeeds while the device is open.
#[cfg(not(rustcounter_misc_owner))]
mod owner {
    use super::{CounterDevice, OPTIONS};
    use kernel::{bindings, fs::File, prelude::*};

    struct OwnedFops(bindings::file_operations);

    // SAFETY: The table is never written after compile time; sharing it
    // between threads only shares function pointers and the module pointer.
    unsafe impl Sync for OwnedFops {}

    static OWNED_FOPS: OwnedFops = OwnedFops(bindings::file_operations {
        owner: crate::THIS_MODULE.as_ptr(),
        // SAFETY: Evaluated at compile time: `into_raw` is a `const fn`
        // returning a pointer to the device's vtable, a static, whose value
        // is copied into OWNED_FOPS. Nothing is read at run time.
        ..unsafe { *OPTIONS.into_raw::<CounterDevice>().fops }
    });

    /// Makes the VFS hold this module for as long as `file` is open.
    pub(crate) fn hold_module(file: &File) -> Result {
        // SAFETY: THIS_MODULE is valid while we run: misc_open() holds
        // misc_mtx around this call, and unloading cannot finish before
        // misc_deregister() has taken it.
        if !unsafe { bindings::try_module_get(crate::THIS_MODULE.as_ptr()) } {
            return Err(ENODEV);
        }
        // SAFETY: The file is still being opened, so no other thread uses
        // its `f_op` yet. The new table has the same functions; the VFS
        // drops the reference taken above when the file is released.
        unsafe { (*file.as_ptr()).f_op = &OWNED_FOPS.0 };
        Ok(())
    }
}
// ANCHOR_END: compat

const OPTIONS: MiscDeviceOptions = MiscDeviceOptions {
    name: c"rustcounter",
};

#[pin_data(PinnedDrop)]
struct RustCounter {
    #[pin]
    _miscdev: MiscDeviceRegistration<CounterDevice>,
}

impl kernel::InPlaceModule for RustCounter {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // A module's statics start afresh at every load: the count is 0.
        pr_info!("module loaded\n");
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(OPTIONS),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RustCounter {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("module unloaded at {}\n", COUNT.load(Relaxed));
    }
}

// ANCHOR: device
struct CounterDevice;

#[vtable]
impl MiscDevice for CounterDevice {
    type Ptr = ();

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        #[cfg(not(rustcounter_misc_owner))]
        owner::hold_module(file)?;
        #[cfg(rustcounter_misc_owner)]
        let _ = file;
        Ok(())
    }

    fn write_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let len = iov.len();
        if len > MAX_WRITE {
            return Err(emsgsize());
        }
        let mut buf = [0u8; MAX_WRITE];
        if iov.copy_from_iter(&mut buf) != len {
            return Err(EFAULT);
        }
        match parse(buf.get(..len).unwrap_or(&[])) {
            Some(Command::Add(n)) => add(n),
            None => return Err(EINVAL),
        }
        // The next read on this file shows the new count from its start.
        *kiocb.ki_pos_mut() = 0;
        Ok(len)
    }

    fn read_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        // "18446744073709551615\n" is 21 bytes.
        let mut text = [0u8; 24];
        let mut f = Formatter::new(&mut text);
        let _ = writeln!(f, "{}", COUNT.load(Relaxed));
        let len = f.bytes_written().min(text.len());
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), text.get(..len).unwrap_or(&[]))
    }
}
// ANCHOR_END: device
