/*
 * tests/unit/test_chan.c — the bounded channel (unit-chan, also run under
 * TSan): FIFO order, timeouts, back-pressure (a sender blocked while full),
 * close_recv waking blocked senders, drain after close_send, batch receive,
 * the wanted-count receive of the applied loop (woken at its count, when
 * full, at a caught-up marker, on close, or at its deadline with fewer),
 * and multi-threaded producer/consumer stress including close races.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan_internal.h"
#include "internal.h"
#include "test.h"

static slip_entry *mk(uint64_t tag)
{
	slip_entry *e = NULL;

	if (slip_entry_new(&e, "k", "v", 1, NULL, SLIP_OP_PUT) != SLIP_OK)
		abort();
	e->pending = tag; /* the tests carry their payload here */
	return e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void t_fifo(void)
{
	slip_chan *ch = NULL;
	slip_entry *e = NULL;

	CHECK_RC(slip_chan_new(&ch, 0), SLIP_EINVAL);
	CHECK(ch == NULL);
	REQUIRE_OK(slip_chan_new(&ch, 4));
	CHECK(slip_chan_len(ch) == 0);
	/* Wrap around the ring twice. */
	for (uint64_t round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 4; i++)
			CHECK_OK(slip_chan_send(ch, mk(round * 10 + i)));
		CHECK(slip_chan_len(ch) == 4);
		for (uint64_t i = 0; i < 4; i++) {
			REQUIRE_OK(slip_chan_recv(ch, &e, 0));
			CHECK(e->pending == round * 10 + i);
			slip_entry_free(e);
		}
	}
	CHECK(!slip_chan_recv_closed(ch));
	slip_chan_free(ch);
	slip_chan_free(NULL);
}

static void t_timeouts(void)
{
	slip_chan *ch = NULL;
	slip_entry *e = (slip_entry *)1, *x;
	int64_t t0;

	REQUIRE_OK(slip_chan_new(&ch, 1));
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ETIMEOUT);
	CHECK(e == NULL);
	t0 = slip__now_ns();
	CHECK_RC(slip_chan_recv(ch, &e, 50), SLIP_ETIMEOUT);
	CHECK(slip__now_ns() - t0 >= 45 * 1000000LL);
	CHECK_OK(slip_chan_send(ch, mk(1)));
	/* Full: a timed send gives up and the caller keeps the entry. */
	x = mk(2);
	CHECK_RC(slip_chan_send_timeout(ch, x, 0), SLIP_ETIMEOUT);
	t0 = slip__now_ns();
	CHECK_RC(slip_chan_send_timeout(ch, x, 30), SLIP_ETIMEOUT);
	CHECK(slip__now_ns() - t0 >= 25 * 1000000LL);
	CHECK(x->pending == 2);
	slip_entry_free(x);
	CHECK(slip_chan_len(ch) == 1);
	slip_chan_free(ch); /* frees the queued entry */
}

struct blocked_sender {
	slip_chan *ch;
	uint64_t tag;
	atomic_int done;
	int rc;
};

static void *send_one(void *arg)
{
	struct blocked_sender *b = arg;
	slip_entry *e = mk(b->tag);

	b->rc = slip_chan_send(b->ch, e);
	if (b->rc != SLIP_OK)
		slip_entry_free(e); /* on error the sender still owns it */
	atomic_store(&b->done, 1);
	return NULL;
}

