# stage: rustqueue
# Path A: three messages in, one per cat, then a queue filled past its 16.
sudo insmod rustqueue.ko
ls -l /dev/rustqueue
echo "first message" | sudo tee /dev/rustqueue > /dev/null
echo "second message" | sudo tee /dev/rustqueue > /dev/null
echo "third message" | sudo tee /dev/rustqueue > /dev/null
sudo cat /dev/rustqueue
sudo cat /dev/rustqueue
sudo cat /dev/rustqueue
sudo cat /dev/rustqueue
for i in $(seq 1 18); do echo "message $i" | sudo tee /dev/rustqueue > /dev/null || echo "write $i FAILED"; done
sudo cat /dev/rustqueue
sudo rmmod rustqueue
sudo dmesg | tail -n 2
