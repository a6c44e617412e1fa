# Clippy and rustfmt built for the kernel's compiler, rustc 1.93. The tools
# chapter includes this file; tools/setup runs it in the ubuntu-26.04 target.
sudo apt install -y rust-1.93-clippy rustfmt-1.93
