// SPDX-License-Identifier: GPL-2.0

//! rustguess, Part II complete: the extended game.
//!
//! `/dev/rustguess` plays one game shared by every open, as in Part I, and
//! `/dev/rustguess-solo` gives each open file a game of its own. Each game
//! picks its secret with the kernel's random number generator. Besides a
//! number, a write may be `RANGE:N` (before the first guess) or `HISTORY`,
//! and in a debug build (`make DEBUG=1`) `REVEAL`. Root can read the shared
//! game's state in `/sys/kernel/debug/rustguess/state`.

// ANCHOR: uses
use core::cmp::Ordering;
use kernel::{
    // ANCHOR: debugfs_uses
    bindings,
    // ANCHOR_END: debugfs_uses
    fmt::{self, Write},
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    // ANCHOR: debugfs_seq_uses
    seq_file::SeqFile,
    seq_print,
    // ANCHOR_END: debugfs_seq_uses
    str::Formatter,
    // ANCHOR: solo_uses
    sync::{new_mutex, Mutex},
    // ANCHOR_END: solo_uses
};
// ANCHOR_END: uses

// ANCHOR: module
module! {
    type: RustGuess,
    name: "rustguess",
    authors: ["rustguess contributors"],
    description: "A number-guessing game at /dev/rustguess",
    license: "GPL",
}
// ANCHOR_END: module

// ANCHOR: consts
/// The lowest number of every game, and the range a new game starts with.
const LOW: u64 = 1;
const DEFAULT_HIGH: u64 = 100;

// ANCHOR: range_consts
/// The widest range `RANGE:N` accepts. It keeps every number small enough
/// for the random number generator's `u32`, and every game winnable in 20
/// guesses.
const MAX_HIGH: u64 = 1_000_000;
// ANCHOR_END: range_consts

/// The longest write accepted, in bytes. A guess is a few digits and maybe
/// some whitespace; anything longer is refused before a byte is copied.
const MAX_WRITE: usize = 32;

// ANCHOR: history_consts
/// The most guesses one game remembers. Past it, the game refuses guesses
/// rather than grow: memory a user can make the kernel allocate needs a cap.
const HISTORY_CAP: usize = 32;

/// Room for the longest reply: `HISTORY` with a full history, one line of
/// at most 24 bytes per guess ("1000000 is too high\n"), after a heading.
const REPLY_CAP: usize = 96 + 24 * HISTORY_CAP;
// ANCHOR_END: history_consts

// ANCHOR: commands
/// What the game says it understands, besides a number.
const COMMANDS: &str = "Or a command: RANGE:N before your first guess (N up to 1000000), \
                        or HISTORY.\n";
// ANCHOR_END: commands
// ANCHOR_END: consts

// ANCHOR: reply
/// The text the next `read()` returns: a fixed buffer, so no allocation.
struct Reply {
    buf: [u8; REPLY_CAP],
    len: usize,
}

impl Reply {
    const fn new() -> Self {
        Reply {
            buf: [0; REPLY_CAP],
            len: 0,
        }
    }

    /// Replaces the reply with formatted text.
    fn set(&mut self, args: fmt::Arguments<'_>) {
        let mut f = Formatter::new(&mut self.buf);
        // Every reply fits in REPLY_CAP; if one ever did not, the formatter
        // stops at the end of the buffer and the reader sees it cut short.
        let _ = f.write_fmt(args);
        self.len = f.bytes_written().min(REPLY_CAP);
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}
// ANCHOR_END: reply

// ANCHOR: parse
/// What one write said, once whitespace is trimmed.
enum Input<'a> {
    /// A number in the game's range.
    Number(u64),
    /// Only digits, but outside the range (including too big for a `u64`).
    OutOfRange(&'a str),
    // ANCHOR: range_input
    /// `RANGE:N`, with N if it is a whole number from 2 to `MAX_HIGH`.
    Range(Option<u64>),
    // ANCHOR_END: range_input
    // ANCHOR: history_input
    /// `HISTORY`.
    History,
    // ANCHOR_END: history_input
    // ANCHOR: reveal_input
    /// `REVEAL`, understood only by debug builds.
    #[cfg(rustguess_debug)]
    Reveal,
    // ANCHOR_END: reveal_input
    /// Anything else: empty, signs, letters, NUL bytes, invalid UTF-8.
    NotANumber,
}

/// The number `digits` spells, if it is only ASCII digits; `Err` carries
/// the digits when the number does not fit in a `u64`.
fn number(digits: &[u8]) -> Option<Result<u64, &str>> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Only ASCII digits are left, so this is valid UTF-8 and parse() can only
    // fail by overflowing.
    let text = core::str::from_utf8(digits).ok()?;
    Some(text.parse::<u64>().map_err(|_| text))
}

