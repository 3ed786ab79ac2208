/*
 * src/conn_internal.h — what the core's connection files share: the
 * connection and store objects behind the public handles, the registry
 * lookup, and the checks every dispatching call makes.
 *
 *   registry.c   scheme → backend table
 *   conn.c       connections and stores (lifecycle, refcounts, state)
 *   dispatch.c   reader, writer and watcher calls: validate, then dispatch
 */
#ifndef SLIP_CONN_INTERNAL_H
#define SLIP_CONN_INTERNAL_H

#include <stdatomic.h>
#include <pthread.h>

#include "internal.h"

enum conn_state { CONN_NEW = 0, CONN_CONNECTED = 1, CONN_CLOSED = 2 };

struct slip_conn {
	const slip_backend *be;
	void *impl;
	atomic_int state;
	/* One reference for the caller, one per open store. */
	atomic_size_t refs;
	/* Serialises connect calls; close never takes it. */
	pthread_mutex_t connect_mu;
};

/* Role views: embedded in the store, each pointing back to it. */
struct slip_reader {
	slip_store *store;
};
struct slip_writer {
	slip_store *store;
};
struct slip_watcher {
	slip_store *store;
};

struct slip_store {
	slip_conn *conn;
	void *impl;
	unsigned roles;
	struct slip_reader reader;
	struct slip_writer writer;
	struct slip_watcher watcher;
	char name[]; /* NUL-terminated */
};

/** The backend serving URL scheme @p scheme (@p len bytes), or NULL. */
const slip_backend *slip__backend_find(const char *scheme, size_t len);

/**
 * True when @p used (a connection's table) is @p given, or the registry's
 * copy of it (slip_backend_register() copies run-time tables).
 */
bool slip__backend_is(const slip_backend *used, const slip_backend *given);

/** RFC 3986 scheme syntax: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
bool slip__scheme_valid(const char *s, size_t len);

/**
 * SLIP_OK while @p conn is connected, else SLIP_ENOTCONNECTED with a
 * message naming @p op and, when not NULL, @p what (a key or store name).
 */
int slip__conn_check(slip_conn *conn, const char *op, const char *what);

/**
 * Prefixes the last error message with "@p op: " and returns @p rc, so a
 * validator's message says which call rejected the input.
 */
int slip__with_op(int rc, const char *op);

#endif
