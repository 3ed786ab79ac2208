/*
 * tests/faults/test_faults.c — ctest faults-server-kill: the NATS server
 * fails under an active watch.
 *
 *   kill:  nats-server is SIGKILLed and restarted (same port and store) while
 *          a watch runs, with writes before, during (failing) and after.
 *   pause: nats-server is SIGSTOPped for a few seconds during a watch with a
 *          writer trying meanwhile, then continued.
 *
 * Either way the watch must end with SLIP_EWATCH or recover by itself, within
 * a deadline (never hang). A watcher that resumes from its last cursor must
 * then deliver the rest, so that over all sessions every revision the server
 * holds (an independent scan on a fresh connection) and every acknowledged
 * write was seen exactly once — nothing missed, nothing twice.
 *
 *   frozen: every kind of call against a SIGSTOPped server fails within
 *          its timeout, a new connection included, and works once thawed.
 *   wipe:  the server loses its store and the bucket is created again;
 *          resuming from an old cursor is SLIP_ECURSOREXPIRED, never a
 *          silent watch over a different history.
 */
#include "natsd.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_REV           4096
#define ROUND_DEADLINE_MS 45000

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* ------------------------------------------------ a watch and its records */

/* What all watch sessions of a test saw, by revision. */
typedef struct seen_log {
	pthread_mutex_t mu;
	int count[MAX_REV]; /* deliveries per revision */
	char key[MAX_REV][32];
	uint64_t max_rev;
	slip_cursor last; /* cursor after the last delivered entry */
	bool have_last;
	int dup; /* revisions delivered more than once */
	int out_of_order;
} seen_log;

typedef struct watch_session {
	seen_log *log;
	slip_watcher *w;
	slip_chan *ch;
	slip_cursor from;
	bool resume;
	pthread_t watch_th, drain_th;
	volatile int done; /* slip_watch returned */
	int rc;
} watch_session;

static void *watch_main(void *arg)
{
	watch_session *s = arg;
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	if (s->resume)
		o.from = &s->from;
	s->rc = slip_watch(s->w, &o, s->ch);
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void record(seen_log *l, const slip_entry *e)
{
	uint64_t rev = 0;

	slip_version_to_u64(&e->version, &rev);
	pthread_mutex_lock(&l->mu);
	if (rev < MAX_REV) {
		if (l->count[rev]++ > 0)
			l->dup++;
		snprintf(l->key[rev], sizeof(l->key[rev]), "%s", e->key);
	}
	if (rev <= l->max_rev)
		l->out_of_order++;
	else
		l->max_rev = rev;
	l->last = e->cursor;
	l->have_last = true;
	pthread_mutex_unlock(&l->mu);
}

static void *drain_main(void *arg)
{
	watch_session *s = arg;
	slip_entry *e = NULL;

	while (slip_chan_recv(s->ch, &e, -1) == SLIP_OK) {
		if (e->op != SLIP_OP_CAUGHT_UP)
			record(s->log, e);
		slip_entry_free(e);
	}
	return NULL;
}

static int session_start(watch_session *s, seen_log *log, slip_store *st)
{
	memset(s, 0, sizeof(*s));
	s->log = log;
	s->w = slip_store_watcher(st);
	pthread_mutex_lock(&log->mu);
	s->resume = log->have_last;
	s->from = log->last;
	pthread_mutex_unlock(&log->mu);
	if (!s->w || slip_chan_new(&s->ch, 64) != SLIP_OK)
		return -1;
	if (pthread_create(&s->watch_th, NULL, watch_main, s) != 0)
		return -1;
	if (pthread_create(&s->drain_th, NULL, drain_main, s) != 0) {
		slip_chan_close_recv(s->ch);
		pthread_join(s->watch_th, NULL);
		return -1;
	}
	return 0;
}

/*
 * Ends the session: closes the receiving side (a running watch returns OK)
 * and joins both threads. The watch must return within @p timeout_ms of
 * the close; returns its rc, or 1 when it hung.
 */
static int session_end(watch_session *s, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	slip_chan_close_recv(s->ch);
	while (!__atomic_load_n(&s->done, __ATOMIC_SEQ_CST)) {
		if (now_ms() > deadline)
			return 1; /* hung: leave the threads, fail the test */
		sleep_ms(10);
	}
	pthread_join(s->watch_th, NULL);
	pthread_join(s->drain_th, NULL);
	slip_chan_free(s->ch);
	return s->rc;
}

static bool session_done(watch_session *s)
{
	return __atomic_load_n(&s->done, __ATOMIC_SEQ_CST);
}

static uint64_t seen_max(seen_log *l)
{
	uint64_t m;
	pthread_mutex_lock(&l->mu);
	m = l->max_rev;
	pthread_mutex_unlock(&l->mu);
	return m;
}

/* ----------------------------------------------------------- the fixture */

typedef struct fixture {
	slip_natsd *srv;
	slip_conn *conn;
	slip_store *st;
	seen_log log;
	/* Acknowledged writes: key of each acknowledged revision. */
	char acked[MAX_REV][32];
	uint64_t last_acked;
	int next_key;
	int failed_writes;
} fixture;

static int fixture_open(fixture *f, const char *bucket)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->log.mu, NULL);
	if (slip_natsd_start(&f->srv, NULL) != 0)
		return -1;
	o.url = slip_natsd_url(f->srv);
	o.connect_timeout_ms = 2000;
	o.op_timeout_ms = 1500;
	o.reconnect_wait_ms = 100;
	o.max_reconnect = -1; /* ride out the restart */
	if (slip_conn_new(&f->conn, &o) != SLIP_OK ||
	    slip_conn_connect(f->conn) != SLIP_OK)
		return -1;
	cfg.name = bucket;
	cfg.max_history = 5;
	return slip_store_open_config(&f->st, f->conn, &cfg) == SLIP_OK ? 0
	                                                                : -1;
}