fn parse(input: &[u8], high: u64) -> Input<'_> {
    let text = input.trim_ascii();
    // ANCHOR: range_parse
    if let Some(arg) = text.strip_prefix(b"RANGE:") {
        return match number(arg) {
            Some(Ok(n)) if (2..=MAX_HIGH).contains(&n) => Input::Range(Some(n)),
            _ => Input::Range(None),
        };
    }
    // ANCHOR_END: range_parse
    // ANCHOR: history_parse
    if text == b"HISTORY" {
        return Input::History;
    }
    // ANCHOR_END: history_parse
    // ANCHOR: reveal_parse
    #[cfg(rustguess_debug)]
    if text == b"REVEAL" {
        return Input::Reveal;
    }
    // ANCHOR_END: reveal_parse
    match number(text) {
        None => Input::NotANumber,
        Some(Ok(n)) if (LOW..=high).contains(&n) => Input::Number(n),
        Some(Ok(_)) => Input::OutOfRange(core::str::from_utf8(text).unwrap_or("?")),
        Some(Err(digits)) => Input::OutOfRange(digits),
    }
}
// ANCHOR_END: parse

// ANCHOR: random
/// A secret from `LOW` to `high`, every number equally likely.
///
/// The kernel has no safe Rust wrapper for its random number generator yet,
/// so this calls the C function through `kernel::bindings`: the one `unsafe`
/// call in the module that is not about the misc-device owner.
fn random_secret(high: u64) -> u64 {
    // `high` is at most MAX_HIGH, so it fits; u32::MAX would only be a
    // wider range than asked for, never a panic.
    let span = u32::try_from(high - LOW + 1).unwrap_or(u32::MAX);
    // SAFETY: `__get_random_u32_below` takes and returns plain integers, is
    // exported to modules, and cannot fail. Its one precondition, a non-zero
    // bound, holds: `span` is at least 1. It returns 0..span, uniformly
    // (C's `get_random_u32_below()` is an inline wrapper around it), so there
    // is none of the bias of `get_random_u32() % span`.
    let offset = unsafe { kernel::bindings::__get_random_u32_below(span) };
    LOW + u64::from(offset)
}
// ANCHOR_END: random

// ANCHOR: game
// ANCHOR: state
// ANCHOR: history_entry
/// One guess and the answer it got, for `HISTORY`.
struct Entry {
    guess: u64,
    answer: Ordering,
}
// ANCHOR_END: history_entry

/// One game: the shared one behind the `GAME` mutex, or a solo one.
struct Game {
    secret: u64,
    high: u64,
    tries: u64,
    won: bool,
    // ANCHOR: history_field
    /// Every guess so far, at most HISTORY_CAP of them.
    history: KVec<Entry>,
    // ANCHOR_END: history_field
    /// What to do after a win, to play again.
    again: &'static str,
    reply: Reply,
}

impl Game {
    /// A game with no secret yet; `start` picks one. `const`, so that the
    /// shared game can be the initial value of a static.
    const fn new(again: &'static str) -> Self {
        Game {
            secret: 0,
            high: DEFAULT_HIGH,
            tries: 0,
            won: false,
            // ANCHOR: history_new
            history: KVec::new(),
            // ANCHOR_END: history_new
            again,
            reply: Reply::new(),
        }
    }
    // ANCHOR_END: state

    // ANCHOR: start
    /// Picks the secret and sets the welcome reply, which ends with `how`
    /// to play on this game's device.
    fn start(&mut self, how: &str) {
        self.secret = random_secret(self.high);
        let high = self.high;
        self.reply.set(fmt!(
            "Welcome to rustguess! I'm thinking of a number from {LOW} to {high}.\n{how}"
        ));
    }
    // ANCHOR_END: start

