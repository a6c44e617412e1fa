# stage: 01-hello
# The smoke test: load the do-nothing module, see it in the log, unload it.
sudo insmod rustguess.ko
sudo dmesg | tail -n 1
lsmod | grep rustguess
sudo rmmod rustguess
sudo dmesg | tail -n 1
