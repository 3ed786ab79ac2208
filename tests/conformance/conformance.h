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

#include "conf_watch.h"
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
	/**
	 * Lets @p ms of the backend's time pass for @p store (expiry cases).
	 * NULL: the suite sleeps that long in real time.
	 */
	int (*advance_ms)(void *ctx, slip_store *store, int64_t ms);
	/**
	 * Server-side consumers still held for @p bucket (each watch, scan
	 * and keys call costs one while it runs; nats-server 2.15 allows
	 * 1000 per stream). Checked to be 0 when a case closes. May be NULL
	 * (no such resource).
	 */
	int (*consumers)(void *ctx, const char *bucket);
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
/** As conf_open with a whole configuration (its name is filled in). */
int conf_open_config(conf_case *c, slip_store_config *cfg);
/** Deletes the bucket, frees the store and the connection. */
void conf_close(conf_case *c);
/** A unique bucket name (for cases that make their own). */
void conf_bucket_name(char *buf, size_t bufsz);

/** The multi-prefix cases (conf_multi.c), run after the ones above. */
extern const slip_test_case conf_multi_cases[];
/* Expiry cases (conf_expiry.c): limit markers and per-key TTL. */
void t_ttl_refused_without_markers(void);
void t_ttl_key_expires_through_marker(void);
void t_ttl_create_and_purge_marker(void);

#endif
