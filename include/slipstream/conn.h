/*
 * slipstream/conn.h — connections, stores and their role views.
 *
 *   slip_conn    a connection to one backend, chosen by URL scheme:
 *                "nats://host:port[,nats://…]", "tls://…" (NATS over TLS),
 *                "mem://name" (in-process memory backend; every connection
 *                in the process naming the same "name" shares its buckets).
 *   slip_store   one bucket; it vends three role views that live as long
 *                as the store:
 *     slip_reader   get / entry / keys / scan
 *     slip_writer   put / create / update / delete / delete_version / purge
 *                   (NULL for a read-only store)
 *     slip_watcher  watch all / a prefix / several prefixes, from the start
 *                   or from a cursor
 *                   (NULL when the backend cannot stream)
 *
 * Threading: connections, stores and role views may be shared between
 * threads; every call blocks. Watch calls block until the watch ends, so run
 * them on a thread of their own.
 *
 * Lifetime: a store holds a reference to its connection; slip_conn_free()
 * and slip_store_free() may be called in either order. After
 * slip_conn_close() every operation on the connection and its stores
 * returns SLIP_ENOTCONNECTED, and running watches end.
 */
#ifndef SLIPSTREAM_CONN_H
#define SLIPSTREAM_CONN_H

#include "chan.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct slip_conn slip_conn;
typedef struct slip_store slip_store;
typedef struct slip_reader slip_reader;
typedef struct slip_writer slip_writer;
typedef struct slip_watcher slip_watcher;

/* ------------------------------------------------------------- connection */

#define SLIP_CONN_OPTIONS_VERSION 1

/**
 * How to connect. Strings are copied by slip_conn_new(); the base64
 * credentials are held only in memory and wiped when the connection is
 * freed. Credentials, first match wins: creds → creds_file → user:pass@ in
 * the URL → none.
 */
typedef struct slip_conn_options {
	unsigned version;       /**< SLIP_CONN_OPTIONS_VERSION */
	const char *url;        /**< required; comma-separated for a cluster */
	const char *creds;      /**< base64 of a .creds file's content */
	const char *creds_file; /**< path of a .creds file */
	const char *tls_ca;     /**< CA certificate file for tls:// */
	int connect_timeout_ms; /**< 0 = 5000 */
	int op_timeout_ms;      /**< per request; 0 = 5000 */
	int reconnect_wait_ms;  /**< 0 = 250 */
	int max_reconnect;      /**< 0 = 60, -1 = forever */
} slip_conn_options;

#define SLIP_CONN_OPTIONS_INIT                                                 \
	{                                                                      \
		SLIP_CONN_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, 0  \
	}

/**
 * Validates the options and picks a backend by URL scheme; does no I/O.
 * @return SLIP_OK (caller owns *out), SLIP_EINVAL (bad URL, unknown scheme,
 * bad base64 creds), SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_conn_new(slip_conn **out, const slip_conn_options *opts);

/**
 * Connects. @return SLIP_OK, SLIP_EAUTH (with the server's reason),
 * SLIP_ETIMEOUT, SLIP_EIO (cannot reach), SLIP_EINVAL (unreadable
 * creds_file / tls_ca).
 */
SLIP_EXTERN int slip_conn_connect(slip_conn *conn);

/** slip_conn_new() + slip_conn_connect() with only a URL. */
SLIP_EXTERN int slip_connect(slip_conn **out, const char *url);

/**
 * Disconnects: running watches end, later operations on the connection and
 * its stores return SLIP_ENOTCONNECTED. Idempotent. The handle stays valid
 * until slip_conn_free().
 */
SLIP_EXTERN void slip_conn_close(slip_conn *conn);

/** Closes (if needed) and releases the caller's reference. NULL: no-op. */
SLIP_EXTERN void slip_conn_free(slip_conn *conn);

/** True between a successful connect and close. */
SLIP_EXTERN bool slip_conn_is_connected(slip_conn *conn);

