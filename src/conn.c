/*
 * src/conn.c — the backend registry and the dispatch layer behind conn.h.
 *
 *   registry   built-in tables (static list) plus slip_backend_register()
 *   connection slip_conn_new / connect / close / free, refcounted
 *   stores     open / open_config / delete / info, role views
 *   reader     get / entry / keys / scan / scan_each
 *   writer     put / create / update / delete / delete_version / purge
 *   watcher    slip_watch and its four convenience forms
 *
 * Every argument is validated here before a backend sees it, so backends
 * only ever receive well-formed keys, prefixes, names, versions and
 * cursors. The connected state is tracked here too: calls before connect or
 * after close fail with SLIP_ENOTCONNECTED without reaching the backend
 * (backends still enforce it themselves, for calls racing with close).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends.h"
#include "internal.h"
#include "quote.h"

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

/* ================================================================ registry */

static const slip_backend *const builtin_backends[] = {
        &slip__backend_memory,
#ifdef SLIP_HAVE_NATS
        &slip__backend_nats,
#endif
};
#define N_BUILTIN (sizeof(builtin_backends) / sizeof(builtin_backends[0]))

/* Backends added at run time; append-only, guarded by registry_mu. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static const slip_backend **registered;
static size_t n_registered, cap_registered;

/* Scheme characters as RFC 3986 allows them: ALPHA *( ALPHA DIGIT + - . ) */
static bool scheme_valid(const char *s, size_t len)
{
	if (len == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/*
 * Calls @p fn for each comma-separated token of @p list (spaces trimmed);
 * stops and returns true as soon as @p fn does.
 */
static bool each_scheme(const char *list,
                        bool (*fn)(const char *tok, size_t len, void *arg),
                        void *arg)
{
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *tok = p;

		while (len > 0 && *tok == ' ') {
			tok++;
			len--;
		}
		while (len > 0 && tok[len - 1] == ' ')
			len--;
		if (fn(tok, len, arg))
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

struct scheme_query {
	const char *scheme;
	size_t len;
};

static bool scheme_equal(const char *tok, size_t len, void *arg)
{
	const struct scheme_query *q = arg;

	return len == q->len && strncasecmp(tok, q->scheme, len) == 0;
}

static bool backend_accepts(const slip_backend *be, const char *scheme,
                            size_t len)
{
	struct scheme_query q = {scheme, len};

	return each_scheme(be->schemes, scheme_equal, &q);
}

/* The backend for @p scheme (@p len bytes), or NULL. */
static const slip_backend *find_backend(const char *scheme, size_t len)
{
	const slip_backend *found = NULL;

	for (size_t i = 0; i < N_BUILTIN; i++)
		if (backend_accepts(builtin_backends[i], scheme, len))
			return builtin_backends[i];
	pthread_mutex_lock(&registry_mu);
	for (size_t i = 0; i < n_registered && found == NULL; i++)
		if (backend_accepts(registered[i], scheme, len))
			found = registered[i];
	pthread_mutex_unlock(&registry_mu);
	return found;
}

/* each_scheme() callback: true (stop) on a malformed or taken scheme. */
static bool scheme_unusable(const char *tok, size_t len, void *arg)
{
	const slip_backend *be = arg;
	const slip_backend *owner;

	if (!scheme_valid(tok, len)) {
		slip_set_error(SLIP_EINVAL,
		               "backend_register \"%s\": malformed scheme "
		               "\"%.*s\" in \"%s\"",
		               be->name, (int)len, tok, be->schemes);
		return true;
	}
	/* Called with registry_mu held: look at both lists directly. */
	owner = NULL;
	for (size_t i = 0; i < N_BUILTIN && owner == NULL; i++)
		if (backend_accepts(builtin_backends[i], tok, len))
			owner = builtin_backends[i];
	for (size_t i = 0; i < n_registered && owner == NULL; i++)
		if (backend_accepts(registered[i], tok, len))
			owner = registered[i];
	if (owner != NULL) {
		slip_set_error(SLIP_EINVAL,
		               "backend_register \"%s\": scheme \"%.*s\" is "
		               "already taken by backend \"%s\"",
		               be->name, (int)len, tok, owner->name);
		return true;
	}
	return false;
}

/* Checks the members a table must provide; writer members all-or-none. */
static int check_table(const slip_backend *be)
{
	const char *missing = NULL;
	int writers;

	if (be->version != SLIP_BACKEND_VERSION)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register: table version %u, this "
		        "library speaks version %u",
		        be->version, (unsigned)SLIP_BACKEND_VERSION);
	if (be->name == NULL || be->name[0] == '\0')
		return slip_set_error(SLIP_EINVAL,
		                      "backend_register: table has no name");
	if (be->schemes == NULL || be->schemes[0] == '\0')
		return slip_set_error(SLIP_EINVAL,
		                      "backend_register \"%s\": no URL schemes",
		                      be->name);
#define REQUIRE_MEMBER(m)                                                      \
	if (missing == NULL && be->m == NULL)                                  \
		missing = #m;
	REQUIRE_MEMBER(conn_new)
	REQUIRE_MEMBER(connect)
	REQUIRE_MEMBER(close)
	REQUIRE_MEMBER(conn_free)
	REQUIRE_MEMBER(capabilities)
	REQUIRE_MEMBER(store_open)
	REQUIRE_MEMBER(store_free)
	REQUIRE_MEMBER(get)
	REQUIRE_MEMBER(entry)
	REQUIRE_MEMBER(keys)
	REQUIRE_MEMBER(scan)
#undef REQUIRE_MEMBER
	if (missing != NULL)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register \"%s\": required member "
		        "%s is NULL",
		        be->name, missing);
	writers = (be->put != NULL) + (be->create != NULL) +
	          (be->update != NULL) + (be->del != NULL) +
	          (be->delete_version != NULL) + (be->purge != NULL);
	if (writers != 0 && writers != 6)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register \"%s\": writer members "
		        "(put, create, update, del, delete_version, "
		        "purge) must all be set or all be NULL",
		        be->name);
	return SLIP_OK;
}

