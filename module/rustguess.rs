// SPDX-License-Identifier: GPL-2.0

//! rustguess: a number-guessing game at `/dev/rustguess`.
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
const HIGH: u64 = 100;

/// The number to guess. Fixed in Part I; Part II picks it at random.
const SECRET: u64 = 42;

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
enum Guess<'a> {
    /// A number in range.
    Number(u64),
    /// Only digits, but outside LOW..=HIGH (including too big for a `u64`).
    OutOfRange(&'a str),
    /// Anything else: empty, signs, letters, NUL bytes, invalid UTF-8.
    NotANumber,
}

fn parse(input: &[u8]) -> Guess<'_> {
    let digits = input.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Guess::NotANumber;
    }
    // Only ASCII digits are left, so this is valid UTF-8 and parse() can only
    // fail by overflowing.
    let Ok(text) = core::str::from_utf8(digits) else {
        return Guess::NotANumber;
    };
    match text.parse::<u64>() {
        Ok(n) if (LOW..=HIGH).contains(&n) => Guess::Number(n),
        _ => Guess::OutOfRange(text),
    }
}
// ANCHOR_END: parse

// ANCHOR: game
// ANCHOR: state
/// The whole game. One instance, behind the `GAME` mutex.
struct Game {
    tries: u64,
    won: bool,
    reply: Reply,
}

impl Game {
    const fn new() -> Self {
        Game {
            tries: 0,
            won: false,
            reply: Reply::new(),
        }
    }
    // ANCHOR_END: state

    // ANCHOR: welcome
    fn welcome(&mut self) {
        self.reply.set(fmt!(
            "Welcome to rustguess! I'm thinking of a number from {LOW} to {HIGH}.\n\
             Guess with: echo 50 | sudo tee /dev/rustguess\n\
             Then read my reply: sudo cat /dev/rustguess\n"
        ));
    }
    // ANCHOR_END: welcome

    /// Plays one write's worth of input and sets the reply.
    fn play(&mut self, input: &[u8]) {
        if self.won {
            self.reply.set(fmt!(
                "You already won! To play again, reload the module:\n\
                 sudo rmmod rustguess && sudo insmod rustguess.ko\n"
            ));
            return;
        }
        match parse(input) {
            Guess::NotANumber => self.reply.set(fmt!(
                "That's not a number. Write a whole number from {LOW} to {HIGH}, \
                 like: echo 50 | sudo tee /dev/rustguess\n"
            )),
            Guess::OutOfRange(text) => self.reply.set(fmt!(
                "{text} is out of range -- pick a number from {LOW} to {HIGH}.\n"
            )),
            Guess::Number(n) => {
                self.tries = self.tries.saturating_add(1);
                match n.cmp(&SECRET) {
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
        }
    }
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
        GAME.lock().welcome();
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
            GAME.lock().reply.set(fmt!(
                "That's {len} bytes; a guess is a number from {LOW} to {HIGH}.\n"
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
/// Unit tests of the game's pure logic, run by KUnit inside the kernel each
/// time the module is loaded. They exist only in a kernel built with
/// `CONFIG_KUNIT=y` (like this book's debug kernel): the macro puts the
/// whole module behind `#[cfg(CONFIG_KUNIT = "y")]`, so on Ubuntu's and
/// Debian's kernels it compiles to nothing.
#[kunit_tests(rustguess)]
mod tests {
    use super::*;

    /// The game's reply, as text.
    fn reply(game: &Game) -> &str {
        core::str::from_utf8(game.reply.as_bytes()).unwrap_or("(not UTF-8)")
    }

    #[test]
    fn parse_takes_numbers_in_range() {
        assert!(matches!(parse(b"1"), Guess::Number(1)));
        assert!(matches!(parse(b"42\n"), Guess::Number(42)));
        assert!(matches!(parse(b"\t 100 \r\n"), Guess::Number(100)));
        assert!(matches!(parse(b"007"), Guess::Number(7)));
    }

    #[test]
    fn parse_names_numbers_out_of_range() {
        assert!(matches!(parse(b"0"), Guess::OutOfRange("0")));
        assert!(matches!(parse(b"101\n"), Guess::OutOfRange("101")));
        assert!(matches!(
            parse(b"18446744073709551616"),
            Guess::OutOfRange("18446744073709551616")
        ));
    }

    #[test]
    fn parse_refuses_everything_else() {
        let inputs: [&[u8]; 9] = [
            b"",
            b" \t\n",
            b"+5",
            b"-5",
            b"4 2",
            b"fifty",
            b"4\x002",
            b"\xff\xfe",
            b"1e3",
        ];
        for input in inputs {
            assert!(matches!(parse(input), Guess::NotANumber));
        }
    }

    #[test]
    fn play_hints_then_counts_the_win() {
        let mut game = Game::new();
        game.play(b"50\n");
        assert_eq!(reply(&game), "50 is too high -- guess lower.\n");
        game.play(b"25\n");
        assert_eq!(reply(&game), "25 is too low -- guess higher.\n");
        game.play(b"42\n");
        assert_eq!(reply(&game), "Correct! You got it in 3 tries.\n");
        assert!(game.won);
    }

    #[test]
    fn play_counts_only_numbers_in_range() {
        let mut game = Game::new();
        for input in [&b"fifty\n"[..], b"0\n", b"101\n", b"\xff\n"] {
            game.play(input);
        }
        assert_eq!(game.tries, 0);
        game.play(b"42\n");
        assert_eq!(reply(&game), "Correct! You got it in 1 try.\n");
    }

    #[test]
    fn play_after_a_win_changes_nothing() {
        let mut game = Game::new();
        game.play(b"42\n");
        game.play(b"7\n");
        assert!(reply(&game).starts_with("You already won!"));
        assert_eq!(game.tries, 1);
    }

    #[test]
    fn reply_stops_at_its_capacity() {
        let mut reply = Reply::new();
        reply.set(fmt!("{:>300}", "x"));
        assert_eq!(reply.as_bytes().len(), REPLY_CAP);
    }
}
// ANCHOR_END: kunit