    // ANCHOR: take
    /// Plays one write, copied in by `copy_write`; returns what `write()`
    /// returns.
    fn take(&mut self, write: &Written) -> Result<usize> {
        match *write {
            Written::TooLong(len) => {
                let high = self.high;
                self.reply.set(fmt!(
                    "That's {len} bytes; a guess is a number from {LOW} to {high}.\n"
                ));
                Err(emsgsize())
            }
            Written::Bytes(ref buf, len) => {
                if len > 0 {
                    self.play(buf.get(..len).unwrap_or(&[]))?;
                }
                Ok(len)
            }
        }
    }
    // ANCHOR_END: take

    /// Plays one write's worth of input and sets the reply.
    fn play(&mut self, input: &[u8]) -> Result {
        let high = self.high;
        match parse(input, high) {
            // ANCHOR: history_play
            Input::History => self.show_history(),
            // ANCHOR_END: history_play
            // ANCHOR: reveal_play
            #[cfg(rustguess_debug)]
            Input::Reveal => {
                let secret = self.secret;
                self.reply.set(fmt!("The secret is {secret}.\n"));
            }
            // ANCHOR_END: reveal_play
            // ANCHOR: range_play
            Input::Range(Some(n)) if self.tries == 0 => {
                self.high = n;
                self.secret = random_secret(n);
                self.reply
                    .set(fmt!("New range: {LOW} to {n}. I've picked a new number.\n"));
            }
            Input::Range(Some(_)) => self.reply.set(fmt!(
                "RANGE only works before your first guess; this game is from {LOW} to {high}.\n"
            )),
            Input::Range(None) => self.reply.set(fmt!(
                "RANGE needs a whole number from 2 to {MAX_HIGH}, like RANGE:1000. \
                 The range is still {LOW} to {high}.\n"
            )),
            // ANCHOR_END: range_play
            _ if self.won => {
                let again = self.again;
                self.reply
                    .set(fmt!("You already won! To play again, {again}"));
            }
            Input::NotANumber => self.reply.set(fmt!(
                "That's not a number. Write a whole number from {LOW} to {high}, \
                 like: echo 50 | sudo tee /dev/rustguess\n{COMMANDS}"
            )),
            Input::OutOfRange(text) => self.reply.set(fmt!(
                "{text} is out of range -- pick a number from {LOW} to {high}.\n"
            )),
            Input::Number(n) => self.guess(n)?,
        }
        Ok(())
    }

    // ANCHOR: guess
    /// Plays one guess in range.
    fn guess(&mut self, n: u64) -> Result {
        let answer = n.cmp(&self.secret);
        // ANCHOR: history_record
        if self.history.len() >= HISTORY_CAP {
            self.reply.set(fmt!(
                "That guess does not count: this game is at its limit of {HISTORY_CAP} \
                 guesses. HISTORY shows them.\n"
            ));
            return Ok(());
        }
        if self
            .history
            .push(Entry { guess: n, answer }, GFP_KERNEL)
            .is_err()
        {
            self.reply.set(fmt!(
                "Out of memory: that guess does not count. Try again.\n"
            ));
            return Err(ENOMEM);
        }
        // ANCHOR_END: history_record
        self.tries = self.tries.saturating_add(1);
        match answer {
            Ordering::Less => self.reply.set(fmt!("{n} is too low -- guess higher.\n")),
            Ordering::Greater => self.reply.set(fmt!("{n} is too high -- guess lower.\n")),
            Ordering::Equal => {
                self.won = true;
                let tries = self.tries;
                let noun = if tries == 1 { "try" } else { "tries" };
                self.reply
                    .set(fmt!("Correct! You got it in {tries} {noun}.\n"));
            }
        }
        Ok(())
    }
    // ANCHOR_END: guess