SLIP_EXTERN int slip_backend_register(const slip_backend *backend)
{
	int rc;

	if (backend == NULL)
		return slip_set_error(SLIP_EINVAL, "backend_register: NULL");
	rc = check_table(backend);
	if (rc != SLIP_OK)
		return rc;
	pthread_mutex_lock(&registry_mu);
	if (each_scheme(backend->schemes, scheme_unusable, (void *)backend)) {
		rc = SLIP_EINVAL; /* message set by scheme_unusable */
		goto done;
	}
	if (n_registered == cap_registered) {
		size_t cap = cap_registered == 0 ? 4 : 2 * cap_registered;
		const slip_backend **grown =
		        realloc(registered, cap * sizeof(*grown));

		if (grown == NULL) {
			rc = slip_set_error(SLIP_ENOMEM,
			                    "backend_register: out of memory");
			goto done;
		}
		registered = grown;
		cap_registered = cap;
	}
	registered[n_registered++] = backend;
done:
	pthread_mutex_unlock(&registry_mu);
	return rc;
}

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
	if (!scheme_valid(url, (size_t)(sep - url)))
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

	if (o->version != SLIP_CONN_OPTIONS_VERSION)
		return slip_set_error(
		        SLIP_EINVAL,
		        "conn_new: options version %u, expected "
		        "%u (initialise with SLIP_CONN_OPTIONS_INIT)",
		        o->version, (unsigned)SLIP_CONN_OPTIONS_VERSION);
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
	be = find_backend(scheme, len);
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

/* SLIP_ENOTCONNECTED with a message unless @p conn is connected. */
static int conn_check(slip_conn *conn, const char *op, const char *what)
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

	if (conn == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "capabilities: NULL argument");
	memset(out, 0, sizeof(*out));
	rc = conn_check(conn, "capabilities", NULL);
	if (rc != SLIP_OK)
		return rc;
	conn->be->capabilities(conn->impl, out);
	out->note[sizeof(out->note) - 1] = '\0';
	return SLIP_OK;
}

/* ================================================================= stores */

/* Prefixes the message of a failed validation with the operation name. */
static int with_op(int rc, const char *op)
{
	if (rc == SLIP_OK)
		return rc;
	return slip_set_error(rc, "%s: %s", op, slip_last_error());
}

