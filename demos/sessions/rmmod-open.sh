# stage: final
# rmmod is refused while a process holds /dev/rustguess open.
sudo insmod rustguess.ko
sudo sh -c 'exec sleep 60 < /dev/rustguess' & sleep 1
sudo rmmod rustguess
grep rustguess /proc/modules
kill $! && wait
sudo rmmod rustguess
grep -c rustguess /proc/modules
