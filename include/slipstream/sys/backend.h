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
#include "../types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLIP_BACKEND_VERSION 1

/** store_open out_roles bits. */
#define SLIP_ROLE_WRITE 0x1u /**< the store is writable */
#define SLIP_ROLE_WATCH 0x2u /**< the store can stream (watch) */

typedef struct slip_backend {
	/** Must be SLIP_BACKEND_VERSION. */
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
} slip_backend;

/**
 * Makes a backend available to slip_conn_new() for its schemes. The table
 * must outlive every connection using it (static storage). Built-in
 * backends ("mem", and "nats,tls" when built with libnats) are always
 * registered. @return SLIP_OK, SLIP_EINVAL (bad version, missing member,
 * scheme already taken), SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_backend_register(const slip_backend *backend);

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
