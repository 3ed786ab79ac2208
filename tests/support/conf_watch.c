/*
 * tests/support/conf_watch.c — a watch on its own thread and checks of
 * what it delivers (see conf_watch.h). Public API only.
 */
#include "conf_watch.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CONF_WAIT_MS 10000

uint64_t conf_rev(const slip_version *v)
{
	uint64_t rev = 0;

	if (slip_version_to_u64(v, &rev) != SLIP_OK)
		return 0;
	return rev;
}

/* ------------------------------------------------- a watch on a thread */

static void *watch_main(void *arg)
{
	conf_watch *cw = arg;

	atomic_store(&cw->rc, slip_watch(cw->w, &cw->opts, cw->ch));
	atomic_store(&cw->done, true);
	return NULL;
}

/* Starts the thread once cw->opts is filled in. */
static int start(conf_watch *cw, size_t capacity)
{
	int rc;

	atomic_init(&cw->rc, SLIP_OK);
	atomic_init(&cw->done, false);
	rc = slip_chan_new(&cw->ch, capacity);
	if (rc != SLIP_OK)
		return rc;
	if (pthread_create(&cw->thread, NULL, watch_main, cw) != 0) {
		slip_chan_free(cw->ch);
		cw->ch = NULL;
		return SLIP_ENOMEM;
	}
	cw->started = true;
	return SLIP_OK;
}

static void prepare(conf_watch *cw, slip_watcher *w, const slip_cursor *from,
                    unsigned flags)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	memset(cw, 0, sizeof(*cw));
	cw->w = w;
	cw->opts = o;
	if (from != NULL) {
		cw->from = *from;
		cw->opts.from = &cw->from;
	}
	cw->opts.flags = flags;
}

int conf_watch_start(conf_watch *cw, slip_watcher *w, const char *prefix,
                     const slip_cursor *from, unsigned flags, size_t capacity)
{
	prepare(cw, w, from, flags);
	if (prefix != NULL) {
		snprintf(cw->prefix, sizeof(cw->prefix), "%s", prefix);
		cw->opts.prefix = cw->prefix;
	}
	return start(cw, capacity);
}

int conf_watch_start_multi(conf_watch *cw, slip_watcher *w,
                           const char *const *prefixes, size_t count,
                           const slip_cursor *from, unsigned flags,
                           size_t capacity)
{
	prepare(cw, w, from, flags);
	if (count > 8)
		return SLIP_EINVAL;
	for (size_t i = 0; i < count; i++) {
		snprintf(cw->list[i], sizeof(cw->list[i]), "%s", prefixes[i]);
		cw->list_ptr[i] = cw->list[i];
	}
	cw->opts.prefixes = cw->list_ptr;
	cw->opts.prefix_count = count;
	return start(cw, capacity);
}

slip_entry *conf_watch_next(conf_watch *cw)
{
	slip_entry *e = NULL;

	if (slip_chan_recv(cw->ch, &e, CONF_WAIT_MS) != SLIP_OK)
		return NULL;
	return e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

bool conf_watch_wait(conf_watch *cw)
{
	for (int i = 0; i < CONF_WAIT_MS / 5 && !atomic_load(&cw->done); i++)
		sleep_ms(5);
	if (!atomic_load(&cw->done))
		return false;
	if (cw->started)
		pthread_join(cw->thread, NULL);
	cw->started = false;
	return true;
}

int conf_watch_stop(conf_watch *cw)
{
	if (cw->ch == NULL)
		return SLIP_EINVAL;
	slip_chan_close_recv(cw->ch);
	if (cw->started && !conf_watch_wait(cw)) {
		slip_test_fail(__FILE__, __LINE__,
		               "watch did not return within %d ms of the "
		               "channel closing",
		               CONF_WAIT_MS);
		/* Joining would hang the run; ctest's timeout reports it. */
		pthread_join(cw->thread, NULL);
	}
	slip_chan_free(cw->ch);
	cw->ch = NULL;
	return atomic_load(&cw->rc);
}

/* ------------------------------------------------------------- checks */

static bool cursor_matches(const slip_entry *e)
{
	uint64_t seq = 0;

	return slip_cursor_seq(&e->cursor, &seq) == SLIP_OK &&
	       seq == conf_rev(&e->version);
}

slip_entry *conf_expect(conf_watch *cw, const char *key, slip_op op,
                        const char *value, const char *file, int line)
{
	slip_entry *e = conf_watch_next(cw);
	size_t vlen = value != NULL ? strlen(value) : 0;

	if (e == NULL) {
		slip_test_fail(file, line,
		               "expected %s \"%s\", got nothing (watch %s: %s)",
		               slip_op_name(op), key,
		               atomic_load(&cw->done) ? "ended" : "running",
		               slip_err_name(atomic_load(&cw->rc)));
		return NULL;
	}
	if (strcmp(e->key, key) != 0 || e->op != op ||
	    (op == SLIP_OP_PUT && value != NULL &&
	     (e->value_len != vlen || memcmp(e->value, value, vlen) != 0))) {
		slip_test_fail(file, line,
		               "expected %s \"%s\" = \"%s\", got %s \"%s\" = "
		               "\"%.*s\"",
		               slip_op_name(op), key, value ? value : "",
		               slip_op_name(e->op), e->key, (int)e->value_len,
		               (const char *)e->value);
		slip_entry_free(e);
		return NULL;
	}
	if (!cursor_matches(e)) {
		slip_test_fail(file, line,
		               "entry \"%s\" at revision %llu carries another "
		               "cursor",
		               key, (unsigned long long)conf_rev(&e->version));
		slip_entry_free(e);
		return NULL;
	}
	return e;
}

bool conf_expect_marker(conf_watch *cw, const char *file, int line)
{
	slip_entry *e = conf_watch_next(cw);
	bool ok = e != NULL && e->op == SLIP_OP_CAUGHT_UP && e->key[0] == '\0';

	if (!ok)
		slip_test_fail(file, line,
		               "expected a caught-up marker, got %s \"%s\"",
		               e ? slip_op_name(e->op) : "nothing",
		               e ? e->key : "");
	slip_entry_free(e);
	return ok;
}