static void fixture_close(fixture *f)
{
	slip_store_free(f->st);
	slip_conn_free(f->conn);
	slip_natsd_free(f->srv);
	pthread_mutex_destroy(&f->log.mu);
}

/* One put of a fresh key; records it when acknowledged. */
static int write_one(fixture *f)
{
	char key[32], val[32];
	slip_version v;
	uint64_t rev = 0;
	int rc;

	snprintf(key, sizeof(key), "k.%05d", f->next_key);
	snprintf(val, sizeof(val), "v%d", f->next_key);
	rc = slip_writer_put(slip_store_writer(f->st), key, val, strlen(val),
	                     &v);
	f->next_key++; /* a failed put may still have landed: never reuse */
	if (rc != SLIP_OK) {
		f->failed_writes++;
		return rc;
	}
	slip_version_to_u64(&v, &rev);
	if (rev < MAX_REV)
		snprintf(f->acked[rev], sizeof(f->acked[rev]), "%s", key);
	if (rev > f->last_acked)
		f->last_acked = rev;
	return SLIP_OK;
}

/* Writes @p n keys, retrying failures until @p deadline. */
static int write_n(fixture *f, int n, long long deadline)
{
	int ok = 0;
	while (ok < n && now_ms() < deadline) {
		if (write_one(f) == SLIP_OK)
			ok++;
		else
			sleep_ms(100);
	}
	return ok;
}

/*
 * Waits until the watch has delivered revision @p target or ended.
 * 1 = delivered, 0 = the watch ended first, -1 = deadline (a stall).
 */
static int wait_seen(fixture *f, watch_session *s, uint64_t target,
                     long long deadline)
{
	while (now_ms() < deadline) {
		if (seen_max(&f->log) >= target)
			return 1;
		if (session_done(s))
			return seen_max(&f->log) >= target ? 1 : 0;
		sleep_ms(20);
	}
	return -1;
}

/*
 * After the fault: the watch either kept up by itself, or ended with
 * SLIP_EWATCH and is resumed from its cursor; either way, within the
 * deadline, everything up to the last acknowledged write arrives.
 */
