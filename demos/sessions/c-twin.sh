# stage: c-twin
# dir: rustguess-c
# The C twin plays the same game, with the same replies.
sudo insmod rustguess.ko
sudo cat /dev/rustguess
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo fifty | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 42 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
