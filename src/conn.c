/*
 * src/conn.c — connections and stores behind conn.h: options and URL
 * checks, connect / close / free with the connected state tracked here,
 * reference counting (a store holds its connection), store open / delete /
 * info, and the role views a store vends.
 *
 * Calls before connect or after close fail with SLIP_ENOTCONNECTED without
 * reaching the backend (backends still enforce it, for calls racing with
 * close). The reader, writer and watcher calls are in dispatch.c, the
 * scheme registry in registry.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "conn_internal.h"
#include "quote.h"

/* ============================================================= connection */

/*
 * Copies @p url into @p buf for an error message with any user:password@
 * replaced by "***@", so credentials never reach a log, then quotes it.
 */
static const char *redact_url(char *buf, const char *url)
{
	char tmp[SLIP_QUOTE_BUF];
	size_t o = 0;
	const char *p = url;

	/* One comma-separated member per turn; stop when tmp is nearly full. */
	while (*p != '\0' && o + 8 < sizeof(tmp)) {
		const char *end = p + strcspn(p, ",");
		const char *sep = strstr(p, "://");
		const char *auth = sep != NULL && sep < end ? sep + 3 : p;
		const char *at = NULL;

		/* The last '@' of the member: passwords may hold '/' or '@'. */
		for (const char *x = auth; x < end; x++)
			if (*x == '@')
				at = x;
		while (p < auth && o + 8 < sizeof(tmp))
			tmp[o++] = *p++;
		if (at != NULL && p == auth) {
			memcpy(tmp + o, "***", 3);
			o += 3;
			p = at;
		}
		while (p < end && o + 8 < sizeof(tmp))
			tmp[o++] = *p++;
		if (*p == ',' && o + 8 < sizeof(tmp))
			tmp[o++] = *p++;
	}
	tmp[o] = '\0';
	return slip__quote(buf, tmp);
}

/*
 * Finds the scheme of @p url (of its first member when comma-separated):
 * the text before "://". @return SLIP_OK with *scheme / *len set, or
 * SLIP_EINVAL with a message.
 */
static int parse_scheme(const char *url, const char **scheme, size_t *len)
{
	char q[SLIP_QUOTE_BUF];
	const char *sep = strstr(url, "://");
	const char *comma = strchr(url, ',');

	if (sep == NULL || (comma != NULL && comma < sep))
		return slip_set_error(SLIP_EINVAL,
		                      "conn_new: URL \"%s\" has no scheme "
		                      "(expected e.g. nats://host:4222 or "
		                      "mem://name)",
		                      redact_url(q, url));
	if (!slip__scheme_valid(url, (size_t)(sep - url)))
		return slip_set_error(
		        SLIP_EINVAL, "conn_new: malformed URL scheme in \"%s\"",
		        redact_url(q, url));
	*scheme = url;
	*len = (size_t)(sep - url);
	return SLIP_OK;
}

/*
 * Control characters are never part of a URL; spaces only next to the
 * commas of a cluster list ("nats://a:4222, nats://b:4222").
 */
static bool url_char_ok(const char *url, size_t i)
{
	unsigned char c = (unsigned char)url[i];
	size_t l = i, r = i;

	if (c != ' ')
		return c > 0x20 && c != 0x7f;
	while (l > 0 && url[l - 1] == ' ')
		l--;
	while (url[r] == ' ')
		r++;
	return (l > 0 && url[l - 1] == ',') || url[r] == ',';
}

