# stage: 09-reveal-debug
# random
# The debug build (make DEBUG=1) tells its secret; guess it in one.
sudo insmod rustguess.ko
echo REVEAL | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo cat /dev/rustguess | tr -dc 0-9 | sudo tee /dev/rustguess >/dev/null
sudo cat /dev/rustguess
sudo rmmod rustguess
