# stage: 07-range
# random
# RANGE:N before the first guess; bad input changes nothing.
sudo insmod rustguess.ko
echo RANGE:1000 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 1001 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 500 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo RANGE:50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo bash -c 'exec 3<>/dev/rustguess-solo; echo RANGE:1 >&3; cat <&3; echo range:1000 >&3; cat <&3'
sudo rmmod rustguess