static void converge(fixture *f, watch_session *s, long long deadline)
{
	int r = wait_seen(f, s, f->last_acked, deadline);
	int resumes = 0;

	while (r == 0 && resumes < 5) {
		int rc = session_end(s, 5000);
		if (rc != SLIP_EWATCH)
			slip_test_fail(
			        __FILE__, __LINE__,
			        "watch ended with %s (%s), want SLIP_EWATCH "
			        "or recovery",
			        slip_err_name(rc), slip_last_error());
		if (rc == 1)
			return;
		if (session_start(s, &f->log, f->st) != 0) {
			slip_test_fail(__FILE__, __LINE__, "cannot resume");
			return;
		}
		resumes++;
		r = wait_seen(f, s, f->last_acked, deadline);
	}
	if (r != 1)
		slip_test_fail(__FILE__, __LINE__,
		               "watch stalled: saw up to rev %llu of %llu "
		               "(resumed %d times)",
		               (unsigned long long)seen_max(&f->log),
		               (unsigned long long)f->last_acked, resumes);
	fprintf(stderr, "  converged: %d resume(s), last rev %llu\n", resumes,
	        (unsigned long long)f->last_acked);
}

/*
 * Every revision the server holds (scan on a fresh connection) and every
 * acknowledged write was delivered exactly once, under the right key.
 */
static void verify(fixture *f)
{
	slip_conn *c = NULL;
	slip_store *st = NULL;
	slip_entry_list list = {0};
	int missing = 0, wrong = 0;

	CHECK(f->log.dup == 0);
	CHECK(f->log.out_of_order == 0);
	for (uint64_t rev = 1; rev <= f->last_acked && rev < MAX_REV; rev++) {
		if (!f->acked[rev][0])
			continue;
		if (f->log.count[rev] != 1)
			missing++;
		else if (strcmp(f->log.key[rev], f->acked[rev]))
			wrong++;
	}
	CHECK(missing == 0);
	CHECK(wrong == 0);

	REQUIRE_OK(slip_connect(&c, slip_natsd_url(f->srv)));
	CHECK_OK(slip_store_open(&st, c, slip_store_name(f->st)));
	if (st)
		CHECK_OK(slip_reader_scan(slip_store_reader(st), "", &list));
	missing = 0;
	for (size_t i = 0; i < list.count; i++) {
		uint64_t rev = 0;
		slip_version_to_u64(&list.entries[i]->version, &rev);
		if (rev >= MAX_REV || f->log.count[rev] != 1 ||
		    strcmp(f->log.key[rev], list.entries[i]->key))
			missing++;
	}
	CHECK(missing == 0);
	CHECK(list.count >= 1);
	fprintf(stderr,
	        "  %zu keys held, %llu revisions, %d failed write attempts\n",
	        list.count, (unsigned long long)f->last_acked,
	        f->failed_writes);
	slip_entry_list_free(&list);
	slip_store_free(st);
	slip_conn_free(c);
}

/* ----------------------------------------------------------------- tests */

static void t_kill_and_restart_during_watch(void)
{
	fixture *f = calloc(1, sizeof(*f));
	watch_session s;
	long long deadline;
	int rc;

	REQUIRE(f);
	if (fixture_open(f, "fault_kill") != 0) {
		fixture_close(f);
		free(f);
		REQUIRE(!"fixture");
	}
	REQUIRE(session_start(&s, &f->log, f->st) == 0);
	for (int round = 0; round < 2; round++) {
		deadline = now_ms() + ROUND_DEADLINE_MS;
		CHECK(write_n(f, 50, deadline) == 50);
		CHECK(wait_seen(f, &s, f->last_acked, deadline) == 1);

		/* Crash; writes fail while it is down (and are not counted). */
		CHECK(slip_natsd_kill(f->srv) == 0);
		for (int i = 0; i < 3; i++)
			CHECK(write_one(f) != SLIP_OK);
		sleep_ms(500);
		CHECK(slip_natsd_restart(f->srv) == 0);

		CHECK(write_n(f, 50, deadline) == 50);
		converge(f, &s, deadline);
	}
	rc = session_end(&s, 5000);
	CHECK(rc == SLIP_OK || rc == SLIP_EWATCH);
	verify(f);
	fixture_close(f);
	free(f);
}