/* A full channel holds a sender back until the receiver takes one. */
static void t_back_pressure(void)
{
	struct blocked_sender b = {0};
	slip_entry *e = NULL;
	pthread_t th;

	REQUIRE_OK(slip_chan_new(&b.ch, 2));
	CHECK_OK(slip_chan_send(b.ch, mk(1)));
	CHECK_OK(slip_chan_send(b.ch, mk(2)));
	b.tag = 3;
	REQUIRE(pthread_create(&th, NULL, send_one, &b) == 0);
	sleep_ms(100);
	CHECK(atomic_load(&b.done) == 0); /* still blocked: full */
	CHECK(slip_chan_len(b.ch) == 2);
	REQUIRE_OK(slip_chan_recv(b.ch, &e, -1));
	CHECK(e->pending == 1);
	slip_entry_free(e);
	pthread_join(th, NULL);
	CHECK(b.rc == SLIP_OK);
	/* Nothing was dropped and order held. */
	for (uint64_t want = 2; want <= 3; want++) {
		REQUIRE_OK(slip_chan_recv(b.ch, &e, 1000));
		CHECK(e->pending == want);
		slip_entry_free(e);
	}
	slip_chan_free(b.ch);
}

struct timed_sender {
	slip_chan *ch;
	int rc;
};

static void *send_timed(void *arg)
{
	struct timed_sender *t = arg;
	slip_entry *e = mk(77);

	t->rc = slip_chan_send_timeout(t->ch, e, 5000);
	if (t->rc != SLIP_OK)
		slip_entry_free(e);
	return NULL;
}

/* A timed send / receive succeeds when the other side acts in time. */
static void t_timed_wakeups(void)
{
	struct timed_sender t = {0};
	slip_entry *e = NULL;
	pthread_t th;

	REQUIRE_OK(slip_chan_new(&t.ch, 1));
	CHECK_OK(slip_chan_send(t.ch, mk(1)));
	REQUIRE(pthread_create(&th, NULL, send_timed, &t) == 0);
	sleep_ms(30);
	REQUIRE_OK(slip_chan_recv(t.ch, &e, 0));
	CHECK(e->pending == 1);
	slip_entry_free(e);
	/* The timed sender gets the freed slot long before its timeout. */
	REQUIRE_OK(slip_chan_recv(t.ch, &e, 5000));
	CHECK(e->pending == 77);
	slip_entry_free(e);
	pthread_join(th, NULL);
	CHECK(t.rc == SLIP_OK);
	/* A receiver waiting with a timeout is woken by a send. */
	REQUIRE(pthread_create(&th, NULL, send_timed, &t) == 0);
	REQUIRE_OK(slip_chan_recv(t.ch, &e, 5000));
	CHECK(e->pending == 77);
	slip_entry_free(e);
	pthread_join(th, NULL);
	CHECK(t.rc == SLIP_OK);
	slip_chan_free(t.ch);
}

/* close_recv wakes a blocked sender with ECLOSED and frees the queue. */
static void t_close_recv_wakes_sender(void)
{
	struct blocked_sender b = {0};
	slip_entry *e = mk(9);
	pthread_t th;

	REQUIRE_OK(slip_chan_new(&b.ch, 1));
	CHECK_OK(slip_chan_send(b.ch, mk(1)));
	b.tag = 2;
	REQUIRE(pthread_create(&th, NULL, send_one, &b) == 0);
	sleep_ms(50);
	CHECK(atomic_load(&b.done) == 0);
	slip_chan_close_recv(b.ch);
	pthread_join(th, NULL);
	CHECK(b.rc == SLIP_ECLOSED);
	CHECK(slip_chan_recv_closed(b.ch));
	CHECK(slip_chan_len(b.ch) == 0);
	/* Later sends fail too, and the caller keeps the entry. */
	CHECK_RC(slip_chan_send(b.ch, e), SLIP_ECLOSED);
	slip_entry_free(e);
	CHECK_RC(slip_chan_recv(b.ch, &e, 0), SLIP_ECLOSED);
	slip_chan_close_recv(b.ch); /* idempotent */
	slip_chan_free(b.ch);
}

