# stage: unbounded-write
# The course assignment's write_iter copies the whole write into a KVec.
sudo insmod rustguess.ko
sudo gnudd if=/dev/zero of=/dev/rustguess bs=64M count=1
sudo dmesg | grep -A 3 'WARNING:'
sudo dmesg | sed -n '/Call Trace:/,/<\/TASK>/p' | grep -v ' ? '
sudo rmmod rustguess
