# stage: 05-random
# random
# Two loads, two secrets: the same guess gets its own hint from each.
sudo insmod rustguess.ko
sudo cat /dev/rustguess
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
sudo insmod rustguess.ko
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