/* close_send: the receiver drains what is queued, then ECLOSED. */
static void t_drain_after_close_send(void)
{
	slip_chan *ch = NULL;
	slip_entry *e = mk(5);

	REQUIRE_OK(slip_chan_new(&ch, 8));
	for (uint64_t i = 0; i < 5; i++)
		CHECK_OK(slip_chan_send(ch, mk(i)));
	slip_chan_close_send(ch);
	CHECK_RC(slip_chan_send(ch, e), SLIP_ECLOSED);
	slip_entry_free(e);
	CHECK(!slip_chan_recv_closed(ch));
	for (uint64_t i = 0; i < 5; i++) {
		REQUIRE_OK(slip_chan_recv(ch, &e, 0));
		CHECK(e->pending == i);
		slip_entry_free(e);
	}
	CHECK_RC(slip_chan_recv(ch, &e, -1), SLIP_ECLOSED);
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ECLOSED);
	slip_chan_close_send(ch);
	slip_chan_free(ch);
}

struct blocked_receiver {
	slip_chan *ch;
	int rc;
};

static void *recv_one(void *arg)
{
	struct blocked_receiver *b = arg;
	slip_entry *e = NULL;

	b->rc = slip_chan_recv(b->ch, &e, -1);
	slip_entry_free(e);
	return NULL;
}

static void t_close_send_wakes_receiver(void)
{
	struct blocked_receiver b = {0};
	pthread_t th;

	REQUIRE_OK(slip_chan_new(&b.ch, 1));
	REQUIRE(pthread_create(&th, NULL, recv_one, &b) == 0);
	sleep_ms(50);
	slip_chan_close_send(b.ch);
	pthread_join(th, NULL);
	CHECK(b.rc == SLIP_ECLOSED);
	slip_chan_free(b.ch);
}

static void t_recv_many(void)
{
	slip_entry *out[8];
	slip_chan *ch = NULL;
	size_t n = 99;

	REQUIRE_OK(slip_chan_new(&ch, 16));
	CHECK_RC(slip__chan_recv_many(ch, out, 8, 0, &n), SLIP_ETIMEOUT);
	CHECK(n == 0);
	for (uint64_t i = 0; i < 11; i++)
		CHECK_OK(slip_chan_send(ch, mk(i)));
	CHECK_OK(slip__chan_recv_many(ch, out, 8, -1, &n));
	CHECK(n == 8);
	for (size_t i = 0; i < n; i++) {
		CHECK(out[i]->pending == i);
		slip_entry_free(out[i]);
	}
	slip_chan_close_send(ch);
	CHECK_OK(slip__chan_recv_many(ch, out, 8, 10, &n));
	CHECK(n == 3 && out[0]->pending == 8 && out[2]->pending == 10);
	for (size_t i = 0; i < n; i++)
		slip_entry_free(out[i]);
	CHECK_RC(slip__chan_recv_many(ch, out, 8, 10, &n), SLIP_ECLOSED);
	CHECK_RC(slip__chan_recv_many(ch, out, 0, 10, &n), SLIP_EINVAL);
	slip_chan_free(ch);
}

/* ------------------------------------------------------ batch receive */

static slip_entry *mk_marker(void)
{
	slip_entry *e = NULL;

	if (slip_entry_new(&e, "", NULL, 0, NULL, SLIP_OP_CAUGHT_UP) != SLIP_OK)
		abort();
	e->pending = 999;
	return e;
}