/* Rejects options a backend should never have to think about. */
static int check_conn_options(const slip_conn_options *o)
{
	char q[SLIP_QUOTE_BUF];

	if (slip__version_check(o->version, SLIP_CONN_OPTIONS_VERSION,
	                        "conn_new: options",
	                        "SLIP_CONN_OPTIONS_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (o->url == NULL || o->url[0] == '\0')
		return slip_set_error(SLIP_EINVAL, "conn_new: no URL");
	for (size_t i = 0; o->url[i] != '\0'; i++)
		if (!url_char_ok(o->url, i))
			return slip_set_error(SLIP_EINVAL,
			                      "conn_new: URL \"%s\" contains a "
			                      "space or control character at "
			                      "offset %zu",
			                      redact_url(q, o->url), i);
	if (o->connect_timeout_ms < 0 || o->op_timeout_ms < 0 ||
	    o->reconnect_wait_ms < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "conn_new: timeouts must be >= 0 "
		                      "(0 = default)");
	if (o->max_reconnect < -1)
		return slip_set_error(SLIP_EINVAL,
		                      "conn_new: max_reconnect %d (use -1 for "
		                      "forever, 0 for the default)",
		                      o->max_reconnect);
	if (o->creds != NULL) {
		uint8_t *buf;
		size_t len;
		int rc = slip__base64_decode(o->creds, &buf, &len);

		if (rc != SLIP_OK)
			return slip_set_error(rc, "conn_new: creds: %s",
			                      slip_last_error());
		slip__wipe(buf, len);
		free(buf);
	}
	return SLIP_OK;
}

SLIP_EXTERN int slip_conn_new(slip_conn **out, const slip_conn_options *opts)
{
	char q[SLIP_QUOTE_BUF];
	const slip_backend *be;
	const char *scheme = NULL;
	slip_conn *conn = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL || opts == NULL)
		return slip_set_error(SLIP_EINVAL, "conn_new: NULL argument");
	*out = NULL;
	rc = check_conn_options(opts);
	if (rc != SLIP_OK)
		return rc;
	rc = parse_scheme(opts->url, &scheme, &len);
	if (rc != SLIP_OK)
		return rc;
	be = slip__backend_find(scheme, len);
	if (be == NULL)
		return slip_set_error(
		        SLIP_EINVAL, "unknown URL scheme \"%.*s\" in \"%s\"",
		        (int)len, scheme, redact_url(q, opts->url));
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return slip_set_error(SLIP_ENOMEM, "conn_new: out of memory");
	conn->be = be;
	atomic_init(&conn->state, CONN_NEW);
	atomic_init(&conn->refs, 1);
	pthread_mutex_init(&conn->connect_mu, NULL);
	rc = be->conn_new(&conn->impl, opts);
	if (rc != SLIP_OK) {
		pthread_mutex_destroy(&conn->connect_mu);
		free(conn);
		return rc;
	}
	*out = conn;
	return SLIP_OK;
}

SLIP_EXTERN int slip_conn_connect(slip_conn *conn)
{
	int rc, expected = CONN_NEW;

	if (conn == NULL)
		return slip_set_error(SLIP_EINVAL, "connect: NULL connection");
	pthread_mutex_lock(&conn->connect_mu);
	switch (atomic_load(&conn->state)) {
	case CONN_CONNECTED:
		rc = SLIP_OK;
		goto done;
	case CONN_CLOSED:
		rc = slip_set_error(SLIP_ENOTCONNECTED,
		                    "connect: the connection was closed; "
		                    "create a new one");
		goto done;
	default:
		break;
	}
	rc = conn->be->connect(conn->impl);
	if (rc != SLIP_OK)
		goto done;
	/* A close that raced with connect wins: undo the connect. */
	if (!atomic_compare_exchange_strong(&conn->state, &expected,
	                                    CONN_CONNECTED)) {
		conn->be->close(conn->impl);
		rc = slip_set_error(SLIP_ENOTCONNECTED,
		                    "connect: closed while connecting");
	}
done:
	pthread_mutex_unlock(&conn->connect_mu);
	return rc;
}

SLIP_EXTERN int slip_connect(slip_conn **out, const char *url)
{
	slip_conn_options opts = SLIP_CONN_OPTIONS_INIT;
	char msg[1024];
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "connect: NULL out");
	*out = NULL;
	opts.url = url;
	rc = slip_conn_new(out, &opts);
	if (rc != SLIP_OK)
		return rc;
	rc = slip_conn_connect(*out);
	if (rc != SLIP_OK) {
		/* Freeing may touch the last error: keep the connect one. */
		snprintf(msg, sizeof(msg), "%s", slip_last_error());
		slip_conn_free(*out);
		*out = NULL;
		slip_set_error(rc, "%s", msg);
	}
	return rc;
}

SLIP_EXTERN void slip_conn_close(slip_conn *conn)
{
	if (conn == NULL)
		return;
	if (atomic_exchange(&conn->state, CONN_CLOSED) != CONN_CLOSED)
		conn->be->close(conn->impl);
}

static void conn_ref(slip_conn *conn)
{
	atomic_fetch_add(&conn->refs, 1);
}

static void conn_unref(slip_conn *conn)
{
	if (atomic_fetch_sub(&conn->refs, 1) != 1)
		return;
	/* Last reference: every store of this connection is gone. */
	slip_conn_close(conn);
	conn->be->conn_free(conn->impl);
	pthread_mutex_destroy(&conn->connect_mu);
	free(conn);
}

