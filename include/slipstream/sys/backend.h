/*
 * slipstream/sys/backend.h — the backend-writer API. Applications never
 * include this header; backend implementations do.
 *
 * A backend is one static, versioned table of function pointers
 * (slip_backend). The core (src/conn.c, src/dispatch.c) validates every
 * argument first — keys, prefixes, bucket names, cursor and version
 * pointers — so backends receive only well-formed input, and the registry
 * (src/registry.c) checks the table's version when a backend is registered. A
 * NULL optional member means "not supported" and the core answers
 * SLIP_EUNSUPPORTED (or hides the role view).
 *
 * Handles: the backend allocates its own connection and store objects and
 * hands them to the core as `void *`; the core passes them back and never
 * looks inside. The core keeps a connection alive until every store opened
 * from it has been freed, so store_free always runs before conn_free.
 *
 * Locking: every member except conn_free and store_free may be called
 * concurrently from several threads, including concurrently with close().
 * After close() every member must fail with SLIP_ENOTCONNECTED (watch must
 * end promptly). Errors: return a negative SLIP_E* code and describe it with
 * slip_set_error(); expected outcomes (key not found) set no message.
 */
#ifndef SLIPSTREAM_SYS_BACKEND_H
#define SLIPSTREAM_SYS_BACKEND_H

#include "../chan.h"
#include "../conn.h"
#include "../pipeline.h"
#include "../types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The table version this header describes. Members are only ever appended;
 * the version goes up once per release that appends some, and the library
 * accepts a table of every version from 1 up to this one (members a table's
 * version does not have read as NULL). Version 1 ends with watch; version 2
 * appends cursor_cmp and what follows it.
 */
#define SLIP_BACKEND_VERSION 2

/**
 * Starts a table's designated initialiser with its version:
 * `static const slip_backend b = {SLIP_BACKEND_INIT, .name = "x", ...};`
 */
#define SLIP_BACKEND_INIT .version = SLIP_BACKEND_VERSION

/** cursor_cmp's answer for two cursors that have no order between them. */
#define SLIP_CURSOR_UNORDERED 2

/** store_open out_roles bits. */
#define SLIP_ROLE_WRITE 0x1u /**< the store is writable */
#define SLIP_ROLE_WATCH 0x2u /**< the store can stream (watch) */

/** One pipelined write handed to pipe_send (see slip_backend). */
typedef struct slip_pipe_op {
	slip_write_kind kind;
	const char *key;
	const void *value; /* NULL for deletes */
	size_t len;
	slip_version expected; /* UPDATE, DELETE_VERSION */
} slip_pipe_op;

/**
 * A pipelined write's outcome, called exactly once per operation
 * pipe_send accepted, from any thread (possibly inside pipe_send).
 * @p version is the new revision (NULL when there is none); @p message,
 * on failure, says why in full ("put \"k\": ...").
 */
typedef void (*slip_pipe_done)(void *ctx, uint64_t tag, int rc,
                               const slip_version *version,
                               const char *message);

