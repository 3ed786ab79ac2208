/*
 * src/chan.c — the bounded, closable channel of entries (chan.h).
 *
 * A ring buffer of entry pointers sized once at creation, one mutex and two
 * condition variables (not_empty for receivers, not_full for senders) on
 * the monotonic clock. Nothing is allocated per message, and a condvar is
 * only signalled when someone waits on it, so an uncontended send or
 * receive is one lock round trip.
 *
 * A batch receiver (slip__chan_recv_batch) waits on a third condvar,
 * batch_ready, and is woken only once the queue holds what it wants, the
 * queue is full, a caught-up marker arrives or the channel closes; else its
 * own deadline ends the wait. That spares the kernel one thread switch per
 * entry on a busy stream. It has its own condvar so a signal meant for a
 * plain receiver is never swallowed by a batch receiver that goes back to
 * sleep.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan_internal.h"
#include "internal.h"

struct slip_chan {
	pthread_mutex_t mu;
	pthread_cond_t not_empty;   /* receivers wait here */
	pthread_cond_t not_full;    /* senders wait here */
	pthread_cond_t batch_ready; /* batch receivers wait here */
	size_t cap;
	size_t head;  /* index of the oldest entry */
	size_t count; /* entries queued */
	unsigned recv_waiting;
	unsigned send_waiting;
	unsigned batch_waiting;
	/*
	 * The smallest count a waiting batch receiver wants (SIZE_MAX when
	 * none waits). Lowered by each waiter, reset only when the last one
	 * leaves: with several waiters it may wake one early, never late.
	 */
	size_t batch_want;
	size_t markers;       /* caught-up markers queued */
	bool batch_signalled; /* a wake-up is on its way to batch_ready */
	bool send_closed;
	bool recv_closed;
	slip_entry *ring[];
};

SLIP_EXTERN int slip_chan_new(slip_chan **out, size_t capacity)
{
	pthread_condattr_t attr;
	slip_chan *ch;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "chan_new: NULL out");
	*out = NULL;
	if (capacity == 0)
		return slip_set_error(SLIP_EINVAL,
		                      "chan_new: capacity must be at least 1");
	if (capacity > (SIZE_MAX - sizeof(*ch)) / sizeof(slip_entry *))
		return slip_set_error(SLIP_EINVAL,
		                      "chan_new: capacity %zu is too large",
		                      capacity);
	ch = calloc(1, sizeof(*ch) + capacity * sizeof(slip_entry *));
	if (ch == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "chan_new: out of memory for %zu entries",
		                      capacity);
	ch->cap = capacity;
	ch->batch_want = SIZE_MAX;
	pthread_mutex_init(&ch->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->not_empty, &attr);
	pthread_cond_init(&ch->not_full, &attr);
	pthread_cond_init(&ch->batch_ready, &attr);
	pthread_condattr_destroy(&attr);
	*out = ch;
	return SLIP_OK;
}

/* The ring index after @p i (no division: this is on every message). */
static inline size_t next_index(const slip_chan *ch, size_t i)
{
	return i + 1 == ch->cap ? 0 : i + 1;
}

/* Frees queued entries; the caller holds the lock (or is the last user). */
static void drain_locked(slip_chan *ch)
{
	while (ch->count > 0) {
		slip_entry_free(ch->ring[ch->head]);
		ch->ring[ch->head] = NULL;
		ch->head = next_index(ch, ch->head);
		ch->count--;
	}
	ch->markers = 0;
}

SLIP_EXTERN void slip_chan_free(slip_chan *ch)
{
	if (ch == NULL)
		return;
	drain_locked(ch);
	pthread_cond_destroy(&ch->not_empty);
	pthread_cond_destroy(&ch->not_full);
	pthread_cond_destroy(&ch->batch_ready);
	pthread_mutex_destroy(&ch->mu);
	free(ch);
}

/*
 * Waits on @p cv until signalled or the deadline passes. Returns false once
 * the deadline has passed (spurious wake-ups return true; callers re-check
 * their condition in a loop).
 */
static bool wait_on(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
                    const struct timespec *deadline)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(cv, mu);
		return true;
	}
	return pthread_cond_timedwait(cv, mu, deadline) != ETIMEDOUT;
}

/*
 * Whether a send that just queued @p e must wake the batch receivers: the
 * queue reached their wanted count or its capacity, or @p e is a caught-up
 * marker (it closes the batch at once). Marks the wake-up as sent so the
 * sends that follow before the receiver runs do not repeat it. Lock held.
 */
static bool batch_should_wake(slip_chan *ch, const slip_entry *e)
{
	if (ch->batch_waiting == 0 || ch->batch_signalled)
		return false;
	if (ch->count < ch->batch_want && ch->count < ch->cap &&
	    e->op != SLIP_OP_CAUGHT_UP)
		return false;
	ch->batch_signalled = true;
	return true;
}

