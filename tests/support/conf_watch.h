/*
 * tests/support/conf_watch.h — a watch running on its own thread into
 * a channel, and checks of what it delivers (key, op, value, the entry's
 * own cursor, caught-up markers). Public API and test.h only: nothing here
 * depends on the conformance fixture; the conformance, memory-extras and
 * nats-watch-multi tests link it as slip_test_watch.
 */
#ifndef SLIP_CONF_WATCH_H
#define SLIP_CONF_WATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <slipstream.h>

#include "test.h"

/** Revision held in an 8-byte version token (0 if not one). */
uint64_t conf_rev(const slip_version *v);

/* ------------------------------------------------- a watch on a thread */

typedef struct conf_watch {
	slip_watcher *w;
	slip_chan *ch;
	pthread_t thread;
	slip_watch_options opts;
	slip_cursor from;
	char prefix[128];
	char list[8][64]; /* copies for a multi-prefix watch */
	const char *list_ptr[8];
	atomic_int rc;
	atomic_bool done;
	bool started;
} conf_watch;

/**
 * Runs slip_watch() on a thread into a channel of @p capacity. @p prefix
 * and @p from may be NULL. flags: SLIP_WATCH_*.
 */
int conf_watch_start(conf_watch *cw, slip_watcher *w, const char *prefix,
                     const slip_cursor *from, unsigned flags, size_t capacity);
/**
 * As conf_watch_start() over the union of @p count (at most 8) prefixes,
 * each shorter than 64 bytes (slip_watch_options.prefixes).
 */
int conf_watch_start_multi(conf_watch *cw, slip_watcher *w,
                           const char *const *prefixes, size_t count,
                           const slip_cursor *from, unsigned flags,
                           size_t capacity);
/**
 * Next entry within 10 s, or NULL (timeout or end of the watch). Caller
 * owns it.
 */
slip_entry *conf_watch_next(conf_watch *cw);
/**
 * Waits up to 10 s for the watch to end by itself; true if it did.
 * Joins the thread then.
 */
bool conf_watch_wait(conf_watch *cw);
/**
 * Cancels by closing the receiving side, waits up to 10 s for the watch
 * call to return (failing the case otherwise), joins the thread, frees
 * the channel, and returns the watch call's result.
 */
int conf_watch_stop(conf_watch *cw);

/**
 * Receives the next entry and checks its key, op and (for puts) value;
 * entry's cursor must carry its own revision. Returns the entry (caller
 * frees) or NULL after recording a failure.
 */
slip_entry *conf_expect(conf_watch *cw, const char *key, slip_op op,
                        const char *value, const char *file, int line);
#define EXPECT_ENTRY(cw, key, op, value)                                       \
	conf_expect((cw), (key), (op), (value), __FILE__, __LINE__)

/** Receives and frees the next entry, which must be a caught-up marker. */
bool conf_expect_marker(conf_watch *cw, const char *file, int line);
#define EXPECT_MARKER(cw) conf_expect_marker((cw), __FILE__, __LINE__)

#endif