/** Scheme of the backend in use ("nats", "mem"). Static storage. */
SLIP_EXTERN const char *slip_conn_backend_name(slip_conn *conn);

/**
 * What the connected backend can do, for the server actually reached.
 * @p out must be initialised with SLIP_CAPABILITIES_INIT (its version
 * field); every other field is overwritten. @return SLIP_OK,
 * SLIP_ENOTCONNECTED, or SLIP_EINVAL for a NULL argument or an unknown
 * struct version.
 */
SLIP_EXTERN int slip_conn_capabilities(slip_conn *conn, slip_capabilities *out);

/* ----------------------------------------------------------------- stores */

/**
 * Binds to an existing store. @return SLIP_OK (caller owns *out),
 * SLIP_ENOTFOUND, SLIP_EINVAL (bad name), SLIP_ENOTCONNECTED, ...
 */
SLIP_EXTERN int slip_store_open(slip_store **out, slip_conn *conn,
                                const char *name);

/**
 * Binds when the store exists with a matching configuration, creates it
 * otherwise. Never changes an existing store's configuration and never
 * deletes data: a mismatch is SLIP_ECONFIG naming the fields that differ.
 */
SLIP_EXTERN int slip_store_open_config(slip_store **out, slip_conn *conn,
                                       const slip_store_config *cfg);

/** Deletes a store and all its data. SLIP_ENOTFOUND when absent. */
SLIP_EXTERN int slip_store_delete(slip_conn *conn, const char *name);

/** Frees the store handle (not its data). NULL is a no-op. */
SLIP_EXTERN void slip_store_free(slip_store *store);

/** The store's name. Valid while the store lives. */
SLIP_EXTERN const char *slip_store_name(slip_store *store);

/** Live facts about the store (counts, sizes, config, identity). */
SLIP_EXTERN int slip_store_get_info(slip_store *store, slip_store_info *out);

/** Reader view; never NULL for an open store. Lives as long as the store. */
SLIP_EXTERN slip_reader *slip_store_reader(slip_store *store);

/** Writer view, or NULL for a read-only store. */
SLIP_EXTERN slip_writer *slip_store_writer(slip_store *store);

/** Watcher view, or NULL when the backend cannot stream. */
SLIP_EXTERN slip_watcher *slip_store_watcher(slip_store *store);

/* ----------------------------------------------------------------- reader */

/**
 * Latest live value of @p key. *out is NULL when the key is absent or its
 * latest entry is a tombstone (not an error: no message is set).
 * @return SLIP_OK (caller owns *out), SLIP_EINVAL, SLIP_ENOTCONNECTED, ...
 */
SLIP_EXTERN int slip_reader_get(slip_reader *r, const char *key,
                                slip_entry **out);

/**
 * Latest entry of @p key including tombstones: op is SLIP_OP_DELETE after a
 * delete and SLIP_OP_PURGE after a purge (a purge leaves one marker, as NATS
 * does); use its version for CAS after a delete. *out NULL when the key never
 * existed (or retention has removed even its marker). Caller owns *out.
 */
SLIP_EXTERN int slip_reader_entry(slip_reader *r, const char *key,
                                  slip_entry **out);

/**
 * Every live key starting with @p prefix ("" for all), in one pass over
 * the backend. Order is unspecified. Caller owns *out.
 */
SLIP_EXTERN int slip_reader_keys(slip_reader *r, const char *prefix,
                                 slip_key_list *out);

/** Every live entry whose key starts with @p prefix. Caller owns *out. */
SLIP_EXTERN int slip_reader_scan(slip_reader *r, const char *prefix,
                                 slip_entry_list *out);

/**
 * Callback for the streaming forms. It owns @p e (free it or keep it).
 * Return 0 to go on; any other value stops the pass and is returned.
 */
typedef int (*slip_entry_cb)(void *payload, slip_entry *e);