typedef struct slip_backend {
	/** SLIP_BACKEND_VERSION (set it with SLIP_BACKEND_INIT). */
	unsigned version;
	/** Name reported by slip_conn_backend_name() ("nats", "mem"). */
	const char *name;
	/** Comma-separated URL schemes this backend accepts ("nats,tls"). */
	const char *schemes;

	/* ------------------------------------------------ connection (must) */

	/**
	 * Parses and validates @p opts (the URL's scheme is one of ours) and
	 * copies what it needs; no I/O. SLIP_EINVAL on a bad URL or creds.
	 * On SLIP_OK *out is the backend's connection object.
	 */
	int (*conn_new)(void **out, const slip_conn_options *opts);
	/** Connects. SLIP_EAUTH / SLIP_ETIMEOUT / SLIP_EIO on failure. */
	int (*connect)(void *conn);
	/** Disconnects; idempotent; running watches must end promptly. */
	void (*close)(void *conn);
	/** Frees the connection object (after close and every store_free). */
	void (*conn_free)(void *conn);
	/** Fills @p out truthfully for the server actually connected;
	 * @p out arrives as SLIP_CAPABILITIES_INIT (features false). */
	void (*capabilities)(void *conn, slip_capabilities *out);

	/* ---------------------------------------------------- stores (must) */

	/**
	 * Binds to store @p name (@p cfg NULL: SLIP_ENOTFOUND if absent), or
	 * with @p cfg binds-or-creates (SLIP_ECONFIG naming differing fields
	 * when it exists with another configuration). On SLIP_OK *out is the
	 * backend's store object and *out_roles its SLIP_ROLE_* bits.
	 */
	int (*store_open)(void *conn, const char *name,
	                  const slip_store_config *cfg, void **out,
	                  unsigned *out_roles);
	/** Frees a store object. */
	void (*store_free)(void *store);
	/** May be NULL. Deletes a store and its data; SLIP_ENOTFOUND. */
	int (*store_delete)(void *conn, const char *name);
	/** May be NULL. Live facts about the store. */
	int (*store_info)(void *store, slip_store_info *out);

	/* ---------------------------------------------------- reader (must) */

	/** Latest live entry or *out NULL (absent / tombstone). */
	int (*get)(void *store, const char *key, slip_entry **out);
	/** Latest entry including tombstones, or *out NULL. */
	int (*entry)(void *store, const char *key, slip_entry **out);
	/**
	 * One pass over live keys starting with @p prefix (string prefix):
	 * @p cb receives entries without values and owns them. A non-zero
	 * return from @p cb stops the pass and is returned.
	 */
	int (*keys)(void *store, const char *prefix, slip_entry_cb cb,
	            void *payload);
	/** As keys, with values. */
	int (*scan)(void *store, const char *prefix, slip_entry_cb cb,
	            void *payload);

	/* --------------------------------- writer (may be NULL: read-only) */

	int (*put)(void *store, const char *key, const void *value, size_t len,
	           slip_version *out_version);
	/** SLIP_EEXISTS on a live value; succeeds over a tombstone. */
	int (*create)(void *store, const char *key, const void *value,
	              size_t len, slip_version *out_version);
	/** SLIP_EREVISION unless the latest revision is @p expected. */
	int (*update)(void *store, const char *key, const void *value,
	              size_t len, const slip_version *expected,
	              slip_version *out_version);
	/** Tombstone; succeeds when the key never existed. */
	int (*del)(void *store, const char *key);
	/** Tombstone only if the latest revision is @p expected. */
	int (*delete_version)(void *store, const char *key,
	                      const slip_version *expected);
	/** Removes the key's history; watchers see a purge. */
	int (*purge)(void *store, const char *key);

	/* -------------------------------- watcher (may be NULL: no stream) */

	/**
	 * Streams updates into @p tx as slip_watch() documents; returns when
	 * the receiver closes (SLIP_OK) or the stream fails. The core closes
	 * the sending side of @p tx after this returns. Each entry sent
	 * carries its resume cursor; on SLIP_OK from slip_chan_send() the
	 * channel owns it, otherwise the backend frees it.
	 */
	int (*watch)(void *store, const slip_watch_options *opts,
	             slip_chan *tx);

	/* ----------------- cursor order (version 2; must be set with watch) */

	/**
	 * Orders two cursors this backend's watch produced: -1, 0 or 1 as
	 * @p a lies before, at or after @p b in the store's update stream, or
	 * SLIP_CURSOR_UNORDERED when they cannot be compared (another shape,
	 * another store identity). Neither is the none cursor. The core uses
	 * it to drop updates at or before a resume point (watch_applied) and
	 * never decodes cursors itself. Cursors in the sequence layout (below)
	 * use slip_cursor_seq_cmp. NULL in a version-1 table: the core assumes
	 * the sequence layout, as version 1 did.
	 */
	int (*cursor_cmp)(const slip_cursor *a, const slip_cursor *b);

	/* ------------- several prefixes at once (may be NULL: unsupported) */

	/**
	 * As watch, over the union of opts->prefixes (prefix_count >= 2;
	 * opts->prefix is NULL). The core hands over a normalised list:
	 * valid, sorted, distinct and none a prefix of another, so a key
	 * matches at most one of them.
	 */
	int (*watch_prefixes)(void *store, const slip_watch_options *opts,
	                      slip_chan *tx);
	/** As keys / scan over the union of @p count (>= 2) such prefixes. */
	int (*scan_prefixes)(void *store, const char *const *prefixes,
	                     size_t count, bool keys_only, slip_entry_cb cb,
	                     void *payload);

	/* ------------------- per-key TTL (may be NULL: SLIP_EUNSUPPORTED) */

	/**
	 * As put / create / purge, the record expiring after @p ttl_ms (the
	 * core checked ttl_ms >= SLIP_TTL_MIN_MS). SLIP_EUNSUPPORTED, before
	 * anything is written, when the server or store has no per-key TTL.
	 */
	int (*put_ttl)(void *store, const char *key, const void *value,
	               size_t len, int64_t ttl_ms, slip_version *out_version);
	int (*create_ttl)(void *store, const char *key, const void *value,
	                  size_t len, int64_t ttl_ms,
	                  slip_version *out_version);
	int (*purge_ttl)(void *store, const char *key, int64_t ttl_ms);

	/* ------------ pipelined writes (NULL: the core runs each operation
	 * with the writer members above as it is submitted; all or none) */

	/**
	 * Opens a pipe over @p store for at most @p max_ops operations in
	 * flight; @p done receives every outcome. On SLIP_OK *out is the
	 * backend's pipe object.
	 */
	int (*pipe_open)(void *store, size_t max_ops, slip_pipe_done done,
	                 void *ctx, void **out);
	/**
	 * Sends @p op without waiting for its acknowledgement. SLIP_OK: done
	 * follows for @p tag (tags count up by one); @p op's key and value
	 * stay valid until then. An error: nothing was sent, no done. A
	 * create goes out as "expect no entry" and reports SLIP_EREVISION
	 * when the key has any history; the core then finishes it with the
	 * plain create (a tombstone may be overwritten).
	 */
	int (*pipe_send)(void *pipe, const slip_pipe_op *op, uint64_t tag);
	/**
	 * Called while the core waits for outcomes (every few tens of ms):
	 * fails, through done, the operations that can no longer be
	 * acknowledged (connection dropped or closed).
	 */
	void (*pipe_poll)(void *pipe);
	/** Frees the pipe, after done has been called for every operation. */
	void (*pipe_free)(void *pipe);
} slip_backend;