static void t_pause_during_watch(void)
{
	fixture *f = calloc(1, sizeof(*f));
	watch_session s;
	long long deadline, t0;
	int rc, attempts = 0;

	REQUIRE(f);
	if (fixture_open(f, "fault_pause") != 0) {
		fixture_close(f);
		free(f);
		REQUIRE(!"fixture");
	}
	REQUIRE(session_start(&s, &f->log, f->st) == 0);
	deadline = now_ms() + ROUND_DEADLINE_MS;
	CHECK(write_n(f, 50, deadline) == 50);
	CHECK(wait_seen(f, &s, f->last_acked, deadline) == 1);

	/* Frozen for 4 s: writes fail within their timeout, nothing hangs. */
	CHECK(slip_natsd_pause(f->srv) == 0);
	t0 = now_ms();
	while (now_ms() - t0 < 4000) {
		long long w0 = now_ms();
		/* Fails (or was acked before the freeze took hold)... */
		write_one(f);
		attempts++;
		/* ...but always within the op timeout (1.5 s), with slack. */
		CHECK(now_ms() - w0 < 10000);
	}
	CHECK(slip_natsd_resume(f->srv) == 0);
	fprintf(stderr, "  %d write attempts while frozen\n", attempts);

	CHECK(write_n(f, 50, deadline) == 50);
	converge(f, &s, deadline);
	rc = session_end(&s, 5000);
	CHECK(rc == SLIP_OK || rc == SLIP_EWATCH);
	verify(f);
	fixture_close(f);
	free(f);
}

/*
 * Resumes from @p from on @p st; returns the watch's rc and how many
 * updates it delivered before ending (or before 3 s of running).
 */
static int resume_once(slip_store *st, const slip_cursor *from, int *delivered)
{
	seen_log *log = calloc(1, sizeof(*log));
	watch_session s;
	long long deadline = now_ms() + 3000;
	int rc;

	*delivered = 0;
	if (!log)
		return SLIP_ENOMEM;
	pthread_mutex_init(&log->mu, NULL);
	log->last = *from;
	log->have_last = true;
	if (session_start(&s, log, st) != 0) {
		free(log);
		return SLIP_ENOMEM;
	}
	while (!session_done(&s) && now_ms() < deadline)
		sleep_ms(20);
	rc = session_end(&s, 5000);
	if (rc == 1)
		return rc; /* hung: its threads still use log; leave it */
	for (int i = 0; i < MAX_REV; i++)
		*delivered += log->count[i];
	pthread_mutex_destroy(&log->mu);
	free(log);
	return rc;
}

/*
 * The server loses its whole store (disk replaced) and the bucket is
 * created again with more writes than before, so the old cursor's sequence
 * looks valid: resuming from it must be SLIP_ECURSOREXPIRED (the stream's
 * identity changed), never a silent watch over a different history. And
 * with fewer writes than before, the cursor is past the end: expired too.
 */
static void t_store_wiped_cursor_expires(void)
{
	fixture *f = calloc(1, sizeof(*f));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *fresh = NULL;
	watch_session s;
	slip_cursor old;
	long long deadline;
	char cmd[600];
	int delivered = 0, rc;

	REQUIRE(f);
	if (fixture_open(f, "fault_wipe") != 0) {
		fixture_close(f);
		free(f);
		REQUIRE(!"fixture");
	}
	deadline = now_ms() + ROUND_DEADLINE_MS;
	REQUIRE(session_start(&s, &f->log, f->st) == 0);
	CHECK(write_n(f, 20, deadline) == 20);
	CHECK(wait_seen(f, &s, f->last_acked, deadline) == 1);
	CHECK_OK(session_end(&s, 5000));
	old = f->log.last;

	for (int round = 0; round < 2; round++) {
		/* Lose the disk: kill, wipe the JetStream store, restart. */
		CHECK(slip_natsd_kill(f->srv) == 0);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/js'",
		         slip_natsd_dir(f->srv));
		CHECK(system(cmd) == 0);
		CHECK(slip_natsd_restart(f->srv) == 0);

		/* Recreate: 30 writes (past the cursor), then only 5. */
		cfg.name = "fault_wipe";
		cfg.max_history = 5;
		rc = SLIP_ETIMEOUT;
		while (rc != SLIP_OK && now_ms() < deadline) {
			rc = slip_store_open_config(&fresh, f->conn, &cfg);
			if (rc != SLIP_OK)
				sleep_ms(100);
		}
		CHECK_OK(rc);
		if (!fresh)
			break;
		for (int i = 0; i < (round == 0 ? 30 : 5); i++)
			CHECK_OK(slip_writer_put(slip_store_writer(fresh),
			                         "other", "x", 1, NULL));

		CHECK_RC(resume_once(fresh, &old, &delivered),
		         SLIP_ECURSOREXPIRED);
		CHECK(delivered == 0);
		/* The handle opened before the wipe must not resume either. */
		rc = resume_once(f->st, &old, &delivered);
		CHECK(rc != SLIP_OK && rc != 1);
		CHECK(delivered == 0);
		fprintf(stderr, "  round %d: old handle -> %s\n", round,
		        slip_err_name(rc));
		slip_store_free(fresh);
		fresh = NULL;
	}
	fixture_close(f);
	free(f);
}