    // ANCHOR: history_show
    /// Sets the reply to every guess so far, one per line.
    fn show_history(&mut self) {
        let mut f = Formatter::new(&mut self.reply.buf);
        let count = self.history.len();
        let noun = if count == 1 { "guess" } else { "guesses" };
        let _ = writeln!(f, "{count} {noun} so far (this game keeps {HISTORY_CAP}):");
        for entry in self.history.iter() {
            let (guess, answer) = (entry.guess, entry.answer);
            let _ = match answer {
                Ordering::Less => writeln!(f, "{guess} is too low"),
                Ordering::Greater => writeln!(f, "{guess} is too high"),
                Ordering::Equal => writeln!(f, "{guess} is correct"),
            };
        }
        self.reply.len = f.bytes_written().min(REPLY_CAP);
    }
    // ANCHOR_END: history_show
}
// ANCHOR_END: game

// ANCHOR: written
/// A write, copied in from user space before any lock is taken.
enum Written {
    /// The bytes written, in the first `usize` of the buffer.
    Bytes([u8; MAX_WRITE], usize),
    /// A write longer than MAX_WRITE, of this many bytes: not copied.
    TooLong(usize),
}

/// Copies a write in. It may fault and sleep, so call it without a lock.
fn copy_write(iov: &mut IovIterSource<'_>) -> Result<Written> {
    let len = iov.len();
    if len > MAX_WRITE {
        return Ok(Written::TooLong(len));
    }
    let mut buf = [0u8; MAX_WRITE];
    if iov.copy_from_iter(&mut buf) != len {
        return Err(EFAULT);
    }
    Ok(Written::Bytes(buf, len))
}
// ANCHOR_END: written

// ANCHOR: global
kernel::sync::global_lock! {
    // SAFETY: Initialized in module initializer before first use.
    unsafe(uninit) static GAME: Mutex<Game> = Game::new(
        "reload the module:\nsudo rmmod rustguess && sudo insmod rustguess.ko\n"
    );
}
// ANCHOR_END: global

// ANCHOR: compat
/// `EMSGSIZE` ("Message too long"). `kernel::error::code` has it from Linux
/// 7.1 on; on 7.0, Kbuild sets `rustguess_no_emsgsize` and we build the same
/// error from the C constant, as `kernel::error::code` itself does.
#[cfg(rustguess_no_emsgsize)]
fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as i32))
}

#[cfg(not(rustguess_no_emsgsize))]
fn emsgsize() -> Error {
    EMSGSIZE
}
// ANCHOR_END: compat

// ANCHOR: owner
/// The `owner` field that `MiscDeviceRegistration` leaves empty before Linux
/// 7.3 (from 7.3 on, Kbuild sets `rustguess_misc_owner` and the binding fills
/// it in itself, so none of this is built).
///
/// Without an owner the VFS takes no module reference for an open file, so
/// `rmmod` succeeds while a device is open and the next call on that file
/// jumps into freed memory. `open` installs a copy of the device's table on
/// each new file: from then on the VFS holds a reference to this module until
/// the file's last close, as it does for a C driver with `.owner = THIS_MODULE`.
#[cfg(not(rustguess_misc_owner))]
mod owner {
    use kernel::{
        bindings,
        fs::File,
        miscdevice::{MiscDevice, MiscDeviceOptions},
        prelude::*,
    };

    /// A device's file operations with `owner` set: one static per device.
    pub(crate) struct OwnedFops(bindings::file_operations);

    // SAFETY: The table is never written after compile time; sharing it
    // between threads only shares function pointers and the module pointer.
    unsafe impl Sync for OwnedFops {}

    impl OwnedFops {
        /// The table the binding builds for device `T`, with our owner.
        /// Only ever evaluated at compile time, to initialize a static.
        pub(crate) const fn new<T: MiscDevice>(options: MiscDeviceOptions) -> Self {
            OwnedFops(bindings::file_operations {
                owner: crate::THIS_MODULE.as_ptr(),
                // SAFETY: This runs at compile time: `into_raw` is a `const
                // fn` that returns a pointer to `T`'s vtable, a static, and
                // reading a static through a pointer during const evaluation
                // copies its value into our static. Nothing is read at run
                // time, so nothing can dangle.
                ..unsafe { *options.into_raw::<T>().fops }
            })
        }