/**
 * Makes a backend available to slip_conn_new() for its schemes. The table
 * must outlive every connection using it (static storage). Built-in
 * backends ("mem", and "nats,tls" when built with libnats) are always
 * registered. @return SLIP_OK, SLIP_EINVAL (bad version, missing member,
 * scheme already taken), SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_backend_register(const slip_backend *backend);

/* ------------------------------------------------ what backends build with */

/**
 * Allocates an entry of @p key_len key bytes and @p value_len value bytes
 * in one block, as slip_entry_free() expects: copies the key,
 * NUL-terminates key and value, sets op to SLIP_OP_PUT and everything else
 * to zero, and leaves the value bytes for the caller to fill through
 * *value_out (may be NULL). @return SLIP_OK or SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_entry_alloc(slip_entry **out, const char *key,
                                 size_t key_len, size_t value_len,
                                 uint8_t **value_out);

/*
 * The sequence cursor layout, used by the built-in nats and mem backends
 * and free for any backend whose updates carry an increasing u64 sequence:
 * the sequence (8 bytes, big-endian), then optionally the store's identity
 * (8 bytes, i64 big-endian, e.g. its creation time) so that a cursor taken
 * before the store was deleted and recreated is told apart. The public
 * slip_cursor_seq() (types.h) reads the sequence back.
 */

/** A 16-byte sequence cursor: @p seq, then @p identity. */
SLIP_EXTERN slip_cursor slip_cursor_seq_make(uint64_t seq, int64_t identity);

/**
 * Splits a sequence cursor. 8-byte cursors (sequence only) are accepted with
 * *has_identity false. @return SLIP_OK or SLIP_EINVAL (other lengths).
 */
SLIP_EXTERN int slip_cursor_seq_split(const slip_cursor *c, uint64_t *seq,
                                      bool *has_identity, int64_t *identity);

/**
 * cursor_cmp for the sequence layout: orders by sequence, and answers
 * SLIP_CURSOR_UNORDERED for other lengths or two different identities.
 */
SLIP_EXTERN int slip_cursor_seq_cmp(const slip_cursor *a, const slip_cursor *b);

/**
 * The backend's own store object behind the public @p store, or NULL when
 * @p store is NULL or belongs to a backend other than @p backend (the table
 * passed to slip_backend_register(), or a built-in's). No message is set.
 * This is how a backend writes extras on public handles, such as
 * slip_mem_drop_before() (slipstream/memory.h).
 */
SLIP_EXTERN void *slip_store_impl(slip_store *store,
                                  const slip_backend *backend);

/**
 * SLIP_OK while @p store's connection is connected, else
 * SLIP_ENOTCONNECTED with a message naming @p op and the store.
 */
SLIP_EXTERN int slip_store_check_connected(slip_store *store, const char *op);

/**
 * Sets this thread's last error (code and printf-style message) and returns
 * @p code, so a backend can write `return slip_set_error(SLIP_EIO, ...)`.
 */
SLIP_EXTERN int slip_set_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

#ifdef __cplusplus
}
#endif
#endif