/* No thread: deadline expiry with fewer than wanted, clamping, errors. */
static void t_batch_deadline(void)
{
	slip_entry *out[8];
	slip_chan *ch = NULL;
	size_t n = 99;
	int64_t t0;

	REQUIRE_OK(slip_chan_new(&ch, 16));
	CHECK_RC(slip__chan_recv_batch(ch, out, 8, 4, slip__now_ns(), &n),
	         SLIP_ETIMEOUT);
	CHECK(n == 0);
	t0 = slip__now_ns();
	CHECK_RC(slip__chan_recv_batch(ch, out, 8, 4, t0 + 30000000, &n),
	         SLIP_ETIMEOUT);
	CHECK(slip__now_ns() >= t0 + 30000000);
	for (uint64_t i = 0; i < 3; i++)
		CHECK_OK(slip_chan_send(ch, mk(i)));
	/* Three of five wanted: the deadline ends the wait with those. */
	t0 = slip__now_ns();
	CHECK_OK(slip__chan_recv_batch(ch, out, 8, 5, t0 + 30000000, &n));
	CHECK(slip__now_ns() >= t0 + 30000000);
	CHECK(n == 3);
	for (size_t i = 0; i < n; i++) {
		CHECK(out[i]->pending == i);
		slip_entry_free(out[i]);
	}
	/* want is clamped to max: 8 queued, max 2, want 50 returns 2. */
	for (uint64_t i = 0; i < 8; i++)
		CHECK_OK(slip_chan_send(ch, mk(i)));
	CHECK_OK(slip__chan_recv_batch(ch, out, 2, 50, -1, &n));
	CHECK(n == 2 && out[0]->pending == 0 && out[1]->pending == 1);
	slip_entry_free(out[0]);
	slip_entry_free(out[1]);
	CHECK_OK(slip__chan_recv_batch(ch, out, 8, 0, -1, &n));
	CHECK(n == 6);
	for (size_t i = 0; i < n; i++)
		slip_entry_free(out[i]);
	CHECK_RC(slip__chan_recv_batch(ch, out, 0, 1, -1, &n), SLIP_EINVAL);
	CHECK_RC(slip__chan_recv_batch(NULL, out, 8, 1, -1, &n), SLIP_EINVAL);
	CHECK_RC(slip__chan_recv_batch(ch, out, 8, 1, -1, NULL), SLIP_EINVAL);
	slip_chan_free(ch);
}

struct batch_receiver {
	slip_chan *ch;
	size_t want;
	slip_entry *out[32];
	size_t n;
	atomic_int done;
	int rc;
};

/* Waits up to a minute: a missed wake-up shows as a late, full return. */
static void *recv_batch_thread(void *arg)
{
	struct batch_receiver *b = arg;

	b->rc = slip__chan_recv_batch(b->ch, b->out, 32, b->want,
	                              slip__now_ns() + 60000000000LL, &b->n);
	atomic_store(&b->done, 1);
	return NULL;
}

static void batch_start(struct batch_receiver *b, pthread_t *th, size_t cap,
                        size_t want)
{
	memset(b, 0, sizeof(*b));
	b->want = want;
	if (slip_chan_new(&b->ch, cap) != SLIP_OK ||
	    pthread_create(th, NULL, recv_batch_thread, b) != 0)
		abort();
	sleep_ms(30); /* let it block */
}

/* Frees what the (joined) receiver got, and the channel. */
static void batch_end(struct batch_receiver *b)
{
	for (size_t i = 0; i < b->n; i++)
		slip_entry_free(b->out[i]);
	slip_chan_free(b->ch);
}

/* Sends @p k entries tagged from @p first, then lets the receiver run. */
static void send_some(slip_chan *ch, uint64_t first, uint64_t k)
{
	for (uint64_t i = 0; i < k; i++)
		CHECK_OK(slip_chan_send(ch, mk(first + i)));
	sleep_ms(100);
}

/* Woken at its wanted count, not before. */
static void t_batch_wakes_at_want(void)
{
	struct batch_receiver b;
	pthread_t th;
	int64_t t0 = slip__now_ns();

	batch_start(&b, &th, 64, 5);
	send_some(b.ch, 0, 4);
	CHECK(atomic_load(&b.done) == 0);
	CHECK_OK(slip_chan_send(b.ch, mk(4)));
	pthread_join(th, NULL);
	CHECK_OK(b.rc);
	CHECK(b.n == 5 && b.out[0]->pending == 0 && b.out[4]->pending == 4);
	/* Well before its one-minute deadline: the send woke it. */
	CHECK(slip__now_ns() - t0 < 30000000000LL);
	batch_end(&b);
}

