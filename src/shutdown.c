/*
 * src/shutdown.c — the one-shot shutdown handle of watch_applied.
 *
 * A flag another thread, or a signal handler, triggers once. It is an atomic
 * flag plus a self-pipe: triggering stores the flag and writes one byte into
 * the pipe, both async-signal-safe, and nobody ever reads the byte back, so
 * the read end stays readable for good and every present and future waiter
 * wakes from poll() without a mutex or a condition variable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

struct slip_shutdown {
	atomic_bool triggered;
	int fds[2]; /* [0] read end polled by waiters, [1] written once */
};

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int slip_shutdown_new(slip_shutdown **out)
{
	slip_shutdown *s;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "shutdown_new: out is NULL");
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "shutdown_new: out of memory");
	atomic_init(&s->triggered, false);
	if (pipe(s->fds) != 0) {
		int err = errno;
		free(s);
		return slip_set_error(
		        err == EMFILE || err == ENFILE ? SLIP_EIO : SLIP_ENOMEM,
		        "shutdown_new: pipe failed (errno %d)", err);
	}
	if (set_flags(s->fds[0]) != 0 || set_flags(s->fds[1]) != 0) {
		close(s->fds[0]);
		close(s->fds[1]);
		free(s);
		return slip_set_error(SLIP_EIO, "shutdown_new: fcntl failed");
	}
	*out = s;
	return SLIP_OK;
}

void slip_shutdown_trigger(slip_shutdown *s)
{
	static const char byte = 1;
	ssize_t n;

	if (s == NULL)
		return;
	/* Only the first trigger writes, so the pipe never fills up. */
	if (atomic_exchange(&s->triggered, true))
		return;
	do {
		n = write(s->fds[1], &byte, 1);
	} while (n < 0 && errno == EINTR);
}

bool slip_shutdown_triggered(slip_shutdown *s)
{
	return s != NULL && atomic_load(&s->triggered);
}

bool slip_shutdown_wait(slip_shutdown *s, int timeout_ms)
{
	struct pollfd pfd;
	int64_t deadline;

	if (s == NULL)
		return false;
	if (atomic_load(&s->triggered))
		return true;
	deadline = slip__now_ns() + (int64_t)timeout_ms * 1000000;
	pfd.fd = s->fds[0];
	pfd.events = POLLIN;
	for (;;) {
		int left = timeout_ms < 0 ? -1 : 0;
		if (timeout_ms >= 0) {
			int64_t ns = deadline - slip__now_ns();
			left = ns <= 0 ? 0 : (int)((ns + 999999) / 1000000);
		}
		pfd.revents = 0;
		if (poll(&pfd, 1, left) >= 0 || errno != EINTR)
			break;
	}
	return atomic_load(&s->triggered);
}

void slip_shutdown_free(slip_shutdown *s)
{
	if (s == NULL)
		return;
	close(s->fds[0]);
	close(s->fds[1]);
	free(s);
}
