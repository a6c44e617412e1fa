# The set-up chapter's package commands, exactly as the reader types them.
# tools/setup runs this file in each Ubuntu target's chroot, so these are
# the commands the tests build with. It runs unchanged on amd64 and arm64:
# only amd64 has linux-lib-rust (on arm64 the headers keep the Rust crates).
sudo apt update
sudo apt install -y build-essential kmod linux-headers-$(uname -r)
if [ "$(dpkg --print-architecture)" = amd64 ]; then sudo apt install -y linux-lib-rust-$(uname -r); fi
rust=$(grep -o 'rustc 1\.[0-9]*' /lib/modules/$(uname -r)/build/.config | cut -c7-)
sudo apt install -y rustc-$rust
sudo update-alternatives --install /usr/bin/rustc rustc /usr/bin/rustc-$rust 100
