# stage: final
# A whole game, played to a win.
sudo insmod rustguess.ko
sudo cat /dev/rustguess
echo 50 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 25 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 37 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 43 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 40 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 42 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
echo 7 | sudo tee /dev/rustguess
sudo cat /dev/rustguess
sudo rmmod rustguess
