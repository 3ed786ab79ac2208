/*
 * tests/conformance/conformance.h — the backend conformance suite's
 * fixture interface and shared helpers.
 *
 * The cases (conformance.c) use the public API only and run unchanged
 * against every backend. A backend takes part by providing ONE fixture file
 * that defines `conf_backend` (below) and adding one line to this folder's
 * CMakeLists.txt; see docs/conformance.md.
 */
#ifndef SLIP_CONFORMANCE_H
#define SLIP_CONFORMANCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <slipstream.h>

#include "test.h"

/** What a backend provides to run the suite. */
typedef struct conf_fixture {
	/** Backend name for messages ("mem", "nats"). */
	const char *name;
	/**
	 * Called once before the first case: start what the backend needs
	 * (a server, a temp dir) and set *ctx. Return 0, or non-zero to fail
	 * the whole run (never skip). May be NULL.
	 */
	int (*setup)(void **ctx);
	/** Called once after the last case. May be NULL. */
	void (*teardown)(void *ctx);
	/** The URL every case connects to; valid until teardown. */
	const char *(*url)(void *ctx);
	/**
	 * Makes every record with revision < @p revision disappear from
	 * @p store's history the backend's way (what retention does), so
	 * that cursors older than revision - 1 expire. Return 0 on success.
	 */
	int (*drop_before)(void *ctx, slip_store *store, uint64_t revision);
} conf_fixture;

/** Defined by the backend's fixture file. */
extern const conf_fixture conf_backend;

/** The fixture's context (set by main before the cases run). */
extern void *conf_ctx;

/* ------------------------------------------------------------ a case */

/** One case's connection and fresh bucket (unique name). */
typedef struct conf_case {
	slip_conn *conn;
	slip_store *store;
	slip_reader *r;
	slip_writer *w;
	slip_watcher *wt;
	char bucket[64];
} conf_case;

/** Connects and creates a fresh bucket with @p max_history (0 default). */
int conf_open(conf_case *c, int64_t max_history);
/** Deletes the bucket, frees the store and the connection. */
void conf_close(conf_case *c);
/** A unique bucket name (for cases that make their own). */
void conf_bucket_name(char *buf, size_t bufsz);
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
