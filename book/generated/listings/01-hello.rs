// SPDX-License-Identifier: GPL-2.0

//! rustguess, step 1: the smallest module that loads and unloads.

use kernel::prelude::*;

module! {
    type: RustGuess,
    name: "rustguess",
    authors: ["rustguess contributors"],
    description: "A number-guessing game at /dev/rustguess",
    license: "GPL",
}

struct RustGuess;

impl kernel::Module for RustGuess {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("module loaded\n");
        Ok(RustGuess)
    }
}

impl Drop for RustGuess {
    fn drop(&mut self) {
        pr_info!("module unloaded\n");
    }
}
