/*
 * tests/nats/nats_util.h — helpers for the NATS backend's own tests: one
 * shared nats-server per test process (started on first use, stopped at
 * exit), a raw libnats connection for looking behind the backend's back,
 * bucket names, a watch on a thread, and the process's resident size.
 */
#ifndef SLIP_TESTS_NATS_UTIL_H
#define SLIP_TESTS_NATS_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nats/nats.h>
#include <slipstream.h>

#include "natsd.h"
#include "test.h"

/** The shared server's URL (starts it on first use; NULL if it cannot). */
const char *nu_url(void);
/** The shared server handle. */
slip_natsd *nu_server(void);

/** A unique bucket name "nt_<pid>_<n>". */
void nu_bucket(char *buf, size_t bufsz);

/** Connects to @p url; SLIP_OK or the error. */
int nu_connect(slip_conn **out, const char *url);

/** Connection + fresh bucket (history @p history). */
typedef struct nu_case {
	slip_conn *conn;
	slip_store *store;
	slip_reader *r;
	slip_writer *w;
	slip_watcher *wt;
	char bucket[64];
} nu_case;
int nu_open(nu_case *c, int64_t history);
void nu_close(nu_case *c);

/** Raw libnats connection + JetStream context to @p url. */
typedef struct nu_raw {
	natsConnection *nc;
	jsCtx *js;
} nu_raw;
int nu_raw_open(nu_raw *r, const char *url);
void nu_raw_close(nu_raw *r);

/** A watch running on a thread. */
typedef struct nu_watch {
	slip_watcher *w;
	slip_chan *ch;
	pthread_t thread;
	slip_watch_options opts;
	slip_cursor from;
	char prefix[128];
	atomic_int rc;
	atomic_bool done;
} nu_watch;
int nu_watch_start(nu_watch *nw, slip_watcher *w, const char *prefix,
                   const slip_cursor *from, unsigned flags, size_t cap);
/** Waits up to @p ms for the watch call to return; true if it did. */
bool nu_watch_wait(nu_watch *nw, int ms);
/** Cancels (close_recv), joins, frees the channel; the watch's result. */
int nu_watch_stop(nu_watch *nw);

/**
 * A thread overwriting keys "<prefix>k000" ... in a loop (the scan and
 * watch race tests). Start writes each key once, starts the thread and
 * returns once it has overwritten every key at least once.
 */
typedef struct nu_overwriter {
	slip_writer *w;
	char prefix[64];
	int nkeys;
	pthread_t thread;
	atomic_bool stop;
	atomic_long writes;
	atomic_int rc;
} nu_overwriter;
int nu_overwriter_start(nu_overwriter *o, slip_writer *w, const char *prefix,
                        int nkeys);
/** Stops and joins the thread; the first write error or SLIP_OK. */
int nu_overwriter_stop(nu_overwriter *o);

/** Resident set size of this process in KiB. */
long nu_rss_kib(void);

/** Milliseconds on a monotonic clock. */
int64_t nu_now_ms(void);

#endif
