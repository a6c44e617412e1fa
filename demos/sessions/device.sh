# stage: 02-device
# A misc device appears at /dev/rustguess; it has no read() yet.
sudo insmod rustguess.ko
ls -l /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
ls -l /dev/rustguess