SLIP_EXTERN int slip_chan_send_timeout(slip_chan *ch, slip_entry *e,
                                       int timeout_ms)
{
	struct timespec deadline;
	bool wake = false, wake_batch = false;
	int rc = SLIP_OK;

	if (ch == NULL || e == NULL)
		return slip_set_error(SLIP_EINVAL, "chan_send: NULL argument");
	if (timeout_ms > 0)
		deadline = slip__deadline_after_ms(timeout_ms);
	pthread_mutex_lock(&ch->mu);
	while (ch->count == ch->cap && !ch->recv_closed && !ch->send_closed) {
		bool woke;

		if (timeout_ms == 0) {
			rc = SLIP_ETIMEOUT;
			break;
		}
		ch->send_waiting++;
		woke = wait_on(&ch->not_full, &ch->mu, timeout_ms, &deadline);
		ch->send_waiting--;
		if (!woke && ch->count == ch->cap && !ch->recv_closed &&
		    !ch->send_closed) {
			rc = SLIP_ETIMEOUT;
			break;
		}
	}
	if (rc == SLIP_OK && (ch->recv_closed || ch->send_closed))
		rc = SLIP_ECLOSED;
	if (rc == SLIP_OK) {
		size_t tail = ch->head + ch->count;

		ch->ring[tail >= ch->cap ? tail - ch->cap : tail] = e;
		ch->count++;
		if (e->op == SLIP_OP_CAUGHT_UP)
			ch->markers++;
		wake = ch->recv_waiting > 0;
		wake_batch = batch_should_wake(ch, e);
	}
	pthread_mutex_unlock(&ch->mu);
	/*
	 * Signal after unlocking, so the woken receiver does not run only to
	 * block on the mutex still held here. Safe: the channel outlives
	 * every call on it (chan.h, lifetime).
	 */
	if (wake)
		pthread_cond_signal(&ch->not_empty);
	if (wake_batch)
		pthread_cond_broadcast(&ch->batch_ready);
	if (rc == SLIP_ETIMEOUT)
		return slip_set_error(rc, "chan_send: channel full after %d ms",
		                      timeout_ms);
	if (rc == SLIP_ECLOSED)
		return slip_set_error(rc, "chan_send: channel closed");
	return rc;
}

SLIP_EXTERN int slip_chan_send(slip_chan *ch, slip_entry *e)
{
	return slip_chan_send_timeout(ch, e, -1);
}

/*
 * Waits until an entry is queued or the channel is closed. Holds the lock
 * on entry and exit. Returns SLIP_OK when at least one entry is queued.
 */
static int wait_readable(slip_chan *ch, int timeout_ms)
{
	struct timespec deadline;

	if (timeout_ms > 0)
		deadline = slip__deadline_after_ms(timeout_ms);
	while (ch->count == 0 && !ch->recv_closed && !ch->send_closed) {
		bool woke;

		if (timeout_ms == 0)
			return SLIP_ETIMEOUT;
		ch->recv_waiting++;
		woke = wait_on(&ch->not_empty, &ch->mu, timeout_ms, &deadline);
		ch->recv_waiting--;
		if (!woke && ch->count == 0 && !ch->recv_closed &&
		    !ch->send_closed)
			return SLIP_ETIMEOUT;
	}
	if (ch->recv_closed || ch->count == 0)
		return SLIP_ECLOSED;
	return SLIP_OK;
}

/*
 * Moves up to @p max queued entries into @p out (lock held) and counts the
 * markers taken. Returns how many it moved.
 */
static size_t take_locked(slip_chan *ch, slip_entry **out, size_t max)
{
	size_t got = 0;

	while (got < max && ch->count > 0) {
		slip_entry *e = ch->ring[ch->head];

		if (e->op == SLIP_OP_CAUGHT_UP)
			ch->markers--;
		out[got++] = e;
		ch->ring[ch->head] = NULL;
		ch->head = next_index(ch, ch->head);
		ch->count--;
	}
	return got;
}

/*
 * Takes what the wait left (if @p rc is SLIP_OK), unlocks, wakes blocked
 * senders after unlocking (as in send) and reports @p rc.
 */
static int finish_recv(slip_chan *ch, int rc, slip_entry **out, size_t max,
                       size_t *n, int timeout_ms)
{
	size_t got = rc == SLIP_OK ? take_locked(ch, out, max) : 0;
	unsigned waiting = got > 0 ? ch->send_waiting : 0;

	pthread_mutex_unlock(&ch->mu);
	if (waiting == 1 || (waiting > 1 && got == 1))
		pthread_cond_signal(&ch->not_full);
	else if (waiting > 1)
		pthread_cond_broadcast(&ch->not_full);
	*n = got;
	if (rc == SLIP_ETIMEOUT)
		return slip_set_error(rc,
		                      "chan_recv: nothing queued after %d ms",
		                      timeout_ms);
	if (rc == SLIP_ECLOSED)
		return slip_set_error(rc, "chan_recv: channel closed");
	return rc;
}