/* Woken when the queue fills, even short of its count. */
static void t_batch_wakes_on_full(void)
{
	struct batch_receiver b;
	pthread_t th;
	int64_t t0 = slip__now_ns();

	batch_start(&b, &th, 4, 20);
	send_some(b.ch, 0, 3);
	CHECK(atomic_load(&b.done) == 0);
	CHECK_OK(slip_chan_send(b.ch, mk(3)));
	pthread_join(th, NULL);
	CHECK_OK(b.rc);
	CHECK(b.n == 4);
	CHECK(slip__now_ns() - t0 < 30000000000LL);
	batch_end(&b);
}

/* A caught-up marker wakes it at once: the marker closes a batch. */
static void t_batch_wakes_on_marker(void)
{
	struct batch_receiver b;
	pthread_t th;
	int64_t t0 = slip__now_ns();

	batch_start(&b, &th, 64, 20);
	send_some(b.ch, 0, 2);
	CHECK(atomic_load(&b.done) == 0);
	CHECK_OK(slip_chan_send(b.ch, mk_marker()));
	pthread_join(th, NULL);
	CHECK_OK(b.rc);
	CHECK(b.n == 3 && b.out[2]->op == SLIP_OP_CAUGHT_UP);
	CHECK(slip__now_ns() - t0 < 30000000000LL);
	batch_end(&b);
}

/* close_send hands over what is queued, then ECLOSED; close_recv wakes. */
static void t_batch_wakes_on_close(void)
{
	struct batch_receiver b;
	slip_entry *out[4];
	size_t n = 9;
	pthread_t th;
	int64_t t0 = slip__now_ns();

	batch_start(&b, &th, 64, 20);
	send_some(b.ch, 0, 2);
	CHECK(atomic_load(&b.done) == 0);
	slip_chan_close_send(b.ch);
	pthread_join(th, NULL);
	CHECK_OK(b.rc);
	CHECK(b.n == 2);
	CHECK_RC(slip__chan_recv_batch(b.ch, out, 4, 2, -1, &n), SLIP_ECLOSED);
	CHECK(n == 0);
	batch_end(&b);

	batch_start(&b, &th, 64, 20);
	slip_chan_close_recv(b.ch);
	pthread_join(th, NULL);
	CHECK_RC(b.rc, SLIP_ECLOSED);
	CHECK(b.n == 0);
	CHECK(slip__now_ns() - t0 < 30000000000LL);
	batch_end(&b);
}

/*
 * A plain receiver blocked beside a batch receiver still gets each entry
 * at once: a wake-up meant for it is never taken by the batch receiver.
 */
static void t_batch_beside_plain(void)
{
	struct batch_receiver b;
	struct blocked_receiver p = {0};
	pthread_t th, pt;

	batch_start(&b, &th, 64, 20);
	p.ch = b.ch;
	p.rc = 1;
	REQUIRE(pthread_create(&pt, NULL, recv_one, &p) == 0);
	sleep_ms(30);
	CHECK_OK(slip_chan_send(b.ch, mk(1)));
	pthread_join(pt, NULL);
	CHECK_OK(p.rc);
	CHECK(atomic_load(&b.done) == 0);
	slip_chan_close_send(b.ch);
	pthread_join(th, NULL);
	CHECK_RC(b.rc, SLIP_ECLOSED);
	batch_end(&b);
}

/* ------------------------------------------------------------- stress */

#define PRODUCERS    4
#define PER_PRODUCER 20000

struct stress {
	slip_chan *ch;
	int id;
	atomic_int *sent;
	uint64_t count; /* consumer: received */
	uint64_t sum;   /* consumer: sum of tags */
	int order_errors;
	int batch; /* consumer: 0 recv, 1 recv_batch 5 ms, 2 recv_batch forever
	            */
	int rc;
};

static void *producer(void *arg)
{
	struct stress *s = arg;

	for (uint64_t i = 0; i < PER_PRODUCER; i++) {
		slip_entry *e = mk(((uint64_t)s->id << 32) | i);
		int rc = slip_chan_send(s->ch, e);

		if (rc != SLIP_OK) {
			slip_entry_free(e);
			s->rc = rc;
			return NULL;
		}
		atomic_fetch_add(s->sent, 1);
	}
	s->rc = SLIP_OK;
	return NULL;
}