        /// Makes the VFS hold this module for as long as `file` is open.
        pub(crate) fn hold_module(&'static self, file: &File) -> Result {
            // SAFETY: THIS_MODULE points at this module's `struct module`,
            // which stays valid while we run: misc_open() holds misc_mtx
            // around this call, and unloading cannot finish before
            // misc_deregister() has taken that mutex.
            if !unsafe { bindings::try_module_get(crate::THIS_MODULE.as_ptr()) } {
                // rmmod has already begun.
                return Err(ENODEV);
            }
            // SAFETY: The file is still being opened, so no other thread uses
            // its `f_op` yet (misc_open() replaced it the same way just before
            // calling us). The new table has the same functions; the VFS drops
            // the module reference taken above when the file is released.
            unsafe { (*file.as_ptr()).f_op = &self.0 };
            Ok(())
        }
    }
}

#[cfg(not(rustguess_misc_owner))]
static OWNED_FOPS: owner::OwnedFops = owner::OwnedFops::new::<RustGuessDevice>(OPTIONS);
// ANCHOR: solo_owner
#[cfg(not(rustguess_misc_owner))]
static SOLO_OWNED_FOPS: owner::OwnedFops = owner::OwnedFops::new::<SoloDevice>(SOLO_OPTIONS);
// ANCHOR_END: solo_owner
// ANCHOR_END: owner

// ANCHOR: register
const OPTIONS: MiscDeviceOptions = MiscDeviceOptions { name: c"rustguess" };
// ANCHOR: solo_options
const SOLO_OPTIONS: MiscDeviceOptions = MiscDeviceOptions {
    name: c"rustguess-solo",
};
// ANCHOR_END: solo_options

#[pin_data(PinnedDrop)]
struct RustGuess {
    #[pin]
    _miscdev: MiscDeviceRegistration<RustGuessDevice>,
    // ANCHOR: solo_field
    #[pin]
    _solo: MiscDeviceRegistration<SoloDevice>,
    // ANCHOR_END: solo_field
    // ANCHOR: debugfs_field
    /// `rustguess/state` in debugfs: removed when this is dropped.
    _debugfs: DebugFsDir,
    // ANCHOR_END: debugfs_field
}