SLIP_EXTERN void slip_conn_free(slip_conn *conn)
{
	if (conn == NULL)
		return;
	slip_conn_close(conn);
	conn_unref(conn);
}

SLIP_EXTERN bool slip_conn_is_connected(slip_conn *conn)
{
	return conn != NULL && atomic_load(&conn->state) == CONN_CONNECTED;
}

SLIP_EXTERN const char *slip_conn_backend_name(slip_conn *conn)
{
	return conn == NULL ? "" : conn->be->name;
}

int slip__conn_check(slip_conn *conn, const char *op, const char *what)
{
	char q[SLIP_QUOTE_BUF];
	int st = atomic_load(&conn->state);

	if (st == CONN_CONNECTED)
		return SLIP_OK;
	return slip_set_error(SLIP_ENOTCONNECTED,
	                      "%s%s%s%s: not connected (%s)", op,
	                      what != NULL ? " \"" : "",
	                      what != NULL ? slip__quote(q, what) : "",
	                      what != NULL ? "\"" : "",
	                      st == CONN_NEW ? "call slip_conn_connect first"
	                                     : "the connection was closed");
}

SLIP_EXTERN int slip_conn_capabilities(slip_conn *conn, slip_capabilities *out)
{
	int rc;

	slip_capabilities caps = SLIP_CAPABILITIES_INIT;

	if (conn == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "capabilities: NULL argument");
	/* Version 1 is the only layout so far; a later one is checked here
	 * and gets only the fields it knows. */
	if (out->version != SLIP_CAPABILITIES_VERSION)
		return slip_set_error(
		        SLIP_EINVAL,
		        "capabilities: struct version %u, expected %u "
		        "(initialise it with SLIP_CAPABILITIES_INIT)",
		        out->version, (unsigned)SLIP_CAPABILITIES_VERSION);
	rc = slip__conn_check(conn, "capabilities", NULL);
	if (rc != SLIP_OK)
		return rc;
	conn->be->capabilities(conn->impl, &caps);
	caps.version = SLIP_CAPABILITIES_VERSION;
	caps.server_version[sizeof(caps.server_version) - 1] = '\0';
	caps.note[sizeof(caps.note) - 1] = '\0';
	*out = caps;
	return SLIP_OK;
}

/* ================================================================= stores */

int slip__with_op(int rc, const char *op)
{
	if (rc == SLIP_OK)
		return rc;
	return slip_set_error(rc, "%s: %s", op, slip_last_error());
}

