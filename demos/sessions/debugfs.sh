# stage: 10-debugfs
# random
# Root reads the shared game's state in debugfs; nobody else can, and nobody writes it.
sudo insmod rustguess.ko
sudo ls -l /sys/kernel/debug/rustguess
sudo cat /sys/kernel/debug/rustguess/state
echo RANGE:1000000 | sudo tee /dev/rustguess
echo 1 | sudo tee /dev/rustguess
sudo cat /sys/kernel/debug/rustguess/state
cat /sys/kernel/debug/rustguess/state
echo "secret: 1" | sudo tee /sys/kernel/debug/rustguess/state
sudo rmmod rustguess
sudo ls /sys/kernel/debug/rustguess
