# stage: 08-history
# random
# HISTORY lists the guesses so far; a game keeps at most 32.
sudo insmod rustguess.ko
echo RANGE:1000000 | sudo tee /dev/rustguess
echo HISTORY | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 1 | sudo tee /dev/rustguess
echo 2 | sudo tee /dev/rustguess
echo 3 | sudo tee /dev/rustguess
echo HISTORY | sudo tee /dev/rustguess
sudo cat /dev/rustguess
for i in $(seq 4 40); do echo "$i" | sudo tee /dev/rustguess >/dev/null; done
sudo cat /dev/rustguess
sudo rmmod rustguess
