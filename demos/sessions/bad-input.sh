# stage: final
# Bad input gets a polite reply or a clear error, never a kernel warning.
sudo insmod rustguess.ko
echo hello | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 0 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 1000000000000000000000 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo ' 007 ' | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo gnudd if=/dev/zero of=/dev/rustguess bs=64M count=1
sudo cat /dev/rustguess
sudo dmesg | grep -c WARNING
sudo rmmod rustguess
