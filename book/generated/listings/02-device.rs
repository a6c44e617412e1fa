// SPDX-License-Identifier: GPL-2.0

//! rustguess, step 2: a misc device at `/dev/rustguess` that can be opened.
//!
//! It has no `read` or `write` yet, so both fail with EINVAL.

use kernel::{
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
};

module! {
    type: RustGuess,
    name: "rustguess",
    authors: ["rustguess contributors"],
    description: "A number-guessing game at /dev/rustguess",
    license: "GPL",
}

const OPTIONS: MiscDeviceOptions = MiscDeviceOptions { name: c"rustguess" };

#[pin_data(PinnedDrop)]
struct RustGuess {
    #[pin]
    _miscdev: MiscDeviceRegistration<RustGuessDevice>,
}

impl kernel::InPlaceModule for RustGuess {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
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

/// The device's file operations. There is no per-open state: every open
/// plays the one global game.
struct RustGuessDevice;

#[vtable]
impl MiscDevice for RustGuessDevice {
    type Ptr = ();

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result {
        Ok(())
    }
}