/* One received entry: order per producer, count and sum. */
static void consume(struct stress *s, uint64_t *next, slip_entry *e)
{
	uint64_t id = e->pending >> 32, seq = e->pending & 0xffffffffu;

	/* Per producer, one consumer sees sequences in order. */
	if (id >= PRODUCERS || seq < next[id])
		s->order_errors++;
	else
		next[id] = seq + 1;
	s->count++;
	s->sum += e->pending;
	slip_entry_free(e);
}

static int recv_batch_once(struct stress *s, uint64_t *next)
{
	slip_entry *out[16];
	int64_t deadline = s->batch == 1 ? slip__now_ns() + 5000000 : -1;
	size_t n = 0;
	int rc = slip__chan_recv_batch(s->ch, out, 16, 8, deadline, &n);

	for (size_t i = 0; i < n; i++)
		consume(s, next, out[i]);
	return rc == SLIP_ETIMEOUT ? SLIP_OK : rc;
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	uint64_t next[PRODUCERS] = {0};
	slip_entry *e = NULL;
	int rc;

	if (s->batch) {
		while ((rc = recv_batch_once(s, next)) == SLIP_OK)
			;
		s->rc = rc;
		return NULL;
	}
	while ((rc = slip_chan_recv(s->ch, &e, -1)) == SLIP_OK)
		consume(s, next, e);
	s->rc = rc;
	return NULL;
}

/*
 * Runs PRODUCERS producers against @p nconsumers consumers; consumer i
 * receives as batch[i] says (0 plain, 1 batch with a deadline, 2 batch
 * without one), or plainly when @p batch is NULL.
 */
static void run_stress(int nconsumers, size_t cap, const int *batch)
{
	struct stress p[PRODUCERS], c[4];
	pthread_t pt[PRODUCERS], ct[4];
	atomic_int sent = 0;
	slip_chan *ch = NULL;
	uint64_t count = 0, sum = 0, want_sum = 0;

	REQUIRE_OK(slip_chan_new(&ch, cap));
	memset(p, 0, sizeof(p));
	memset(c, 0, sizeof(c));
	for (int i = 0; i < nconsumers; i++) {
		c[i].ch = ch;
		c[i].batch = batch != NULL ? batch[i] : 0;
		REQUIRE(pthread_create(&ct[i], NULL, consumer, &c[i]) == 0);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		p[i].ch = ch;
		p[i].id = i;
		p[i].sent = &sent;
		REQUIRE(pthread_create(&pt[i], NULL, producer, &p[i]) == 0);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(pt[i], NULL);
		CHECK(p[i].rc == SLIP_OK);
		for (uint64_t j = 0; j < PER_PRODUCER; j++)
			want_sum += ((uint64_t)i << 32) | j;
	}
	slip_chan_close_send(ch);
	for (int i = 0; i < nconsumers; i++) {
		pthread_join(ct[i], NULL);
		CHECK(c[i].rc == SLIP_ECLOSED);
		CHECK(c[i].order_errors == 0);
		count += c[i].count;
		sum += c[i].sum;
	}
	/* Exactly once: every entry arrived, none twice. */
	CHECK(count == (uint64_t)PRODUCERS * PER_PRODUCER);
	CHECK(sum == want_sum);
	CHECK(atomic_load(&sent) == PRODUCERS * PER_PRODUCER);
	slip_chan_free(ch);
}

static void t_stress_one_consumer(void)
{
	run_stress(1, 16, NULL);
}

static void t_stress_many_consumers(void)
{
	run_stress(3, 4, NULL);
}

static void t_stress_capacity_one(void)
{
	run_stress(2, 1, NULL);
}

/* One batch receiver, woken only at its count, full or close. */
static void t_stress_batch_consumer(void)
{
	static const int forever[] = {2}, timed[] = {1};

	run_stress(1, 64, forever);
	run_stress(1, 16, timed);
}

