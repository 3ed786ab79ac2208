/*
 * tests/applied/fx.h — the fixture the applied tests and the crash loop
 * share: one store on the memory backend or on a real nats-server, the
 * server-side tricks the tests need (expire old history so a cursor
 * expires; delete and recreate the bucket), and a tiny local key → value
 * map standing for "the caller's state", compared with an independent scan,
 * and the main() that runs a test's cases against either backend.
 */
#ifndef SLIP_TEST_APPLIED_FX_H
#define SLIP_TEST_APPLIED_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slipstream.h>

#include "natsd.h"
#include "tmpdir.h"
#include "test.h"

typedef struct fx {
	bool nats;
	char url[128];
	char bucket[64];
	slip_conn *conn;
	slip_store *store;
	slip_reader *r;
	slip_writer *w;
	slip_watcher *watcher;
} fx;

/**
 * Connects to @p url ("mem://…" or "nats://…") and opens (creating it when
 * absent) bucket @p bucket with history 1. 0 or an error code.
 */
int fx_open(fx *f, const char *url, const char *bucket);
void fx_close(fx *f);

/**
 * fx_open on a fresh bucket "<tag>_<what>_<n>" (n counts up per process,
 * so every case gets an empty bucket). On failure records a test failure
 * naming the URL and the error, and returns false.
 */
bool fx_open_fresh(fx *f, const char *url, const char *tag, const char *what);

/**
 * Throws away every record below revision @p rev, as retention would
 * (memory: slip_mem_drop_before; NATS: purge the stream up to @p rev), so
 * cursors below rev - 1 expire.
 */
int fx_expire(fx *f, uint64_t rev);

/** Deletes the bucket and creates it again, empty, with a new identity. */
int fx_recreate(fx *f);

/** The store's last revision. */
uint64_t fx_last_seq(fx *f);

/* ---------------------------------------------------------- local state */

typedef struct fx_kv {
	char *key;
	char *value;
	uint64_t rev; /* 0 when unknown */
} fx_kv;

typedef struct fx_map {
	fx_kv *kv;
	size_t count, cap;
} fx_map;

/** Applies one watch update (put sets, delete/purge removes). */
int fx_map_apply(fx_map *m, const slip_entry *e);
const fx_kv *fx_map_get(const fx_map *m, const char *key);
void fx_map_clear(fx_map *m);
/** Loads the committed state of snapshot @p path into @p m (cleared). */
int fx_map_from_snapshot(fx_map *m, const char *path, slip_cursor *cursor);

/**
 * Compares @p m with an independent scan of the store under @p prefix:
 * same keys, values and revisions. Prints the first differences to stderr.
 * @return number of differences (0 = equal), or -1 when the scan fails.
 */
int fx_map_diff_server(const fx_map *m, fx *f, const char *prefix);

/* ------------------------------------------------------------- helpers */

/** Monotonic milliseconds. */
int64_t fx_now_ms(void);
void fx_sleep_ms(int ms);
/** Sequence part of a cursor, 0 for none. */
uint64_t fx_cursor_seq(const slip_cursor *c);

/* ---------------------------------------------------------------- main */

/**
 * The main() of a test whose cases run unchanged against either backend,
 * picked by argv[1]: "nats" starts a nats-server (natsd.h) and fails —
 * never skips — when it cannot; "mem" uses @p mem_url and leaves out the
 * cases in @p nats_only (NULL-terminated), which need a real server.
 * *url and *natsd are set before any case runs; argv[2...] filter cases.
 * Returns the process exit code.
 */
int fx_main(const char **url, slip_natsd **natsd, int argc, char **argv,
            const slip_test_case *cases, const char *mem_url,
            void (*const *nats_only)(void));

#endif