/**
 * Streaming scan: calls @p cb for each live entry under @p prefix without
 * building a list. With @p keys_only the entries carry no value.
 * entry->pending counts what is left (for progress display).
 */
SLIP_EXTERN int slip_reader_scan_each(slip_reader *r, const char *prefix,
                                      bool keys_only, slip_entry_cb cb,
                                      void *payload);

/**
 * slip_reader_scan_each() over the union of @p count prefixes (at most
 * SLIP_PREFIXES_MAX; overlapping ones deliver each key once), in one pass
 * over the backend where it can filter on several subjects at once.
 */
SLIP_EXTERN int slip_reader_scan_each_prefixes(slip_reader *r,
                                               const char *const *prefixes,
                                               size_t count, bool keys_only,
                                               slip_entry_cb cb, void *payload);

/* ----------------------------------------------------------------- writer */

/**
 * Unconditional write. *out_version (optional) gets the new revision.
 * @return SLIP_OK, SLIP_EINVAL, SLIP_ETOOBIG, SLIP_ENOTCONNECTED, ...
 */
SLIP_EXTERN int slip_writer_put(slip_writer *w, const char *key,
                                const void *value, size_t len,
                                slip_version *out_version);

/**
 * Writes only if the key is absent or its latest entry is a tombstone.
 * @return SLIP_OK, SLIP_EEXISTS on a live value, ...
 */
SLIP_EXTERN int slip_writer_create(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   slip_version *out_version);

/**
 * Writes only if the key's latest revision is @p expected. An expected
 * revision of 0 (slip_version_from_u64(0)) matches a key that holds
 * nothing, so the update then creates it, on every backend (NATS: expected
 * last subject sequence 0); unlike create it does not match a tombstone.
 * @return SLIP_OK, SLIP_EREVISION on conflict, ...
 */
SLIP_EXTERN int slip_writer_update(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   const slip_version *expected,
                                   slip_version *out_version);

/** Writes a tombstone; succeeds even when the key never existed. */
SLIP_EXTERN int slip_writer_delete(slip_writer *w, const char *key);

/**
 * Writes a tombstone only if the key's latest revision is @p expected.
 * @return SLIP_OK, SLIP_EREVISION on conflict, ...
 */
SLIP_EXTERN int slip_writer_delete_version(slip_writer *w, const char *key,
                                           const slip_version *expected);

/** Removes the key's whole history; watchers see a Purge. */
SLIP_EXTERN int slip_writer_purge(slip_writer *w, const char *key);

/* ------------------------------------------------------- per-key TTL */

/** Shortest per-key TTL in ms (nats-server refuses less than 1 s). */
#define SLIP_TTL_MIN_MS 1000

/**
 * As slip_writer_put(), and the key expires @p ttl_ms after the write
 * (>= SLIP_TTL_MIN_MS). The store must allow per-key TTL: created with
 * slip_store_config.marker_ttl_ms > 0 (NATS: nats-server >= 2.11 with
 * allow_msg_ttl). A TTL below the store's marker TTL is raised to it, as
 * nats-server does. When the key expires its removal reaches readers and
 * watchers as a Purge (a limit marker).
 * @return as slip_writer_put(); SLIP_EINVAL for a TTL below the minimum;
 * SLIP_EUNSUPPORTED, before anything is sent, when the backend, server or
 * store has no per-key TTL.
 */
SLIP_EXTERN int slip_writer_put_ttl(slip_writer *w, const char *key,
                                    const void *value, size_t len,
                                    int64_t ttl_ms, slip_version *out_version);

/** As slip_writer_create() with a per-key TTL (see slip_writer_put_ttl). */
SLIP_EXTERN int slip_writer_create_ttl(slip_writer *w, const char *key,
                                       const void *value, size_t len,
                                       int64_t ttl_ms,
                                       slip_version *out_version);

