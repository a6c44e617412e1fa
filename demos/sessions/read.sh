# stage: 04-read
# read() returns the latest reply, then end of file.
sudo insmod rustguess.ko
sudo cat /dev/rustguess
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