int slip__chan_recv_many(slip_chan *ch, slip_entry **out, size_t max,
                         int timeout_ms, size_t *n)
{
	int rc;

	if (n != NULL)
		*n = 0;
	if (ch == NULL || out == NULL || n == NULL || max == 0)
		return slip_set_error(SLIP_EINVAL,
		                      "chan_recv: NULL argument or max 0");
	pthread_mutex_lock(&ch->mu);
	rc = wait_readable(ch, timeout_ms);
	return finish_recv(ch, rc, out, max, n, timeout_ms);
}

/* Whether a batch receiver wanting @p want can stop waiting (lock held). */
static bool batch_done(const slip_chan *ch, size_t want)
{
	return ch->count >= want || ch->count == ch->cap || ch->markers > 0 ||
	       ch->recv_closed || ch->send_closed;
}

/*
 * Sleeps on batch_ready until batch_done() or the deadline (lock held).
 * The wanted count is published so that senders stay quiet until then.
 */
static void wait_batch(slip_chan *ch, size_t want, int64_t deadline_ns)
{
	struct timespec ts = {0, 0};

	if (deadline_ns >= 0) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000);
		ts.tv_nsec = (long)(deadline_ns % 1000000000);
	}
	while (!batch_done(ch, want)) {
		int r = 0;

		if (deadline_ns >= 0 && slip__now_ns() >= deadline_ns)
			break;
		ch->batch_waiting++;
		if (want < ch->batch_want)
			ch->batch_want = want;
		if (deadline_ns < 0)
			pthread_cond_wait(&ch->batch_ready, &ch->mu);
		else
			r = pthread_cond_timedwait(&ch->batch_ready, &ch->mu,
			                           &ts);
		ch->batch_signalled = false;
		if (--ch->batch_waiting == 0)
			ch->batch_want = SIZE_MAX;
		if (r == ETIMEDOUT)
			break;
	}
}

int slip__chan_recv_batch(slip_chan *ch, slip_entry **out, size_t max,
                          size_t want, int64_t deadline_ns, size_t *n)
{
	int rc = SLIP_OK;

	if (n != NULL)
		*n = 0;
	if (ch == NULL || out == NULL || n == NULL || max == 0)
		return slip_set_error(SLIP_EINVAL,
		                      "chan_recv: NULL argument or max 0");
	if (want == 0)
		want = 1;
	if (want > max)
		want = max;
	pthread_mutex_lock(&ch->mu);
	wait_batch(ch, want, deadline_ns);
	if (ch->recv_closed || (ch->count == 0 && ch->send_closed))
		rc = SLIP_ECLOSED;
	else if (ch->count == 0)
		rc = SLIP_ETIMEOUT;
	if (rc == SLIP_ETIMEOUT) {
		pthread_mutex_unlock(&ch->mu);
		return slip_set_error(rc, "chan_recv: nothing queued by the "
		                          "deadline");
	}
	return finish_recv(ch, rc, out, max, n, 0);
}

SLIP_EXTERN int slip_chan_recv(slip_chan *ch, slip_entry **out, int timeout_ms)
{
	size_t n;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "chan_recv: NULL out");
	*out = NULL;
	return slip__chan_recv_many(ch, out, 1, timeout_ms, &n);
}

SLIP_EXTERN void slip_chan_close_recv(slip_chan *ch)
{
	if (ch == NULL)
		return;
	pthread_mutex_lock(&ch->mu);
	ch->recv_closed = true;
	drain_locked(ch);
	pthread_cond_broadcast(&ch->not_full);
	pthread_cond_broadcast(&ch->not_empty);
	pthread_cond_broadcast(&ch->batch_ready);
	pthread_mutex_unlock(&ch->mu);
}

SLIP_EXTERN void slip_chan_close_send(slip_chan *ch)
{
	if (ch == NULL)
		return;
	pthread_mutex_lock(&ch->mu);
	ch->send_closed = true;
	pthread_cond_broadcast(&ch->not_full);
	pthread_cond_broadcast(&ch->not_empty);
	pthread_cond_broadcast(&ch->batch_ready);
	pthread_mutex_unlock(&ch->mu);
}

SLIP_EXTERN bool slip_chan_recv_closed(slip_chan *ch)
{
	bool closed;

	if (ch == NULL)
		return true;
	pthread_mutex_lock(&ch->mu);
	closed = ch->recv_closed;
	pthread_mutex_unlock(&ch->mu);
	return closed;
}

SLIP_EXTERN size_t slip_chan_len(slip_chan *ch)
{
	size_t n;

	if (ch == NULL)
		return 0;
	pthread_mutex_lock(&ch->mu);
	n = ch->count;
	pthread_mutex_unlock(&ch->mu);
	return n;
}
