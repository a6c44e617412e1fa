# stage: 05-random
# random
# Two loads, two random secrets: the same guess after each (one guess only tells which side of 50 the secret is).
sudo insmod rustguess.ko
sudo cat /dev/rustguess
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
sudo insmod rustguess.ko
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
