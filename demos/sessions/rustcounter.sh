# stage: rustcounter
# Path B: the two-terminal demo as one command: two root shells bump at once.
sudo insmod rustcounter.ko
sudo cat /dev/rustcounter
echo bump | sudo tee /dev/rustcounter > /dev/null
sudo cat /dev/rustcounter
echo RESET | sudo tee /dev/rustcounter > /dev/null
sudo sh -c 'for i in $(seq 1000); do echo bump > /dev/rustcounter; done' & sudo sh -c 'for i in $(seq 1000); do echo bump > /dev/rustcounter; done'; wait
sudo cat /dev/rustcounter
echo ADD:18446744073709551615 | sudo tee /dev/rustcounter > /dev/null
echo bump | sudo tee /dev/rustcounter > /dev/null
sudo cat /dev/rustcounter
echo bumpp | sudo tee /dev/rustcounter > /dev/null
sudo rmmod rustcounter
