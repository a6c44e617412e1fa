# stage: final
# The set-up chapter's checks, answered by the reader's own kernel and packages.
uname -r
rustc --version
grep -E '^CONFIG_RUST(C_VERSION_TEXT)?=' /lib/modules/$(uname -r)/build/.config
ls /lib/modules/$(uname -r)/build/rust
cat /sys/kernel/security/lockdown
sysctl kernel.dmesg_restrict
dmesg | tail -n 1
