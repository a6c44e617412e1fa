# stage: 03-write
# Guesses go in with write(); the replies only reach the kernel log so far.
sudo insmod rustguess.ko
echo 50 | sudo tee /dev/rustguess
sudo dmesg | tail -n 1
echo hello | sudo tee /dev/rustguess
sudo dmesg | tail -n 2
sudo rmmod rustguess
