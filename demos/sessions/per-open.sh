# stage: 06-per-open
# random
# Each open of /dev/rustguess-solo is a game of its own; /dev/rustguess is still shared.
sudo insmod rustguess.ko
ls -l /dev/rustguess /dev/rustguess-solo
sudo bash -c 'exec 3<>/dev/rustguess-solo; cat <&3'
sudo bash -c 'exec 3<>/dev/rustguess-solo; echo 0 >&3; cat <&3; echo 50 >&3; cat <&3'
echo 0 | sudo tee /dev/rustguess-solo
sudo cat /dev/rustguess-solo
sudo cat /dev/rustguess
sudo rmmod rustguess