static int check_config(const slip_store_config *cfg)
{
	const char *field = NULL;

	if (cfg->version != SLIP_STORE_CONFIG_VERSION)
		return slip_set_error(
		        SLIP_EINVAL,
		        "store_open: config version %u, expected "
		        "%u (initialise with SLIP_STORE_CONFIG_INIT)",
		        cfg->version, (unsigned)SLIP_STORE_CONFIG_VERSION);
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

	rc = conn_check(conn, "store_open", name);
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
		return with_op(SLIP_EINVAL, "store_open");
	return store_open(out, conn, name, NULL);
}

SLIP_EXTERN int slip_store_open_config(slip_store **out, slip_conn *conn,
                                       const slip_store_config *cfg)
{
	if (out == NULL || conn == NULL || cfg == NULL)
		return slip_set_error(SLIP_EINVAL, "store_open: NULL argument");
	*out = NULL;
	if (slip_bucket_validate(cfg->name) != SLIP_OK)
		return with_op(SLIP_EINVAL, "store_open");
	if (check_config(cfg) != SLIP_OK)
		return SLIP_EINVAL;
	return store_open(out, conn, cfg->name, cfg);
}

SLIP_EXTERN int slip_store_delete(slip_conn *conn, const char *name)
{
	int rc;

	if (conn == NULL)
		return slip_set_error(SLIP_EINVAL, "store_delete: NULL conn");
	if (slip_bucket_validate(name) != SLIP_OK)
		return with_op(SLIP_EINVAL, "store_delete");
	rc = conn_check(conn, "store_delete", name);
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
	rc = conn_check(store->conn, "store_info", store->name);
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

void *slip__store_impl(slip_store *store, const slip_backend *backend)
{
	if (store == NULL || store->conn->be != backend)
		return NULL;
	return store->impl;
}

int slip__store_check_connected(slip_store *store, const char *op)
{
	return conn_check(store->conn, op, store->name);
}

/* ================================================================= reader */

/*
 * Common checks of a keyed call: handle, key, connection. Returns the
 * store through @p out.
 */
static int keyed(slip_store *s, const char *op, const char *key)
{
	if (s == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL handle", op);
	if (slip_key_validate(key) != SLIP_OK)
		return with_op(SLIP_EINVAL, op);
	return conn_check(s->conn, op, key);
}

static int read_one(slip_reader *r, const char *op, const char *key,
                    slip_entry **out, bool tombstones)
{
	slip_store *s = r == NULL ? NULL : r->store;
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL out", op);
	*out = NULL;
	rc = keyed(s, op, key);
	if (rc != SLIP_OK)
		return rc;
	if (tombstones)
		return s->conn->be->entry(s->impl, key, out);
	return s->conn->be->get(s->impl, key, out);
}

SLIP_EXTERN int slip_reader_get(slip_reader *r, const char *key,
                                slip_entry **out)
{
	return read_one(r, "get", key, out, false);
}

SLIP_EXTERN int slip_reader_entry(slip_reader *r, const char *key,
                                  slip_entry **out)
{
	return read_one(r, "entry", key, out, true);
}

/* Common checks of a prefixed call; NULL prefix becomes "". */
static int prefixed(slip_reader *r, const char *op, const char **prefix)
{
	if (r == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL reader", op);
	if (*prefix == NULL)
		*prefix = "";
	if (slip_prefix_validate(*prefix) != SLIP_OK)
		return with_op(SLIP_EINVAL, op);
	return conn_check(r->store->conn, op, r->store->name);
}

/* Grows an array of pointers to hold one more; SLIP_ENOMEM on failure. */
static int grow(void ***arr, size_t count, size_t *cap)
{
	void **bigger;
	size_t n;

	if (count < *cap)
		return SLIP_OK;
	n = *cap == 0 ? 64 : *cap * 2;
	bigger = realloc(*arr, n * sizeof(void *));
	if (bigger == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "out of memory listing %zu "
		                      "entries",
		                      count);
	*arr = bigger;
	*cap = n;
	return SLIP_OK;
}

struct collect {
	void **items;
	size_t count, cap;
};

static int collect_key(void *payload, slip_entry *e)
{
	struct collect *c = payload;
	size_t len = strlen(e->key);
	char *k;
	int rc = grow(&c->items, c->count, &c->cap);

	if (rc == SLIP_OK) {
		k = malloc(len + 1);
		if (k == NULL) {
			rc = slip_set_error(SLIP_ENOMEM, "keys: out of memory");
		} else {
			memcpy(k, e->key, len + 1);
			c->items[c->count++] = k;
		}
	}
	slip_entry_free(e);
	return rc;
}

static int collect_entry(void *payload, slip_entry *e)
{
	struct collect *c = payload;
	int rc = grow(&c->items, c->count, &c->cap);

	if (rc != SLIP_OK) {
		slip_entry_free(e);
		return rc;
	}
	c->items[c->count++] = e;
	return SLIP_OK;
}

SLIP_EXTERN int slip_reader_keys(slip_reader *r, const char *prefix,
                                 slip_key_list *out)
{
	struct collect c = {NULL, 0, 0};
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "keys: NULL out");
	out->count = 0;
	out->keys = NULL;
	rc = prefixed(r, "keys", &prefix);
	if (rc != SLIP_OK)
		return rc;
	rc = r->store->conn->be->keys(r->store->impl, prefix, collect_key, &c);
	if (rc != SLIP_OK) {
		slip_key_list tmp = {c.count, (char **)c.items};
		slip_key_list_free(&tmp);
		return rc;
	}
	out->count = c.count;
	out->keys = (char **)c.items;
	return SLIP_OK;
}

SLIP_EXTERN int slip_reader_scan(slip_reader *r, const char *prefix,
                                 slip_entry_list *out)
{
	struct collect c = {NULL, 0, 0};
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "scan: NULL out");
	out->count = 0;
	out->entries = NULL;
	rc = prefixed(r, "scan", &prefix);
	if (rc != SLIP_OK)
		return rc;
	rc = r->store->conn->be->scan(r->store->impl, prefix, collect_entry,
	                              &c);
	if (rc != SLIP_OK) {
		slip_entry_list tmp = {c.count, (slip_entry **)c.items};
		slip_entry_list_free(&tmp);
		return rc;
	}
	out->count = c.count;
	out->entries = (slip_entry **)c.items;
	return SLIP_OK;
}

SLIP_EXTERN int slip_reader_scan_each(slip_reader *r, const char *prefix,
                                      bool keys_only, slip_entry_cb cb,
                                      void *payload)
{
	const slip_backend *be;
	int rc;

	if (cb == NULL)
		return slip_set_error(SLIP_EINVAL, "scan: NULL callback");
	rc = prefixed(r, "scan", &prefix);
	if (rc != SLIP_OK)
		return rc;
	be = r->store->conn->be;
	if (keys_only)
		return be->keys(r->store->impl, prefix, cb, payload);
	return be->scan(r->store->impl, prefix, cb, payload);
}

/* ================================================================= writer */

static int check_value(const char *op, const char *key, const void *value,
                       size_t len)
{
	char q[SLIP_QUOTE_BUF];

	if (value == NULL && len > 0)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": NULL value with length %zu",
		                      op, slip__quote(q, key), len);
	return SLIP_OK;
}