impl kernel::InPlaceModule for RustGuess {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Called exactly once, before the device exists, so before
        // any other use of GAME.
        unsafe { GAME.init() };
        GAME.lock().start(
            "Guess with: echo 50 | sudo tee /dev/rustguess\n\
             Then read my reply: sudo cat /dev/rustguess\n",
        );
        pr_info!("module loaded\n");
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(OPTIONS),
            // ANCHOR: solo_register
            _solo <- MiscDeviceRegistration::register(SOLO_OPTIONS),
            // ANCHOR_END: solo_register
            // ANCHOR: debugfs_register
            _debugfs: DebugFsDir::new(),
            // ANCHOR_END: debugfs_register
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RustGuess {
    fn drop(self: Pin<&mut Self>) {
        // ANCHOR: history_free
        // GAME is a static, and Rust never drops statics: free the shared
        // game's history here, or every load would leak it.
        GAME.lock().history = KVec::new();
        // ANCHOR_END: history_free
        pr_info!("module unloaded\n");
    }
}
// ANCHOR_END: register

// ANCHOR: debugfs_show
/// The contents of `/sys/kernel/debug/rustguess/state`, made afresh on
/// every read from the shared game.
fn show_state(m: &SeqFile) {
    let game = GAME.lock();
    let state = if game.won { "won" } else { "playing" };
    seq_print!(m, "secret: {}\n", game.secret);
    seq_print!(m, "range: {} to {}\n", LOW, game.high);
    seq_print!(m, "tries: {}\n", game.tries);
    seq_print!(m, "history: {} of {}\n", game.history.len(), HISTORY_CAP);
    seq_print!(m, "state: {state}\n");
}
// ANCHOR_END: debugfs_show

// ANCHOR: debugfs_fops
/// The state file's operations, as a C driver writes them: `seq_file`'s
/// stock read, seek and release, our `open`, and `owner`. With an owner,
/// the kernel holds this module while the file is open, so `rmmod` is
/// refused until it is closed. (The `kernel::debugfs` binding in Linux 7.0
/// to 7.3 leaves `owner` empty, so `rmmod` succeeds with the file open, and
/// closing it afterwards calls into the unloaded module: an oops.)
struct StateFops(bindings::file_operations);

// SAFETY: The table is never written after compile time; sharing it between
// threads only shares function pointers and the module pointer.
unsafe impl Sync for StateFops {}

static STATE_FOPS: StateFops = StateFops(bindings::file_operations {
    owner: this_module(),
    open: Some(state_open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    // SAFETY: All zeroes is a valid `file_operations`: no other operation.
    ..unsafe { core::mem::zeroed() }
});

/// This module's `struct module`. From Linux 7.3 on, `module!` gives it
/// through the module's type instead of a `THIS_MODULE` static.
const fn this_module() -> *mut bindings::module {
    #[cfg(not(rustguess_misc_owner))]
    return THIS_MODULE.as_ptr();
    #[cfg(rustguess_misc_owner)]
    kernel::module::this_module::<RustGuess>().as_ptr()
}

/// `open`: a `seq_file` whose one record is `show_state`'s text.
///
/// # Safety
///
/// Called by the VFS (through debugfs) with a file being opened.
unsafe extern "C" fn state_open(_: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `file` is being opened, as the caller guarantees;
    // single_release(), our `release`, frees what single_open() allocates.
    unsafe { bindings::single_open(file, Some(state_show), core::ptr::null_mut()) }
}

/// `show` for `seq_read`.
///
/// # Safety
///
/// Called by `seq_read` with the open file's live `seq_file`.
unsafe extern "C" fn state_show(m: *mut bindings::seq_file, _: *mut c_void) -> c_int {
    // SAFETY: `m` is live for this call, and only this thread uses it.
    show_state(unsafe { SeqFile::from_raw(m) });
    0
}

/// The directory `rustguess` in debugfs, with `state` in it.
struct DebugFsDir(*mut bindings::dentry);

// SAFETY: The pointer is only passed to debugfs, which may be called from
// any thread.
unsafe impl Send for DebugFsDir {}
// SAFETY: As for `Send`; `&DebugFsDir` gives no access to the pointer.
unsafe impl Sync for DebugFsDir {}

impl DebugFsDir {
    /// Without debugfs in the kernel, this creates nothing, harmlessly.
    fn new() -> Self {
        // SAFETY: The name is a C string; a null parent means debugfs's root.
        let dir = unsafe {
            bindings::debugfs_create_dir(c"rustguess".as_char_ptr(), core::ptr::null_mut())
        };
        // SAFETY: debugfs accepts the error value `dir` may be (and then
        // creates nothing); the name is a C string; the file needs no data;
        // STATE_FOPS is a static, so it outlives the file.
        unsafe {
            bindings::debugfs_create_file_full(
                c"state".as_char_ptr(),
                0o400,
                dir,
                core::ptr::null_mut(),
                core::ptr::null(),
                &STATE_FOPS.0,
            )
        };
        DebugFsDir(dir)
    }
}

impl Drop for DebugFsDir {
    fn drop(&mut self) {
        // SAFETY: `self.0` is what debugfs_create_dir() returned, a
        // directory or an error value, both of which debugfs_remove()
        // accepts; it is removed once, here, with the file in it.
        unsafe { bindings::debugfs_remove(self.0) };
    }
}
// ANCHOR_END: debugfs_fops

// ANCHOR: device
/// `/dev/rustguess`: every open plays the one shared game, `GAME`.
struct RustGuessDevice;

#[vtable]
impl MiscDevice for RustGuessDevice {
    type Ptr = ();

    // ANCHOR: open
    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        #[cfg(not(rustguess_misc_owner))]
        OWNED_FOPS.hold_module(file)?;
        // From Linux 7.3 on, the binding's own `owner` holds the module.
        #[cfg(rustguess_misc_owner)]
        let _ = file;
        Ok(())
    }
    // ANCHOR_END: open

    // ANCHOR: write
    fn write_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let written = copy_write(iov)?;
        let n = GAME.lock().take(&written)?;
        // Rewind this file so that its next read() shows the new reply.
        *kiocb.ki_pos_mut() = 0;
        Ok(n)
    }
    // ANCHOR_END: write