static int check_config(const slip_store_config *cfg)
{
	const char *field = NULL;

	if (slip__version_check(cfg->version, SLIP_STORE_CONFIG_VERSION,
	                        "store_open: config",
	                        "SLIP_STORE_CONFIG_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (cfg->storage != SLIP_STORAGE_FILE &&
	    cfg->storage != SLIP_STORAGE_MEMORY)
		field = "storage (file or memory)";
	else if (cfg->max_bytes < -1)
		field = "max_bytes (>= -1)";
	else if (cfg->max_history < 0 || cfg->max_history > 64)
		field = "max_history (0..64)";
	else if (cfg->max_age_ms < 0)
		field = "max_age_ms (>= 0)";
	else if (cfg->num_replicas < 0 || cfg->num_replicas > 5)
		field = "num_replicas (0..5)";
	else if (cfg->max_value_size < -1)
		field = "max_value_size (>= -1)";
	else if (cfg->version >= 2 && cfg->marker_ttl_ms != 0 &&
	         (cfg->marker_ttl_ms < SLIP_TTL_MIN_MS ||
	          cfg->marker_ttl_ms > INT64_MAX / 1000000))
		field = "marker_ttl_ms (0, or >= 1000)";
	if (field != NULL)
		return slip_set_error(SLIP_EINVAL, "store_open \"%s\": bad %s",
		                      cfg->name, field);
	return SLIP_OK;
}

/* Opens a store; @p cfg NULL binds only. Validation is the caller's. */
static int store_open(slip_store **out, slip_conn *conn, const char *name,
                      const slip_store_config *cfg)
{
	size_t len = strlen(name);
	slip_store *s;
	int rc;

	rc = slip__conn_check(conn, "store_open", name);
	if (rc != SLIP_OK)
		return rc;
	s = calloc(1, sizeof(*s) + len + 1);
	if (s == NULL)
		return slip_set_error(SLIP_ENOMEM, "store_open: out of memory");
	memcpy(s->name, name, len + 1);
	rc = conn->be->store_open(conn->impl, name, cfg, &s->impl, &s->roles);
	if (rc != SLIP_OK) {
		free(s);
		return rc;
	}
	conn_ref(conn);
	s->conn = conn;
	s->reader.store = s;
	s->writer.store = s;
	s->watcher.store = s;
	*out = s;
	return SLIP_OK;
}

SLIP_EXTERN int slip_store_open(slip_store **out, slip_conn *conn,
                                const char *name)
{
	if (out == NULL || conn == NULL)
		return slip_set_error(SLIP_EINVAL, "store_open: NULL argument");
	*out = NULL;
	if (slip_bucket_validate(name) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, "store_open");
	return store_open(out, conn, name, NULL);
}

SLIP_EXTERN int slip_store_open_config(slip_store **out, slip_conn *conn,
                                       const slip_store_config *cfg)
{
	if (out == NULL || conn == NULL || cfg == NULL)
		return slip_set_error(SLIP_EINVAL, "store_open: NULL argument");
	*out = NULL;
	if (slip_bucket_validate(cfg->name) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, "store_open");
	if (check_config(cfg) != SLIP_OK)
		return SLIP_EINVAL;
	/* Backends always see the current layout: the fields an older
	 * caller's struct lacks keep their defaults (read only up to what
	 * its version holds). */
	slip_store_config full = SLIP_STORE_CONFIG_INIT;
	size_t have = cfg->version >= 2
	                      ? sizeof(full)
	                      : offsetof(slip_store_config, marker_ttl_ms);
	memcpy(&full, cfg, have);
	full.version = SLIP_STORE_CONFIG_VERSION;
	return store_open(out, conn, full.name, &full);
}

SLIP_EXTERN int slip_store_delete(slip_conn *conn, const char *name)
{
	int rc;

	if (conn == NULL)
		return slip_set_error(SLIP_EINVAL, "store_delete: NULL conn");
	if (slip_bucket_validate(name) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, "store_delete");
	rc = slip__conn_check(conn, "store_delete", name);
	if (rc != SLIP_OK)
		return rc;
	if (conn->be->store_delete == NULL)
		return slip_set_error(
		        SLIP_EUNSUPPORTED,
		        "store_delete \"%s\": backend \"%s\" cannot "
		        "delete stores",
		        name, conn->be->name);
	return conn->be->store_delete(conn->impl, name);
}

SLIP_EXTERN void slip_store_free(slip_store *store)
{
	if (store == NULL)
		return;
	store->conn->be->store_free(store->impl);
	conn_unref(store->conn);
	free(store);
}

SLIP_EXTERN const char *slip_store_name(slip_store *store)
{
	return store == NULL ? "" : store->name;
}

SLIP_EXTERN int slip_store_get_info(slip_store *store, slip_store_info *out)
{
	int rc;

	if (store == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL, "store_info: NULL argument");
	memset(out, 0, sizeof(*out));
	rc = slip__conn_check(store->conn, "store_info", store->name);
	if (rc != SLIP_OK)
		return rc;
	if (store->conn->be->store_info == NULL)
		return slip_set_error(SLIP_EUNSUPPORTED,
		                      "store_info \"%s\": not supported by "
		                      "backend \"%s\"",
		                      store->name, store->conn->be->name);
	return store->conn->be->store_info(store->impl, out);
}

SLIP_EXTERN slip_reader *slip_store_reader(slip_store *store)
{
	return store == NULL ? NULL : &store->reader;
}

SLIP_EXTERN slip_writer *slip_store_writer(slip_store *store)
{
	if (store == NULL || !(store->roles & SLIP_ROLE_WRITE) ||
	    store->conn->be->put == NULL)
		return NULL;
	return &store->writer;
}

SLIP_EXTERN slip_watcher *slip_store_watcher(slip_store *store)
{
	if (store == NULL || !(store->roles & SLIP_ROLE_WATCH) ||
	    store->conn->be->watch == NULL)
		return NULL;
	return &store->watcher;
}

SLIP_EXTERN void *slip_store_impl(slip_store *store,
                                  const slip_backend *backend)
{
	if (store == NULL || !slip__backend_is(store->conn->be, backend))
		return NULL;
	return store->impl;
}

SLIP_EXTERN int slip_store_check_connected(slip_store *store, const char *op)
{
	return slip__conn_check(store->conn, op, store->name);
}
