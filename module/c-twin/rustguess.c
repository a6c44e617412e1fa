// SPDX-License-Identifier: GPL-2.0
/*
 * rustguess in C: the finished game of Part I (module/rustguess.rs), line
 * for line where C allows, for the book's "C and Rust side by side". Same
 * device, same replies, same errors; the same in-guest tests run on both.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

#define LOW 1ULL
#define HIGH 100ULL
#define SECRET 42ULL
#define MAX_WRITE 32
#define REPLY_CAP 192

struct game {
	u64 tries;
	bool won;
	char reply[REPLY_CAP];
	size_t len;
};

/* One game, and the mutex that guards it: nothing ties the two together
 * but this comment and the discipline of every function below. */
static DEFINE_MUTEX(game_lock);
static struct game game;

/* Sets the reply; the caller holds game_lock. */
static __printf(1, 2) void set_reply(const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = vscnprintf(game.reply, REPLY_CAP, fmt, args);
	va_end(args);
	game.len = n;
}

/* Rust's u8::is_ascii_whitespace: no vertical tab, unlike isspace(). */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Plays one write's worth of input; the caller holds game_lock. */
static void play(char *input, size_t len)
{
	char *text = input, *end = input + len, *p;
	u64 n = 0;
	bool overflow = false;

	if (game.won) {
		set_reply("You already won! To play again, reload the module:\n"
			  "sudo rmmod rustguess && sudo insmod rustguess.ko\n");
		return;
	}
	while (text < end && is_blank(*text))
		text++;
	while (end > text && is_blank(end[-1]))
		end--;
	if (text == end)
		goto not_a_number;
	for (p = text; p < end; p++) {
		if (*p < '0' || *p > '9')
			goto not_a_number;
		if (check_mul_overflow(n, 10ULL, &n) || check_add_overflow(n, (u64)(*p - '0'), &n))
			overflow = true;
	}
	if (overflow || n < LOW || n > HIGH) {
		set_reply("%.*s is out of range -- pick a number from %llu to %llu.\n",
			  (int)(end - text), text, LOW, HIGH);
		return;
	}
	if (game.tries < U64_MAX)
		game.tries++;
	if (n < SECRET)
		set_reply("%llu is too low -- guess higher.\n", n);
	else if (n > SECRET)
		set_reply("%llu is too high -- guess lower.\n", n);
	else {
		game.won = true;
		set_reply("Correct! You got it in %llu %s.\n", game.tries,
			  game.tries == 1 ? "try" : "tries");
	}
	return;

not_a_number:
	set_reply("That's not a number. Write a whole number from %llu to %llu, "
		  "like: echo 50 | sudo tee /dev/rustguess\n", LOW, HIGH);
}

static ssize_t rustguess_write(struct file *file, const char __user *buf,
			       size_t len, loff_t *ppos)
{
	char input[MAX_WRITE];

	if (len > MAX_WRITE) {
		mutex_lock(&game_lock);
		set_reply("That's %zu bytes; a guess is a number from %llu to %llu.\n",
			  len, LOW, HIGH);
		mutex_unlock(&game_lock);
		return -EMSGSIZE;
	}
	/* Copy from user space first: it may fault and sleep. */
	if (copy_from_user(input, buf, len))
		return -EFAULT;
	if (len > 0) {
		mutex_lock(&game_lock);
		play(input, len);
		mutex_unlock(&game_lock);
	}
	/* Rewind this file so that its next read() shows the new reply. */
	*ppos = 0;
	return len;
}

static ssize_t rustguess_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	char reply[REPLY_CAP];
	size_t len;

	/* Copy the reply out under the lock; talk to user space without it. */
	mutex_lock(&game_lock);
	len = game.len;
	memcpy(reply, game.reply, len);
	mutex_unlock(&game_lock);
	return simple_read_from_buffer(buf, count, ppos, reply, len);
}

static const struct file_operations rustguess_fops = {
	/* The VFS holds the module while a file is open: rmmod waits. */
	.owner = THIS_MODULE,
	.read = rustguess_read,
	.write = rustguess_write,
};

static struct miscdevice rustguess_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rustguess",
	.fops = &rustguess_fops,
};

static int __init rustguess_init(void)
{
	set_reply("Welcome to rustguess! I'm thinking of a number from %llu to %llu.\n"
		  "Guess with: echo 50 | sudo tee /dev/rustguess\n"
		  "Then read my reply: sudo cat /dev/rustguess\n", LOW, HIGH);
	pr_info("module loaded\n");
	return misc_register(&rustguess_dev);
}

static void __exit rustguess_exit(void)
{
	misc_deregister(&rustguess_dev);
	pr_info("module unloaded\n");
}

module_init(rustguess_init);
module_exit(rustguess_exit);
MODULE_AUTHOR("rustguess contributors");
MODULE_DESCRIPTION("A number-guessing game at /dev/rustguess (the C twin)");
MODULE_LICENSE("GPL");