static int check_expected(const char *op, const char *key,
                          const slip_version *v)
{
	char q[SLIP_QUOTE_BUF];

	if (v == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": NULL expected version", op,
		                      slip__quote(q, key));
	if (v->len < 1 || v->len > SLIP_VERSION_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": expected version of %u bytes "
		                      "(must be 1..%d)",
		                      op, slip__quote(q, key), (unsigned)v->len,
		                      SLIP_VERSION_MAX);
	return SLIP_OK;
}

/* Handle, key and value checks shared by every write. */
static int writable(slip_writer *w, const char *op, const char *key,
                    const void *value, size_t len)
{
	if (w == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "%s: NULL writer (read-only store?)", op);
	if (slip_key_validate(key) != SLIP_OK)
		return with_op(SLIP_EINVAL, op);
	if (check_value(op, key, value, len) != SLIP_OK)
		return SLIP_EINVAL;
	return SLIP_OK;
}

SLIP_EXTERN int slip_writer_put(slip_writer *w, const char *key,
                                const void *value, size_t len,
                                slip_version *out_version)
{
	int rc = writable(w, "put", key, value, len);

	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "put", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->put(w->store->impl, key, value, len,
	                               out_version);
}

SLIP_EXTERN int slip_writer_create(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   slip_version *out_version)
{
	int rc = writable(w, "create", key, value, len);

	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "create", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->create(w->store->impl, key, value, len,
	                                  out_version);
}

