// SPDX-License-Identifier: GPL-2.0

//! rustguess, step 5: the secret comes from the kernel's random number generator.
//!
//! Write a guess to the device (`echo 50 | sudo tee /dev/rustguess`) and read
//! the reply back (`sudo cat /dev/rustguess`). Every open of the device plays
//! the same game, which lives behind one global mutex.

// ANCHOR: uses
use core::cmp::Ordering;
use kernel::{
    fmt::{self, Write},
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
    str::Formatter,
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
/// The range of numbers the game accepts.
const LOW: u64 = 1;
const DEFAULT_HIGH: u64 = 100;

/// The longest write accepted, in bytes. A guess is a few digits and maybe
/// some whitespace; anything longer is refused before a byte is copied.
const MAX_WRITE: usize = 32;

/// Room for the longest reply the game gives.
const REPLY_CAP: usize = 192;
// ANCHOR_END: consts

// ANCHOR: reply
/// The text the next `read()` returns: a fixed buffer, so no allocation.
#[derive(Clone, Copy)]
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
    // `high` is DEFAULT_HIGH, so it fits; u32::MAX would only be a
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
/// The whole game. One instance, behind the `GAME` mutex.
struct Game {
    secret: u64,
    high: u64,
    tries: u64,
    won: bool,
    reply: Reply,
}

impl Game {
    /// A game with no secret yet; `start` picks one. `const`, so that the
    /// shared game can be the initial value of a static.
    const fn new() -> Self {
        Game {
            secret: 0,
            high: DEFAULT_HIGH,
            tries: 0,
            won: false,
            reply: Reply::new(),
        }
    }
    // ANCHOR_END: state

    // ANCHOR: start
    /// Picks the secret and sets the welcome reply.
    fn start(&mut self) {
        self.secret = random_secret(self.high);
        let high = self.high;
        self.reply.set(fmt!(
            "Welcome to rustguess! I'm thinking of a number from {LOW} to {high}.\n\
             Guess with: echo 50 | sudo tee /dev/rustguess\n\
             Then read my reply: sudo cat /dev/rustguess\n"
        ));
    }
    // ANCHOR_END: start

    /// Plays one write's worth of input and sets the reply.
    fn play(&mut self, input: &[u8]) {
        let high = self.high;
        match parse(input, high) {
            _ if self.won => self.reply.set(fmt!(
                "You already won! To play again, reload the module:\n\
                 sudo rmmod rustguess && sudo insmod rustguess.ko\n"
            )),
            Input::NotANumber => self.reply.set(fmt!(
                "That's not a number. Write a whole number from {LOW} to {high}, \
                 like: echo 50 | sudo tee /dev/rustguess\n"
            )),
            Input::OutOfRange(text) => self.reply.set(fmt!(
                "{text} is out of range -- pick a number from {LOW} to {high}.\n"
            )),
            Input::Number(n) => self.guess(n),
        }
    }

    // ANCHOR: guess
    /// Plays one guess in range.
    fn guess(&mut self, n: u64) {
        let answer = n.cmp(&self.secret);
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
    }
    // ANCHOR_END: guess
}
// ANCHOR_END: game

// ANCHOR: global
kernel::sync::global_lock! {
    // SAFETY: Initialized in module initializer before first use.
    unsafe(uninit) static GAME: Mutex<Game> = Game::new();
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
/// `rmmod` succeeds while `/dev/rustguess` is open and the next call on that
/// file jumps into freed memory. `open` installs this copy of the table on
/// each new file: from then on the VFS holds a reference to this module until
/// the file's last close, as it does for a C driver with `.owner = THIS_MODULE`.
#[cfg(not(rustguess_misc_owner))]
mod owner {
    use super::{RustGuessDevice, OPTIONS};
    use kernel::{bindings, fs::File, prelude::*};

    struct OwnedFops(bindings::file_operations);

    // SAFETY: The table is never written after compile time; sharing it
    // between threads only shares function pointers and the module pointer.
    unsafe impl Sync for OwnedFops {}

    static OWNED_FOPS: OwnedFops = OwnedFops(bindings::file_operations {
        owner: crate::THIS_MODULE.as_ptr(),
        // SAFETY: This runs at compile time: `into_raw` is a `const fn` that
        // returns a pointer to the device's vtable, a static, and reading a
        // static through a pointer during const evaluation copies its value
        // into OWNED_FOPS. Nothing is read at run time, so nothing can dangle.
        ..unsafe { *OPTIONS.into_raw::<RustGuessDevice>().fops }
    });

    /// Makes the VFS hold this module for as long as `file` is open.
    pub(crate) fn hold_module(file: &File) -> Result {
        // SAFETY: THIS_MODULE points at this module's `struct module`, which
        // stays valid while we run: misc_open() holds misc_mtx around this
        // call, and unloading cannot finish before misc_deregister() has
        // taken that mutex.
        if !unsafe { bindings::try_module_get(crate::THIS_MODULE.as_ptr()) } {
            // rmmod has already begun.
            return Err(ENODEV);
        }
        // SAFETY: The file is still being opened, so no other thread uses its
        // `f_op` yet (misc_open() replaced it the same way just before calling
        // us). The new table has the same functions; the VFS drops the module
        // reference taken above when the file is released.
        unsafe { (*file.as_ptr()).f_op = &OWNED_FOPS.0 };
        Ok(())
    }
}
// ANCHOR_END: owner

// ANCHOR: register
const OPTIONS: MiscDeviceOptions = MiscDeviceOptions { name: c"rustguess" };

#[pin_data(PinnedDrop)]
struct RustGuess {
    #[pin]
    _miscdev: MiscDeviceRegistration<RustGuessDevice>,
}

impl kernel::InPlaceModule for RustGuess {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Called exactly once, before the device exists, so before
        // any other use of GAME.
        unsafe { GAME.init() };
        GAME.lock().start();
        pr_info!("module loaded\n");
        try_pin_init!(Self {
            _miscdev <- MiscDeviceRegistration::register(OPTIONS),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RustGuess {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("module unloaded\n");
    }
}
// ANCHOR_END: register

// ANCHOR: device
/// The device's file operations. There is no per-open state: every open
/// plays the one global game.
struct RustGuessDevice;

#[vtable]
impl MiscDevice for RustGuessDevice {
    type Ptr = ();

    // ANCHOR: open
    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        #[cfg(not(rustguess_misc_owner))]
        owner::hold_module(file)?;
        // From Linux 7.3 on, the binding's own `owner` holds the module.
        #[cfg(rustguess_misc_owner)]
        let _ = file;
        Ok(())
    }
    // ANCHOR_END: open

    // ANCHOR: write
    fn write_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let len = iov.len();
        if len > MAX_WRITE {
            let mut game = GAME.lock();
            let high = game.high;
            game.reply.set(fmt!(
                "That's {len} bytes; a guess is a number from {LOW} to {high}.\n"
            ));
            return Err(emsgsize());
        }
        // Copy from user space first: it may fault and sleep, so do it
        // without holding the lock.
        let mut buf = [0u8; MAX_WRITE];
        let copied = iov.copy_from_iter(&mut buf);
        if copied != len {
            return Err(EFAULT);
        }
        if copied > 0 {
            GAME.lock().play(buf.get(..copied).unwrap_or(&[]));
        }
        // ANCHOR: rewind
        // Rewind this file so that its next read() shows the new reply.
        *kiocb.ki_pos_mut() = 0;
        // ANCHOR_END: rewind
        Ok(copied)
    }
    // ANCHOR_END: write

    // ANCHOR: read
    fn read_iter(mut kiocb: Kiocb<'_, ()>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        // Copy the reply out under the lock; talk to user space without it.
        let reply = GAME.lock().reply;
        // Reads from the file position and advances it. At the end of the
        // reply it returns 0, which `cat` takes as end of file.
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), reply.as_bytes())
    }
    // ANCHOR_END: read
}
// ANCHOR_END: device

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
        let mut game = Game::new();
        game.start();
        game.secret = secret;
        game
    }

    /// Plays one write and returns the reply, as text.
    fn play<'a>(game: &'a mut Game, input: &[u8]) -> &'a str {
        game.play(input);
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
}
// ANCHOR_END: kunit
