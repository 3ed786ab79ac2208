/*
 * src/backends/memory/mem.h — private to the memory backend.
 *
 * A bucket (mem_bucket) is what a NATS KV stream is: a bucket-wide sequence
 * of records {seq, key, value, op, time} kept in an ordered log, a map from
 * key to the records the key still holds (at most max_history of them, as
 * NATS keeps per subject), and the retention floor below which records were
 * dropped. bucket.c holds the data structure and the write semantics (CAS,
 * history limit, purge, retention); memory.c the namespace registry,
 * connections, store handles and reads; watch.c the streaming watch.
 *
 * Locking: every field marked "lock" is guarded by the bucket's mutex; the
 * slip__mem_* functions that take a bucket expect the caller to hold it.
 * Lock order, outermost first: a store handle's mu (memory.c), then the
 * namespace registry's registry_mu (memory.c), then a bucket's lock. A
 * thread holding a bucket's lock takes no other lock, and no lock is held
 * while an entry is sent to a channel or handed to a callback.
 */
#ifndef SLIP_MEM_H
#define SLIP_MEM_H

#include <pthread.h>
#include <stdatomic.h>

#include <slipstream.h>
#include <slipstream/memory.h>
#include <slipstream/sys/backend.h>

#include "util/map.h"
#include "util/util.h"

/** This backend's table (memory.c), registered by the core as "mem". */
extern const slip_backend slip__backend_memory;

typedef struct mem_key mem_key;

/** One record of the log; its value follows the struct. */
typedef struct mem_rec {
	uint64_t seq;
	int64_t created_ns;
	mem_key *key;
	struct mem_rec *knext; /* next newer record of the same key */
	struct mem_rec *kprev; /* next older record of the same key */
	size_t value_len;
	slip_op op;
	int64_t expires_ns; /* per-key TTL / marker TTL on the bucket clock; 0
	                       never */
	bool limit_marker;  /* written by expiry, not by a client */
	uint8_t value[];
} mem_rec;

/** A key with at least one record held; the name follows the struct. */
struct mem_key {
	mem_rec *oldest;
	mem_rec *latest;
	uint32_t count; /* records held, markers included */
	size_t len;
	char name[];
};

/** A log slot: rec is NULL once the record was removed. */
typedef struct mem_slot {
	uint64_t seq;
	mem_rec *rec;
} mem_slot;

/** A bucket's configuration with backend defaults filled in. */
typedef struct mem_config {
	slip_storage storage;
	int64_t max_bytes;      /* -1 unlimited */
	int64_t max_history;    /* 1..64 */
	int64_t max_age_ms;     /* 0 forever */
	int num_replicas;       /* 1..5, recorded only */
	int32_t max_value_size; /* -1 unlimited */
	int64_t marker_ttl_ms;  /* 0: no per-key TTL, no limit markers */
	char description[256];
} mem_config;

typedef struct mem_bucket {
	atomic_int refs;
	atomic_bool deleted;
	int64_t identity; /* creation time in ns, unique per creation */
	mem_config cfg;
	/* Innermost lock: taken last, after mem_store.mu and registry_mu. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast on append, delete and close */

	mem_slot *log; /* lock: ordered by seq, holes where rec is NULL */
	size_t log_len, log_cap, log_head, log_holes;
	slip__map map;           /* lock: name -> mem_key * (src/util/map.h) */
	uint64_t last_seq;       /* lock: newest revision written */
	uint64_t floor;          /* lock: lowest seq that retention kept */
	uint64_t messages;       /* lock: records held */
	uint64_t bytes;          /* lock: key + value bytes held */
	int64_t clock_offset_ns; /* lock: added to the real time (tests) */
	size_t ttl_recs;         /* lock: records with an expiry time */

	struct mem_bucket *next; /* namespace list (registry lock) */
	char name[];
} mem_bucket;

/** Kinds of write, each with its own precondition. */
typedef enum mem_write_kind {
	MEM_PUT,
	MEM_CREATE,
	MEM_UPDATE,
	MEM_DELETE,
	MEM_DELETE_VERSION,
	MEM_PURGE
} mem_write_kind;

/* bucket.c ------------------------------------------------------------ */

int slip__mem_config_from(mem_config *out, const slip_store_config *cfg,
                          const char *name);
/** Writes into @p buf the names of fields that differ ("" if none). */
void slip__mem_config_diff(const mem_config *a, const mem_config *b, char *buf,
                           size_t bufsz);

int slip__mem_bucket_new(mem_bucket **out, const char *name,
                         const mem_config *cfg, int64_t identity);
void slip__mem_bucket_ref(mem_bucket *b);
void slip__mem_bucket_unref(mem_bucket *b);
/** Marks the bucket deleted, frees its records and wakes watchers. */
void slip__mem_bucket_delete(mem_bucket *b);

mem_key *slip__mem_key_find(const mem_bucket *b, const char *key);

/** The key in map slot @p i (< map.cap), or NULL when the slot is empty. */
mem_key *slip__mem_key_at(const mem_bucket *b, size_t i);
/** Index of the first log slot whose seq is greater than @p seq. */
size_t slip__mem_log_after(const mem_bucket *b, uint64_t seq);
/** Oldest revision held, or last_seq + 1 when nothing is held. */
uint64_t slip__mem_first_seq(const mem_bucket *b);
/** The bucket's clock: real time plus what tests advanced it by. */
int64_t slip__mem_now(const mem_bucket *b);
/**
 * Drops records older than max_age and records whose TTL has passed (what
 * nats-server's retention does); with limit markers, a key whose latest
 * record went gets a marker (a Purge) kept for marker_ttl_ms.
 */
void slip__mem_expire(mem_bucket *b);
/** Drops every record with seq < @p seq; the floor becomes @p seq. */
void slip__mem_drop_before(mem_bucket *b, uint64_t seq);

/**
 * Appends one record after checking the precondition of @p kind against
 * @p expected; @p opname names the call in error messages.
 */
int slip__mem_write(mem_bucket *b, mem_write_kind kind, const char *opname,
                    const char *key, const void *value, size_t len,
                    const slip_version *expected, slip_version *out_version);
/** As slip__mem_write, the record expiring @p ttl_ms after it (> 0). */
int slip__mem_write_ttl(mem_bucket *b, mem_write_kind kind, const char *opname,
                        const char *key, const void *value, size_t len,
                        int64_t ttl_ms, slip_version *out_version);

/** Copies a record into a new entry (without the value if !with_value). */
int slip__mem_rec_entry(slip_entry **out, const mem_rec *r, bool with_value);

/* watch.c ------------------------------------------------------------- */

/**
 * Runs a watch on @p b into @p tx on the caller's thread (see watch.c);
 * @p closed is the connection's closed flag, polled to end it.
 */
int slip__mem_watch(mem_bucket *b, const atomic_bool *closed,
                    const slip_watch_options *opts, slip_chan *tx);

#endif