SLIP_EXTERN int slip_writer_update(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   const slip_version *expected,
                                   slip_version *out_version)
{
	int rc = writable(w, "update", key, value, len);

	if (rc == SLIP_OK)
		rc = check_expected("update", key, expected);
	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "update", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->update(w->store->impl, key, value, len,
	                                  expected, out_version);
}

SLIP_EXTERN int slip_writer_delete(slip_writer *w, const char *key)
{
	int rc = writable(w, "delete", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "delete", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->del(w->store->impl, key);
}

SLIP_EXTERN int slip_writer_delete_version(slip_writer *w, const char *key,
                                           const slip_version *expected)
{
	int rc = writable(w, "delete_version", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = check_expected("delete_version", key, expected);
	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "delete_version", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->delete_version(w->store->impl, key,
	                                          expected);
}

SLIP_EXTERN int slip_writer_purge(slip_writer *w, const char *key)
{
	int rc = writable(w, "purge", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "purge", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->purge(w->store->impl, key);
}

/* ================================================================ watcher */

/* Validates @p opts (NULL = defaults) into @p o; NULL prefix becomes "". */
static int check_watch(const slip_watch_options *opts, slip_watch_options *o)
{
	if (opts != NULL)
		*o = *opts;
	if (o->version != SLIP_WATCH_OPTIONS_VERSION)
		return slip_set_error(
		        SLIP_EINVAL,
		        "watch: options version %u, expected %u "
		        "(initialise with SLIP_WATCH_OPTIONS_INIT)",
		        o->version, (unsigned)SLIP_WATCH_OPTIONS_VERSION);
	if (o->prefix == NULL)
		o->prefix = "";
	if (slip_prefix_validate(o->prefix) != SLIP_OK)
		return with_op(SLIP_EINVAL, "watch");
	if (o->from != NULL && o->from->len > SLIP_CURSOR_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "watch: cursor of %u bytes (at most %d)",
		                      (unsigned)o->from->len, SLIP_CURSOR_MAX);
	if ((o->flags & ~SLIP_WATCH_MARKERS) != 0)
		return slip_set_error(SLIP_EINVAL, "watch: unknown flags 0x%x",
		                      o->flags & ~SLIP_WATCH_MARKERS);
	return SLIP_OK;
}

SLIP_EXTERN int slip_watch(slip_watcher *w, const slip_watch_options *opts,
                           slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;
	int rc;

	if (tx == NULL)
		return slip_set_error(SLIP_EINVAL, "watch: NULL channel");
	if (w == NULL) {
		rc = slip_set_error(SLIP_EINVAL, "watch: NULL watcher (the "
		                                 "backend cannot stream?)");
		goto done;
	}
	rc = check_watch(opts, &o);
	if (rc == SLIP_OK)
		rc = conn_check(w->store->conn, "watch", w->store->name);
	if (rc == SLIP_OK)
		rc = w->store->conn->be->watch(w->store->impl, &o, tx);
done:
	/* The receiver learns the watch is over, whatever the outcome. */
	slip_chan_close_send(tx);
	return rc;
}

SLIP_EXTERN int slip_watch_all(slip_watcher *w, slip_chan *tx)
{
	return slip_watch(w, NULL, tx);
}

SLIP_EXTERN int slip_watch_prefix(slip_watcher *w, const char *prefix,
                                  slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.prefix = prefix;
	return slip_watch(w, &o, tx);
}

SLIP_EXTERN int slip_watch_all_from(slip_watcher *w, const slip_cursor *cursor,
                                    slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.from = cursor;
	return slip_watch(w, &o, tx);
}

SLIP_EXTERN int slip_watch_prefix_from(slip_watcher *w, const char *prefix,
                                       const slip_cursor *cursor, slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.prefix = prefix;
	o.from = cursor;
	return slip_watch(w, &o, tx);
}
