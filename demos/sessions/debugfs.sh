# stage: 10-debugfs
# random
# Root reads the shared game's state in debugfs; nobody else can, nobody writes it,
# and an open state file keeps rmmod refused.
sudo insmod rustguess.ko
sudo ls -l /sys/kernel/debug/rustguess
sudo cat /sys/kernel/debug/rustguess/state
echo RANGE:1000000 | sudo tee /dev/rustguess
echo 1 | sudo tee /dev/rustguess
sudo cat /sys/kernel/debug/rustguess/state
cat /sys/kernel/debug/rustguess/state
echo "secret: 1" | sudo tee /sys/kernel/debug/rustguess/state
sudo sh -c 'exec 6</sys/kernel/debug/rustguess/state; rmmod rustguess; cat <&6; exec 6<&-'
sudo rmmod rustguess
sudo ls /sys/kernel/debug/rustguess