/* Runs one call against the frozen server: it must fail, within bounds. */
#define FROZEN_CALL(expr)                                                      \
	do {                                                                   \
		long long t0_ = now_ms();                                      \
		int rc_ = (expr);                                              \
		long long ms_ = now_ms() - t0_;                                \
		fprintf(stderr, "  frozen: %s -> %s in %lld ms\n", #expr,      \
		        slip_err_name(rc_), ms_);                              \
		CHECK(rc_ != SLIP_OK);                                         \
		CHECK(ms_ < 10000);                                            \
	} while (0)

/*
 * Every kind of call against a SIGSTOPped server (TCP still accepted by the
 * kernel, nothing answered) fails within its timeout — including a new
 * connection, where libnats 3.4.1 alone would spin forever — and works
 * again once the server continues.
 */
static void t_frozen_server_calls_bounded(void)
{
	fixture *f = calloc(1, sizeof(*f));
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c2 = NULL;
	slip_store *st2 = NULL;
	slip_entry *e = NULL;
	slip_entry_list list = {0};
	slip_key_list keys = {0};
	long long deadline;

	REQUIRE(f);
	if (fixture_open(f, "fault_frozen") != 0) {
		fixture_close(f);
		free(f);
		REQUIRE(!"fixture");
	}
	deadline = now_ms() + ROUND_DEADLINE_MS;
	CHECK(write_n(f, 10, deadline) == 10);
	CHECK(slip_natsd_pause(f->srv) == 0);

	FROZEN_CALL(slip_reader_get(slip_store_reader(f->st), "k.00001", &e));
	FROZEN_CALL(slip_reader_scan(slip_store_reader(f->st), "", &list));
	FROZEN_CALL(slip_reader_keys(slip_store_reader(f->st), "", &keys));
	FROZEN_CALL(slip_writer_put(slip_store_writer(f->st), "frozen", "x", 1,
	                            NULL));
	FROZEN_CALL(slip_store_open(&st2, f->conn, "fault_frozen"));
	o.url = slip_natsd_url(f->srv);
	o.connect_timeout_ms = 2000;
	o.op_timeout_ms = 1500;
	o.max_reconnect = 1;
	CHECK_OK(slip_conn_new(&c2, &o));
	if (c2)
		FROZEN_CALL(slip_conn_connect(c2));
	slip_entry_free(e);
	e = NULL;
	slip_entry_list_free(&list);
	slip_key_list_free(&keys);
	slip_store_free(st2);
	st2 = NULL;
	slip_conn_free(c2);

	CHECK(slip_natsd_resume(f->srv) == 0);
	/* Thawed: the old connection works again (give it a moment). */
	CHECK(write_n(f, 1, deadline) == 1);
	CHECK_OK(slip_reader_get(slip_store_reader(f->st), "k.00001", &e));
	CHECK(e != NULL);
	slip_entry_free(e);
	fixture_close(f);
	free(f);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_kill_and_restart_during_watch),
        SLIP_TEST(t_pause_during_watch),
        SLIP_TEST(t_store_wiped_cursor_expires),
        SLIP_TEST(t_frozen_server_calls_bounded),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