    // ANCHOR: read
    fn read_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        // The reply is too big to copy to the stack. A mutex may be held
        // while copying to user space (which can sleep on a page fault), so
        // read from the game itself, under the lock.
        let game = GAME.lock();
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), game.reply.as_bytes())
    }
    // ANCHOR_END: read
}
// ANCHOR_END: device

// ANCHOR: solo
/// `/dev/rustguess-solo`: each open file gets a game of its own, which
/// the kernel keeps in the file's private data until the last close.
#[pin_data]
struct SoloDevice {
    #[pin]
    game: Mutex<Game>,
}

#[vtable]
impl MiscDevice for SoloDevice {
    type Ptr = Pin<KBox<Self>>;

    // ANCHOR: solo_open
    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let mut game = Game::new("open /dev/rustguess-solo again.\n");
        // Every open is a new game, so play on one open file.
        game.start(
            "This game lasts while this file is open. In `sudo bash`:\n\
             exec 3<>/dev/rustguess-solo; echo 50 >&3; cat <&3\n",
        );
        // Allocated per open, so this is the one place open can fail for
        // lack of memory: before the module reference below is taken.
        let solo = KBox::pin_init(
            try_pin_init!(SoloDevice {
                game <- new_mutex!(game),
            }),
            GFP_KERNEL,
        )?;
        #[cfg(not(rustguess_misc_owner))]
        SOLO_OWNED_FOPS.hold_module(file)?;
        #[cfg(rustguess_misc_owner)]
        let _ = file;
        Ok(solo)
    }
    // ANCHOR_END: solo_open

    // ANCHOR: solo_io
    fn write_iter(
        mut kiocb: Kiocb<'_, Pin<KBox<Self>>>,
        iov: &mut IovIterSource<'_>,
    ) -> Result<usize> {
        let written = copy_write(iov)?;
        let n = kiocb.file().game.lock().take(&written)?;
        *kiocb.ki_pos_mut() = 0;
        Ok(n)
    }

    fn read_iter(
        mut kiocb: Kiocb<'_, Pin<KBox<Self>>>,
        iov: &mut IovIterDest<'_>,
    ) -> Result<usize> {
        let solo = kiocb.file();
        let game = solo.game.lock();
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), game.reply.as_bytes())
    }
    // ANCHOR_END: solo_io
}
// ANCHOR_END: solo

// ANCHOR: kunit
/// Unit tests of the game's logic, run by KUnit inside the kernel each time
/// the module is loaded into a kernel built with `CONFIG_KUNIT=y`; on other
/// kernels they compile to nothing. Each command's tests come with its
/// chapter's snapshot.
#[kunit_tests(rustguess)]
mod tests {
    use super::*;

    /// A started game whose secret the test chooses.
    fn game_with_secret(secret: u64) -> Game {
        let mut game = Game::new("reload.\n");
        game.start("");
        game.secret = secret;
        game
    }