/**
 * As slip_writer_purge(); the purge marker itself is removed
 * @p marker_ttl_ms later (>= SLIP_TTL_MIN_MS), as the official clients'
 * purge with a TTL does. Errors as slip_writer_put_ttl().
 */
SLIP_EXTERN int slip_writer_purge_ttl(slip_writer *w, const char *key,
                                      int64_t marker_ttl_ms);

/* ---------------------------------------------------------------- watcher */

/**
 * Version 2 added prefixes / prefix_count. Version 1 structs (compiled
 * against an older header, without those members) are still accepted.
 */
#define SLIP_WATCH_OPTIONS_VERSION 2

/** Watch flag: send a SLIP_OP_CAUGHT_UP marker once caught up. */
#define SLIP_WATCH_MARKERS 0x1u

/** Most prefixes one watch, scan or keys call takes. */
#define SLIP_PREFIXES_MAX 256

/** What to watch and from where. Strings borrowed for the call. */
typedef struct slip_watch_options {
	unsigned version;   /**< SLIP_WATCH_OPTIONS_VERSION */
	const char *prefix; /**< NULL or "" = every key */
	/**
	 * NULL or none: deliver the current state (latest entry per key,
	 * tombstones included) then live updates. Otherwise only updates
	 * after the cursor, or SLIP_ECURSOREXPIRED when the backend can no
	 * longer prove it holds every update after it.
	 */
	const slip_cursor *from;
	unsigned flags; /**< SLIP_WATCH_* */
	/**
	 * Since version 2: watch the union of @c prefix_count prefixes (at
	 * most SLIP_PREFIXES_MAX) as one ordered stream with one cursor,
	 * instead of @c prefix (which must then be NULL). Overlapping
	 * prefixes ("a." and "a.b.") deliver each update once; an "" in the
	 * list means every key. prefix_count 0 = use @c prefix.
	 */
	const char *const *prefixes;
	size_t prefix_count;
} slip_watch_options;

#define SLIP_WATCH_OPTIONS_INIT                                                \
	{                                                                      \
		SLIP_WATCH_OPTIONS_VERSION, NULL, NULL, 0, NULL, 0             \
	}

/**
 * Streams updates into @p tx in revision order, each exactly once, until
 * the receiver closes @p tx (returns SLIP_OK) or the stream fails.
 * Every delivered entry carries the cursor to resume after it. Blocks; the
 * sending side of @p tx is closed when this returns.
 * @return SLIP_OK (receiver closed), SLIP_ECURSOREXPIRED, SLIP_EWATCH
 * (server stream lost: resubscribe from your cursor), SLIP_ENOTCONNECTED,
 * SLIP_EINVAL.
 */
SLIP_EXTERN int slip_watch(slip_watcher *w, const slip_watch_options *opts,
                           slip_chan *tx);

/** slip_watch() over every key from the beginning. */
SLIP_EXTERN int slip_watch_all(slip_watcher *w, slip_chan *tx);
/** slip_watch() over keys starting with @p prefix from the beginning. */
SLIP_EXTERN int slip_watch_prefix(slip_watcher *w, const char *prefix,
                                  slip_chan *tx);
/** slip_watch() over every key after @p cursor. */
SLIP_EXTERN int slip_watch_all_from(slip_watcher *w, const slip_cursor *cursor,
                                    slip_chan *tx);
/** slip_watch() over keys starting with @p prefix after @p cursor. */
SLIP_EXTERN int slip_watch_prefix_from(slip_watcher *w, const char *prefix,
                                       const slip_cursor *cursor,
                                       slip_chan *tx);
/**
 * slip_watch() over the union of @p count prefixes, from the beginning
 * (@p cursor NULL or none) or after @p cursor: one stream, one cursor.
 */
SLIP_EXTERN int slip_watch_prefixes(slip_watcher *w,
                                    const char *const *prefixes, size_t count,
                                    const slip_cursor *cursor, slip_chan *tx);

#ifdef __cplusplus
}
#endif
#endif
