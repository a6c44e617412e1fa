// SPDX-License-Identifier: GPL-2.0

//! rustqueue, step 1: a bounded message queue at `/dev/rustqueue`, written to
//! only.
//!
//! Each write enqueues one message: the bytes of that one `write()`, 1 to
//! 4096 of them. The queue holds at most 16 messages; a write to a full
//! queue fails with `ENOSPC`. Reading them back comes in step 2; for now,
//! unloading the module says how many messages it freed.

use kernel::{
    fs::{File, Kiocb},
    iov::IovIterSource,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
};

module! {
    type: RustQueue,
    name: "rustqueue",
    authors: ["rustguess contributors"],
    description: "A bounded FIFO message queue at /dev/rustqueue",
    license: "GPL",
}

// ANCHOR: consts
/// The most messages the queue holds.
const MAX_MESSAGES: usize = 16;
/// The longest message, in bytes. Every message gets a buffer of this
/// size, whatever its length: what the kernel allocates never depends on
/// what a user asks for, and the queue can never hold more than
/// 16 x 4 KiB.
const MAX_MSG_SIZE: usize = 4096;
// ANCHOR_END: consts

// ANCHOR: queue
kernel::sync::global_lock! {
    // SAFETY: Initialized in module initializer before first use.
    unsafe(uninit) static QUEUE: Mutex<KVec<KVec<u8>>> = KVec::new();
}
// ANCHOR_END: queue

// ANCHOR: compat
/// `EMSGSIZE`, which `kernel::error::code` has from Linux 7.1 on (see
/// rustguess's Kbuild and the book's "One module, several kernels").
#[cfg(rustqueue_no_emsgsize)]
fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as i32))
}

#[cfg(not(rustqueue_no_emsgsize))]
fn emsgsize() -> Error {
    EMSGSIZE
}

/// The misc-device owner that the binding leaves empty before Linux 7.3,
/// as in rustguess: without it `rmmod` succeeds while the device is open.
#[cfg(not(rustqueue_misc_owner))]
mod owner {
    use super::{QueueFile, OPTIONS};
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
        ..unsafe { *OPTIONS.into_raw::<QueueFile>().fops }
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

const OPTIONS: MiscDeviceOptions = MiscDeviceOptions { name: c"rustqueue" };

#[pin_data(PinnedDrop)]
struct RustQueue {
    #[pin]
    _miscdev: MiscDeviceRegistration<QueueFile>,
}

impl kernel::InPlaceModule for RustQueue {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Called exactly once, before the device exists, so before
        // any other use of QUEUE.
        unsafe { QUEUE.init() };
        pr_info!("module loaded\n");
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(OPTIONS),
        })
    }
}

// ANCHOR: unload
#[pinned_drop]
impl PinnedDrop for RustQueue {
    fn drop(self: Pin<&mut Self>) {
        // QUEUE is a static, and Rust never drops statics: free the messages
        // still queued, or every unload would leak them.
        let left = core::mem::take(&mut *QUEUE.lock());
        pr_info!("module unloaded ({} messages dropped)\n", left.len());
    }
}
// ANCHOR_END: unload

// ANCHOR: device
/// The device's file operations. No state per open file yet: every open
/// writes to the one queue.
struct QueueFile;

#[vtable]
impl MiscDevice for QueueFile {
    type Ptr = ();

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        #[cfg(not(rustqueue_misc_owner))]
        owner::hold_module(file)?;
        #[cfg(rustqueue_misc_owner)]
        let _ = file;
        Ok(())
    }

    // ANCHOR: write
    fn write_iter(_kiocb: Kiocb<'_, ()>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let len = iov.len();
        // The size bound comes first, before anything is allocated.
        if len > MAX_MSG_SIZE {
            return Err(emsgsize());
        }
        if len == 0 {
            return Ok(0); // an empty write is no message
        }
        // A fixed-size buffer, allocated and filled without the lock (the
        // copy may fault and sleep); `copy_from_iter_vec` then only uses
        // room the buffer already has.
        let mut msg = KVec::with_capacity(MAX_MSG_SIZE, GFP_KERNEL)?;
        if iov.copy_from_iter_vec(&mut msg, GFP_KERNEL)? != len {
            return Err(EFAULT);
        }
        let mut queue = QUEUE.lock();
        if queue.len() >= MAX_MESSAGES {
            return Err(ENOSPC);
        }
        queue.push(msg, GFP_KERNEL)?;
        Ok(len)
    }
    // ANCHOR_END: write
}
// ANCHOR_END: device