    /// Plays one write and returns the reply, as text.
    fn play<'a>(game: &'a mut Game, input: &[u8]) -> &'a str {
        assert!(game.play(input).is_ok());
        core::str::from_utf8(game.reply.as_bytes()).unwrap_or("(not UTF-8)")
    }

    #[test]
    fn parse_takes_numbers_in_the_games_range() {
        assert!(matches!(parse(b"100\n", 100), Input::Number(100)));
        assert!(matches!(parse(b"101\n", 100), Input::OutOfRange("101")));
        assert!(matches!(parse(b"101\n", 1000), Input::Number(101)));
        assert!(matches!(parse(b"0", 100), Input::OutOfRange("0")));
        assert!(matches!(parse(b"fifty", 100), Input::NotANumber));
        assert!(matches!(parse(b"\xff\xfe", 100), Input::NotANumber));
    }

    #[test]
    fn random_secrets_stay_in_range() {
        for high in [2, DEFAULT_HIGH] {
            for _ in 0..200 {
                assert!((LOW..=high).contains(&random_secret(high)));
            }
        }
    }

    #[test]
    fn play_hints_then_counts_the_win() {
        let mut game = game_with_secret(42);
        assert_eq!(play(&mut game, b"50\n"), "50 is too high -- guess lower.\n");
        assert_eq!(play(&mut game, b"25\n"), "25 is too low -- guess higher.\n");
        assert_eq!(
            play(&mut game, b"42\n"),
            "Correct! You got it in 3 tries.\n"
        );
        assert!(play(&mut game, b"42\n").starts_with("You already won! To play again, "));
    }

    #[test]
    fn bad_input_costs_no_try() {
        let mut game = game_with_secret(42);
        for input in [&b"fifty\n"[..], b"0\n", b"101\n", b"-1\n", b"\xff\n"] {
            play(&mut game, input);
        }
        assert_eq!(game.tries, 0);
        assert_eq!(play(&mut game, b"42\n"), "Correct! You got it in 1 try.\n");
    }

    // ANCHOR: range_kunit
    #[test]
    fn range_before_the_first_guess_widens_the_game() {
        let mut game = game_with_secret(42);
        assert_eq!(
            play(&mut game, b"RANGE:1000\n"),
            "New range: 1 to 1000. I've picked a new number.\n"
        );
        assert_eq!(game.high, 1000);
        assert!((LOW..=1000).contains(&game.secret));
        for _ in 0..200 {
            assert!((LOW..=MAX_HIGH).contains(&random_secret(MAX_HIGH)));
        }
        game.secret = 999;
        assert_eq!(play(&mut game, b"999\n"), "Correct! You got it in 1 try.\n");
    }

    #[test]
    fn range_after_a_guess_is_refused() {
        let mut game = game_with_secret(42);
        play(&mut game, b"50\n");
        assert!(play(&mut game, b"RANGE:1000\n").starts_with("RANGE only works before"));
        assert_eq!((game.high, game.secret), (DEFAULT_HIGH, 42));
    }

    #[test]
    fn range_refuses_bad_bounds() {
        let mut game = game_with_secret(42);
        for input in [
            &b"RANGE:0"[..],
            b"RANGE:1",
            b"RANGE:1000001",
            b"RANGE:abc",
            b"RANGE:",
            b"RANGE:99999999999999999999",
        ] {
            assert!(play(&mut game, input).starts_with("RANGE needs a whole number"));
        }
        assert_eq!((game.high, game.secret, game.tries), (DEFAULT_HIGH, 42, 0));
    }
    // ANCHOR_END: range_kunit

    // ANCHOR: history_kunit
    #[test]
    fn history_lists_every_guess_and_answer() {
        let mut game = game_with_secret(42);
        assert_eq!(
            play(&mut game, b"HISTORY\n"),
            "0 guesses so far (this game keeps 32):\n"
        );
        for input in [&b"50\n"[..], b"25\n", b"42\n"] {
            play(&mut game, input);
        }
        assert_eq!(
            play(&mut game, b"HISTORY\n"),
            "3 guesses so far (this game keeps 32):\n\
             50 is too high\n25 is too low\n42 is correct\n"
        );
    }

    #[test]
    fn history_stops_at_its_cap() {
        let mut game = game_with_secret(DEFAULT_HIGH);
        for _ in 0..HISTORY_CAP + 8 {
            play(&mut game, b"1\n");
        }
        assert_eq!((game.history.len(), game.tries), (HISTORY_CAP, 32));
        assert!(play(&mut game, b"1\n").starts_with("That guess does not count"));
        let listing = play(&mut game, b"HISTORY\n");
        assert_eq!(listing.lines().count(), HISTORY_CAP + 1);
        assert!(listing.ends_with("1 is too low\n"));
    }
    // ANCHOR_END: history_kunit

    // ANCHOR: reveal_kunit
    #[cfg(rustguess_debug)]
    #[test]
    fn debug_build_shows_the_secret_and_costs_no_try() {
        let mut game = game_with_secret(42);
        assert_eq!(play(&mut game, b"REVEAL\n"), "The secret is 42.\n");
        assert_eq!(play(&mut game, b"42\n"), "Correct! You got it in 1 try.\n");
    }
    // ANCHOR_END: reveal_kunit
}
// ANCHOR_END: kunit
