# The set-up chapter's package commands, exactly as the reader types them.
# tools/setup runs this file in the ubuntu-26.04 target's chroot, so these are
# the commands the tests build with.
sudo apt update
sudo apt install -y build-essential kmod linux-headers-$(uname -r) linux-lib-rust-$(uname -r)
sudo apt install -y rustc-1.93
sudo update-alternatives --install /usr/bin/rustc rustc /usr/bin/rustc-1.93 100