/*
 * Plain and batch receivers on one channel: a wake-up meant for a plain
 * receiver is never lost to a batch receiver (they wait apart).
 */
static void t_stress_mixed_consumers(void)
{
	static const int mix[] = {0, 2, 1};

	run_stress(3, 8, mix);
	run_stress(3, 1, mix);
}

/*
 * The receiver cancels while producers are blocked or mid-send: every
 * producer ends with ECLOSED, nothing leaks (ASan/valgrind), no hang.
 */
static void t_close_recv_race(void)
{
	for (int round = 0; round < 30; round++) {
		struct stress p[PRODUCERS];
		pthread_t pt[PRODUCERS];
		atomic_int sent = 0;
		slip_chan *ch = NULL;
		slip_entry *e = NULL;
		int take = round * 7;

		memset(p, 0, sizeof(p));
		REQUIRE_OK(slip_chan_new(&ch, (size_t)(round % 5) + 1));
		for (int i = 0; i < PRODUCERS; i++) {
			p[i].ch = ch;
			p[i].id = i;
			p[i].sent = &sent;
			REQUIRE(pthread_create(&pt[i], NULL, producer, &p[i]) ==
			        0);
		}
		for (int i = 0; i < take; i++) {
			REQUIRE_OK(slip_chan_recv(ch, &e, -1));
			slip_entry_free(e);
		}
		slip_chan_close_recv(ch);
		for (int i = 0; i < PRODUCERS; i++) {
			pthread_join(pt[i], NULL);
			CHECK(p[i].rc == SLIP_ECLOSED);
		}
		CHECK(slip_chan_len(ch) == 0);
		slip_chan_free(ch);
	}
}

/* Sender closes while receivers wait and producers finish. */
static void t_close_send_race(void)
{
	for (int round = 0; round < 30; round++) {
		struct stress c[3];
		pthread_t ct[3];
		slip_chan *ch = NULL;
		uint64_t total = 0;
		int n = round * 3;

		memset(c, 0, sizeof(c));
		REQUIRE_OK(slip_chan_new(&ch, 2));
		for (int i = 0; i < 3; i++) {
			c[i].ch = ch;
			REQUIRE(pthread_create(&ct[i], NULL, consumer, &c[i]) ==
			        0);
		}
		for (int i = 0; i < n; i++)
			CHECK_OK(slip_chan_send(ch, mk((uint64_t)i)));
		slip_chan_close_send(ch);
		for (int i = 0; i < 3; i++) {
			pthread_join(ct[i], NULL);
			CHECK(c[i].rc == SLIP_ECLOSED);
			total += c[i].count;
		}
		CHECK(total == (uint64_t)n);
		slip_chan_free(ch);
	}
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_fifo),
        SLIP_TEST(t_timeouts),
        SLIP_TEST(t_back_pressure),
        SLIP_TEST(t_timed_wakeups),
        SLIP_TEST(t_close_recv_wakes_sender),
        SLIP_TEST(t_drain_after_close_send),
        SLIP_TEST(t_close_send_wakes_receiver),
        SLIP_TEST(t_recv_many),
        SLIP_TEST(t_batch_deadline),
        SLIP_TEST(t_batch_wakes_at_want),
        SLIP_TEST(t_batch_wakes_on_full),
        SLIP_TEST(t_batch_wakes_on_marker),
        SLIP_TEST(t_batch_wakes_on_close),
        SLIP_TEST(t_batch_beside_plain),
        SLIP_TEST(t_stress_one_consumer),
        SLIP_TEST(t_stress_many_consumers),
        SLIP_TEST(t_stress_capacity_one),
        SLIP_TEST(t_stress_batch_consumer),
        SLIP_TEST(t_stress_mixed_consumers),
        SLIP_TEST(t_close_recv_race),
        SLIP_TEST(t_close_send_race),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
