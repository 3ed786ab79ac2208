/*
 * tests/unit/test_conn.c — the registry and dispatch layer (unit-conn):
 * scheme dispatch, registering a custom backend table through
 * sys/backend.h (and the rejections: version mismatch, missing members,
 * taken schemes), NotConnected before connect and after close, bad URLs and
 * options, validation before the backend is reached, role views,
 * reference counting of stores and connections, list building and the
 * watch wrapper closing the channel. Also run under TSan.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slipstream/sys/backend.h>

#include "test.h"

/* ---------------------------------------------------- a fake backend */

struct fake_conn {
	char url[128];
	atomic_int stores;
	atomic_int closes;
};

struct fake_store {
	struct fake_conn *conn;
	char name[64];
};

static atomic_int calls;         /* backend members reached (data ops) */
static atomic_int conn_frees;    /* conn_free calls */
static atomic_int order_errors;  /* conn_free while stores were open */
static atomic_uint_fast64_t rev; /* revision counter of every fake store */
static char last_prefix[64];     /* prefix the last keys/scan/watch got */
static unsigned last_flags;

static int fake_conn_new(void **out, const slip_conn_options *opts)
{
	struct fake_conn *c;

	if (strstr(opts->url, "bad") != NULL)
		return slip_set_error(SLIP_EINVAL, "fake: bad URL");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SLIP_ENOMEM;
	snprintf(c->url, sizeof(c->url), "%s", opts->url);
	*out = c;
	return SLIP_OK;
}

static int fake_connect(void *conn)
{
	struct fake_conn *c = conn;

	if (strstr(c->url, "unreachable") != NULL)
		return slip_set_error(SLIP_EIO, "fake: cannot reach %s",
		                      c->url);
	return SLIP_OK;
}

static void fake_close(void *conn)
{
	struct fake_conn *c = conn;

	atomic_fetch_add(&c->closes, 1);
}

static void fake_conn_free(void *conn)
{
	struct fake_conn *c = conn;

	if (atomic_load(&c->stores) != 0)
		atomic_fetch_add(&order_errors, 1);
	atomic_fetch_add(&conn_frees, 1);
	free(c);
}

static void fake_capabilities(void *conn, slip_capabilities *out)
{
	out->cas = true;
	out->streaming_watch = true;
	snprintf(out->note, sizeof(out->note), "fake");
}

static int fake_store_open(void *conn, const char *name,
                           const slip_store_config *cfg, void **out,
                           unsigned *out_roles)
{
	struct fake_conn *c = conn;
	struct fake_store *s;

	atomic_fetch_add(&calls, 1);
	if (strcmp(name, "missing") == 0 && cfg == NULL)
		return SLIP_ENOTFOUND;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SLIP_ENOMEM;
	s->conn = c;
	snprintf(s->name, sizeof(s->name), "%s", name);
	atomic_fetch_add(&c->stores, 1);
	*out_roles = strcmp(name, "ro") == 0 ? 0
	             : strcmp(name, "nowatch") == 0
	                     ? SLIP_ROLE_WRITE
	                     : SLIP_ROLE_WRITE | SLIP_ROLE_WATCH;
	*out = s;
	return SLIP_OK;
}

static void fake_store_free(void *store)
{
	struct fake_store *s = store;

	atomic_fetch_sub(&s->conn->stores, 1);
	free(s);
}

static int fake_store_delete(void *conn, const char *name)
{
	atomic_fetch_add(&calls, 1);
	return strcmp(name, "missing") == 0 ? SLIP_ENOTFOUND : SLIP_OK;
}

static int fake_store_info(void *store, slip_store_info *out)
{
	struct fake_store *s = store;

	snprintf(out->name, sizeof(out->name), "%s", s->name);
	out->last_seq = atomic_load(&rev);
	return SLIP_OK;
}

static int fake_get(void *store, const char *key, slip_entry **out)
{
	slip_version v = slip_version_from_u64(5);

	atomic_fetch_add(&calls, 1);
	if (strcmp(key, "absent") == 0)
		return SLIP_OK;
	return slip_entry_new(out, key, "v", 1, &v, SLIP_OP_PUT);
}

static int fake_entry(void *store, const char *key, slip_entry **out)
{
	slip_version v = slip_version_from_u64(6);

	atomic_fetch_add(&calls, 1);
	return slip_entry_new(out, key, NULL, 0, &v, SLIP_OP_DELETE);
}

static const char *const fake_keys_all[] = {"node.a", "node.us-1", "node.us-2",
                                            "nodes", "x"};

static int emit(const char *prefix, slip_entry_cb cb, void *payload,
                bool values)
{
	atomic_fetch_add(&calls, 1);
	snprintf(last_prefix, sizeof(last_prefix), "%s", prefix);
	for (size_t i = 0; i < 5; i++) {
		const char *k = fake_keys_all[i];
		slip_entry *e = NULL;
		int rc;

		if (strncmp(k, prefix, strlen(prefix)) != 0)
			continue;
		rc = slip_entry_new(&e, k, values ? k : NULL,
		                    values ? strlen(k) : 0, NULL, SLIP_OP_PUT);
		if (rc != SLIP_OK)
			return rc;
		rc = cb(payload, e);
		if (rc != 0)
			return rc;
	}
	return SLIP_OK;
}

static int fake_keys(void *store, const char *prefix, slip_entry_cb cb,
                     void *payload)
{
	return emit(prefix, cb, payload, false);
}

static int fake_scan(void *store, const char *prefix, slip_entry_cb cb,
                     void *payload)
{
	return emit(prefix, cb, payload, true);
}

static int fake_put(void *store, const char *key, const void *value, size_t len,
                    slip_version *out_version)
{
	uint64_t r = atomic_fetch_add(&rev, 1) + 1;

	atomic_fetch_add(&calls, 1);
	if (out_version != NULL)
		*out_version = slip_version_from_u64(r);
	return SLIP_OK;
}

static int fake_update(void *store, const char *key, const void *value,
                       size_t len, const slip_version *expected,
                       slip_version *out_version)
{
	slip_version cur = slip_version_from_u64(atomic_load(&rev));

	if (!slip_version_eq(expected, &cur)) {
		atomic_fetch_add(&calls, 1);
		return slip_set_error(SLIP_EREVISION, "update \"%s\": fake",
		                      key);
	}
	return fake_put(store, key, value, len, out_version);
}

static int fake_del(void *store, const char *key)
{
	atomic_fetch_add(&calls, 1);
	return SLIP_OK;
}

static int fake_delete_version(void *store, const char *key,
                               const slip_version *expected)
{
	atomic_fetch_add(&calls, 1);
	return SLIP_OK;
}

/* Sends three updates, then returns OK without closing the channel. */
static int fake_watch(void *store, const slip_watch_options *opts,
                      slip_chan *tx)
{
	atomic_fetch_add(&calls, 1);
	snprintf(last_prefix, sizeof(last_prefix), "%s", opts->prefix);
	last_flags = opts->flags;
	for (uint64_t i = 1; i <= 3; i++) {
		slip_entry *e = NULL;
		int rc = slip_entry_new(&e, "w", "x", 1, NULL, SLIP_OP_PUT);

		if (rc != SLIP_OK)
			return rc;
		e->cursor.len = 8;
		e->cursor.bytes[7] = (uint8_t)i;
		rc = slip_chan_send(tx, e);
		if (rc == SLIP_ECLOSED) {
			slip_entry_free(e);
			return SLIP_OK;
		}
		if (rc != SLIP_OK) {
			slip_entry_free(e);
			return rc;
		}
	}
	return SLIP_OK;
}

static const slip_backend fake_backend = {
        SLIP_BACKEND_INIT,
        .name = "fake",
        .schemes = "fake, fake2",
        .conn_new = fake_conn_new,
        .connect = fake_connect,
        .close = fake_close,
        .conn_free = fake_conn_free,
        .capabilities = fake_capabilities,
        .store_open = fake_store_open,
        .store_free = fake_store_free,
        .store_delete = fake_store_delete,
        .store_info = fake_store_info,
        .get = fake_get,
        .entry = fake_entry,
        .keys = fake_keys,
        .scan = fake_scan,
        .put = fake_put,
        .create = fake_put,
        .update = fake_update,
        .del = fake_del,
        .delete_version = fake_delete_version,
        .purge = fake_del,
        .watch = fake_watch,
        .cursor_cmp = slip_cursor_seq_cmp,
};

/* A read-only backend without stream, store_delete or store_info. */
static const slip_backend ro_backend = {
        SLIP_BACKEND_INIT,
        .name = "readonly",
        .schemes = "ro",
        .conn_new = fake_conn_new,
        .connect = fake_connect,
        .close = fake_close,
        .conn_free = fake_conn_free,
        .capabilities = fake_capabilities,
        .store_open = fake_store_open,
        .store_free = fake_store_free,
        .get = fake_get,
        .entry = fake_entry,
        .keys = fake_keys,
        .scan = fake_scan,
};

static bool registered;

/* Registers the fake backends once (cases may run alone, by filter). */
static void ensure_registered(void)
{
	if (registered)
		return;
	if (slip_backend_register(&fake_backend) != SLIP_OK ||
	    slip_backend_register(&ro_backend) != SLIP_OK) {
		fprintf(stderr, "register failed: %s\n", slip_last_error());
		abort();
	}
	registered = true;
}

/* Connects to fake://test and opens @p name. */
static int open_fake(slip_conn **conn, slip_store **store, const char *name)
{
	int rc;

	ensure_registered();
	*store = NULL;
	rc = slip_connect(conn, "fake://test");
	if (rc == SLIP_OK)
		rc = slip_store_open(store, *conn, name);
	return rc;
}

/* ------------------------------------------------------------- tests */

static void t_register(void)
{
	slip_backend b = fake_backend;

	ensure_registered();
	/* The same table again: its schemes are taken. */
	CHECK_RC(slip_backend_register(&fake_backend), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "already taken") != NULL);
	b.schemes = "mem";
	b.name = "impostor";
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "\"mem\" is already taken") != NULL);
	b = fake_backend;
	b.version = SLIP_BACKEND_VERSION + 1;
	b.schemes = "newer";
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "version") != NULL);
	b = fake_backend;
	b.schemes = "nocmp";
	b.cursor_cmp = NULL;
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "needs cursor_cmp") != NULL);
	b = fake_backend;
	b.version = 0;
	b.schemes = "unversioned";
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "SLIP_BACKEND_INIT") != NULL);
	b = fake_backend;
	b.schemes = "nokeys";
	b.keys = NULL;
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "keys") != NULL);
	b = fake_backend;
	b.schemes = "halfwriter";
	b.purge = NULL;
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "all be set") != NULL);
	b = fake_backend;
	b.schemes = "bad scheme";
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "malformed") != NULL);
	b.schemes = "";
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	b.schemes = "ok";
	b.name = NULL;
	CHECK_RC(slip_backend_register(&b), SLIP_EINVAL);
	CHECK_RC(slip_backend_register(NULL), SLIP_EINVAL);
}

/*
 * A table built against the version-1 header ends with watch: it registers,
 * the registry reads none of it past that end (ASan sees the block's exact
 * size), and its stores work with the sequence layout assumed for cursors.
 */
static void t_register_version1(void)
{
	size_t v1_size = offsetof(slip_backend, cursor_cmp);
	slip_backend b = fake_backend;
	void *v1 = malloc(v1_size);
	slip_conn *c = NULL;
	slip_store *s = NULL;

	ensure_registered();
	REQUIRE(v1 != NULL);
	b.version = 1;
	b.name = "fake-v1";
	b.schemes = "fakev1";
	memcpy(v1, &b, v1_size);
	REQUIRE_OK(slip_backend_register(v1));
	REQUIRE_OK(slip_connect(&c, "fakev1://x"));
	REQUIRE_OK(slip_store_open(&s, c, "b"));
	/* The registry's copy stands for the caller's table. */
	CHECK(slip_store_impl(s, v1) != NULL);
	CHECK(slip_store_impl(s, &fake_backend) == NULL);
	slip_store_free(s);
	slip_conn_free(c);
	/* The table must outlive its connections: it stays allocated. */
}

static void t_scheme_dispatch(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;

	ensure_registered();
	o.url = "fake://a";
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK(strcmp(slip_conn_backend_name(c), "fake") == 0);
	CHECK(!slip_conn_is_connected(c));
	slip_conn_free(c);
	/* Second scheme of the list, any case. */
	o.url = "FAKE2://a";
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK(strcmp(slip_conn_backend_name(c), "fake") == 0);
	slip_conn_free(c);
	/* Cluster URLs: the first member's scheme decides. */
	o.url = "ro://a:1,fake://b:2";
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK(strcmp(slip_conn_backend_name(c), "readonly") == 0);
	slip_conn_free(c);
	/* Spaces next to the commas of a cluster list are fine. */
	o.url = "fake://a:1 , fake://b:2";
	REQUIRE_OK(slip_conn_new(&c, &o));
	slip_conn_free(c);
	/* The built-in memory backend is there without registering. */
	o.url = "mem://unit-conn";
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK(strcmp(slip_conn_backend_name(c), "mem") == 0);
	slip_conn_free(c);
}

static void t_bad_urls(void)
{
	static const struct {
		const char *url;
		const char *reason;
	} bad[] = {
	        {"", "no URL"},
	        {"localhost:4222", "has no scheme"},
	        {"a,fake://x", "has no scheme"},
	        {"zzz://host", "unknown URL scheme \"zzz\""},
	        {"://host", "malformed URL scheme"},
	        {"1x://host", "malformed"},
	        {"fake://a b", "space or control character at offset 8"},
	        {" fake://a", "space or control"},
	        {"fake://a,fake://b ", "space or control"},
	        {"fake://a\t,fake://b", "space or control"},
	        {"fake://a\n", "space or control"},
	        {"fake://bad", "fake: bad URL"},
	};
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = (slip_conn *)1;

	ensure_registered();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.url = bad[i].url;
		if (slip_conn_new(&c, &o) != SLIP_EINVAL || c != NULL) {
			slip_test_fail(__FILE__, __LINE__, "\"%s\" accepted",
			               bad[i].url);
			slip_conn_free(c);
			continue;
		}
		if (strstr(slip_last_error(), bad[i].reason) == NULL)
			slip_test_fail(__FILE__, __LINE__,
			               "\"%s\": \"%s\" lacks \"%s\"",
			               bad[i].url, slip_last_error(),
			               bad[i].reason);
	}
	o.url = NULL;
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	CHECK_RC(slip_conn_new(&c, NULL), SLIP_EINVAL);
	CHECK_RC(slip_connect(&c, "nope://x"), SLIP_EINVAL);
	CHECK(c == NULL);
}

/* Credentials in a rejected URL never reach the error message. */
static void t_url_redacted(void)
{
	slip_conn *c = NULL;

	CHECK_RC(slip_connect(&c, "zzz://alice:s3cret@host:4222"), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "s3cret") == NULL);
	CHECK(strstr(slip_last_error(), "alice") == NULL);
	CHECK(strstr(slip_last_error(), "***@host:4222") != NULL);
	CHECK_RC(slip_connect(&c, "zzz://h1,zzz://bob:pw@h2"), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "pw@") == NULL);
	CHECK(strstr(slip_last_error(), "***@h2") != NULL);
	/* No scheme at all, and a password holding '/' and '@'. */
	CHECK_RC(slip_connect(&c, "alice:pw@host:4222"), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "has no scheme") != NULL);
	CHECK(strstr(slip_last_error(), "pw") == NULL);
	CHECK(strstr(slip_last_error(), "\"***@host:4222\"") != NULL);
	CHECK_RC(slip_connect(&c, "zzz://u:p/w@x@h"), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "p/w") == NULL);
	CHECK(strstr(slip_last_error(), "zzz://***@h") != NULL);
}

static void t_bad_options(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;

	ensure_registered();
	o.url = "fake://x";
	o.version = 99;
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "SLIP_CONN_OPTIONS_INIT") != NULL);
	o.version = SLIP_CONN_OPTIONS_VERSION;
	o.connect_timeout_ms = -1;
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	o.connect_timeout_ms = 0;
	o.max_reconnect = -2;
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	o.max_reconnect = -1;
	o.creds = "not base64!";
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "creds") != NULL);
	o.creds = "aGVsbG8=";
	REQUIRE_OK(slip_conn_new(&c, &o));
	slip_conn_free(c);
}

static void t_not_connected(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;
	slip_conn *c = NULL;
	slip_store *s = NULL;
	int before;

	ensure_registered();
	o.url = "fake://x";
	REQUIRE_OK(slip_conn_new(&c, &o));
	before = atomic_load(&calls);
	CHECK_RC(slip_store_open(&s, c, "b"), SLIP_ENOTCONNECTED);
	CHECK(strstr(slip_last_error(), "slip_conn_connect first") != NULL);
	CHECK_RC(slip_conn_capabilities(c, &caps), SLIP_ENOTCONNECTED);
	CHECK_RC(slip_store_delete(c, "b"), SLIP_ENOTCONNECTED);
	CHECK(atomic_load(&calls) == before);
	REQUIRE_OK(slip_conn_connect(c));
	CHECK(slip_conn_is_connected(c));
	CHECK_OK(slip_conn_connect(c)); /* again: no-op */
	CHECK_OK(slip_conn_capabilities(c, &caps));
	CHECK(caps.cas && strcmp(caps.note, "fake") == 0);
	CHECK(caps.version == SLIP_CAPABILITIES_VERSION);
	CHECK(caps.api_level == -1 && !caps.multi_filter);
	caps.version = SLIP_CAPABILITIES_VERSION + 1;
	CHECK_RC(slip_conn_capabilities(c, &caps), SLIP_EINVAL);
	CHECK_RC(slip_conn_capabilities(c, NULL), SLIP_EINVAL);
	slip_conn_close(c);
	slip_conn_close(c);
	CHECK(!slip_conn_is_connected(c));
	CHECK_RC(slip_store_open(&s, c, "b"), SLIP_ENOTCONNECTED);
	CHECK(strstr(slip_last_error(), "closed") != NULL);
	CHECK_RC(slip_conn_connect(c), SLIP_ENOTCONNECTED);
	slip_conn_free(c);
	/* A failed connect reports the backend's reason. */
	CHECK_RC(slip_connect(&c, "fake://unreachable"), SLIP_EIO);
	CHECK(c == NULL);
	CHECK(strstr(slip_last_error(), "cannot reach") != NULL);
}

/* Store operations after close: ENOTCONNECTED, the backend not reached. */
static void t_store_after_close(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_entry *e = NULL;
	slip_key_list kl;
	slip_store_info info;
	slip_chan *ch = NULL;
	slip_version v = slip_version_from_u64(1);
	int before;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	slip_conn_close(c);
	before = atomic_load(&calls);
	CHECK_RC(slip_reader_get(slip_store_reader(s), "k", &e),
	         SLIP_ENOTCONNECTED);
	CHECK(strstr(slip_last_error(), "get \"k\": not connected") != NULL);
	CHECK_RC(slip_reader_keys(slip_store_reader(s), "", &kl),
	         SLIP_ENOTCONNECTED);
	CHECK_RC(slip_writer_put(slip_store_writer(s), "k", "v", 1, NULL),
	         SLIP_ENOTCONNECTED);
	CHECK_RC(
	        slip_writer_update(slip_store_writer(s), "k", "v", 1, &v, NULL),
	        SLIP_ENOTCONNECTED);
	CHECK_RC(slip_store_get_info(s, &info), SLIP_ENOTCONNECTED);
	REQUIRE_OK(slip_chan_new(&ch, 4));
	CHECK_RC(slip_watch_all(slip_store_watcher(s), ch), SLIP_ENOTCONNECTED);
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ECLOSED);
	slip_chan_free(ch);
	CHECK(atomic_load(&calls) == before);
	slip_store_free(s);
	slip_conn_free(c);
}

static void t_stores_and_views(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL, *ro = NULL, *nw = NULL;
	slip_store_info info;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	CHECK(strcmp(slip_store_name(s), "b") == 0);
	CHECK(slip_store_reader(s) != NULL);
	CHECK(slip_store_writer(s) != NULL);
	CHECK(slip_store_watcher(s) != NULL);
	REQUIRE_OK(slip_store_open(&ro, c, "ro"));
	CHECK(slip_store_reader(ro) != NULL);
	CHECK(slip_store_writer(ro) == NULL);
	CHECK(slip_store_watcher(ro) == NULL);
	REQUIRE_OK(slip_store_open(&nw, c, "nowatch"));
	CHECK(slip_store_writer(nw) != NULL);
	CHECK(slip_store_watcher(nw) == NULL);
	CHECK_RC(slip_writer_put(slip_store_writer(ro), "k", "v", 1, NULL),
	         SLIP_EINVAL);
	CHECK_OK(slip_store_get_info(s, &info));
	CHECK(strcmp(info.name, "b") == 0);
	slip_store_free(ro);
	CHECK_RC(slip_store_open(&ro, c, "missing"), SLIP_ENOTFOUND);
	CHECK(ro == NULL);
	CHECK_RC(slip_store_open(&ro, c, "bad.name"), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "store_open: invalid bucket name") !=
	      NULL);
	CHECK_OK(slip_store_delete(c, "b2"));
	CHECK_RC(slip_store_delete(c, "missing"), SLIP_ENOTFOUND);
	CHECK_RC(slip_store_delete(c, "a b"), SLIP_EINVAL);
	CHECK(slip_store_reader(NULL) == NULL);
	CHECK(slip_store_writer(NULL) == NULL);
	CHECK(slip_store_watcher(NULL) == NULL);
	slip_store_free(nw);
	slip_store_free(s);
	slip_store_free(NULL);
	slip_conn_free(c);
	slip_conn_free(NULL);
}

/* A backend without the optional members: EUNSUPPORTED, NULL views. */
static void t_optional_members(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_store_info info;

	ensure_registered();
	REQUIRE_OK(slip_connect(&c, "ro://x"));
	REQUIRE_OK(slip_store_open(&s, c, "b"));
	CHECK(slip_store_writer(s) == NULL);
	CHECK(slip_store_watcher(s) == NULL);
	CHECK_RC(slip_store_get_info(s, &info), SLIP_EUNSUPPORTED);
	CHECK_RC(slip_store_delete(c, "b"), SLIP_EUNSUPPORTED);
	slip_store_free(s);
	slip_conn_free(c);
}

static void t_config_validation(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *c = NULL;
	slip_store *s = NULL;
	int before;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	slip_store_free(s);
	s = NULL;
	before = atomic_load(&calls);
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL); /* name */
	cfg.name = "cfg";
	cfg.version = 0;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	cfg.version = SLIP_STORE_CONFIG_VERSION;
	cfg.max_history = 65;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "max_history") != NULL);
	cfg.max_history = 5;
	cfg.max_bytes = -2;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	cfg.max_bytes = -1;
	cfg.storage = (slip_storage)7;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	cfg.storage = SLIP_STORAGE_MEMORY;
	cfg.num_replicas = -1;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	cfg.num_replicas = 1;
	cfg.max_age_ms = -5;
	CHECK_RC(slip_store_open_config(&s, c, &cfg), SLIP_EINVAL);
	cfg.max_age_ms = 0;
	CHECK_RC(slip_store_open_config(&s, c, NULL), SLIP_EINVAL);
	CHECK(atomic_load(&calls) == before);
	REQUIRE_OK(slip_store_open_config(&s, c, &cfg));
	slip_store_free(s);
	slip_conn_free(c);
}

/* Bad input never reaches the backend. */
static void t_validation_first(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_entry *e = (slip_entry *)1;
	slip_key_list kl;
	slip_entry_list el;
	slip_version v = {0}, big = {0};
	slip_reader *r;
	slip_writer *w;
	int before;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	r = slip_store_reader(s);
	w = slip_store_writer(s);
	before = atomic_load(&calls);
	CHECK_RC(slip_reader_get(r, "a..b", &e), SLIP_EINVAL);
	CHECK(e == NULL);
	CHECK(strstr(slip_last_error(), "get: invalid key \"a..b\"") != NULL);
	CHECK_RC(slip_reader_get(r, NULL, &e), SLIP_EINVAL);
	CHECK_RC(slip_reader_get(r, "k", NULL), SLIP_EINVAL);
	CHECK_RC(slip_reader_get(NULL, "k", &e), SLIP_EINVAL);
	CHECK_RC(slip_reader_entry(r, ".k", &e), SLIP_EINVAL);
	CHECK_RC(slip_reader_keys(r, ".x", &kl), SLIP_EINVAL);
	CHECK_RC(slip_reader_scan(r, "a..", &el), SLIP_EINVAL);
	CHECK_RC(slip_reader_scan_each(r, "", false, NULL, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_put(w, "k*", "v", 1, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_put(w, "k", NULL, 3, NULL), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "NULL value") != NULL);
	CHECK_RC(slip_writer_create(w, "", "v", 1, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_update(w, "k", "v", 1, NULL, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_update(w, "k", "v", 1, &v, NULL), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "1..10") != NULL);
	big.len = SLIP_VERSION_MAX + 1;
	CHECK_RC(slip_writer_update(w, "k", "v", 1, &big, NULL), SLIP_EINVAL);
	CHECK_RC(slip_writer_delete_version(w, "k", &v), SLIP_EINVAL);
	CHECK_RC(slip_writer_delete(w, "k."), SLIP_EINVAL);
	CHECK_RC(slip_writer_purge(w, "k k"), SLIP_EINVAL);
	CHECK_RC(slip_writer_purge(NULL, "k"), SLIP_EINVAL);
	CHECK(atomic_load(&calls) == before);
	/* A NULL value of length 0 is an empty value, not an error. */
	CHECK_OK(slip_writer_put(w, "k", NULL, 0, NULL));
	slip_store_free(s);
	slip_conn_free(c);
}

static void t_reads_and_writes(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_entry *e = NULL;
	slip_version v1, v2;
	uint64_t r1 = 0, r2 = 0;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	REQUIRE_OK(slip_reader_get(slip_store_reader(s), "k", &e));
	REQUIRE(e != NULL);
	CHECK(strcmp(e->key, "k") == 0 && e->op == SLIP_OP_PUT);
	slip_entry_free(e);
	CHECK_OK(slip_reader_get(slip_store_reader(s), "absent", &e));
	CHECK(e == NULL);
	REQUIRE_OK(slip_reader_entry(slip_store_reader(s), "k", &e));
	CHECK(e->op == SLIP_OP_DELETE);
	slip_entry_free(e);
	CHECK_OK(slip_writer_put(slip_store_writer(s), "k", "v", 1, &v1));
	CHECK_OK(slip_writer_update(slip_store_writer(s), "k", "w", 1, &v1,
	                            &v2));
	CHECK_OK(slip_version_to_u64(&v1, &r1));
	CHECK_OK(slip_version_to_u64(&v2, &r2));
	CHECK(r2 == r1 + 1);
	CHECK_RC(slip_writer_update(slip_store_writer(s), "k", "x", 1, &v1,
	                            NULL),
	         SLIP_EREVISION);
	CHECK_OK(slip_writer_create(slip_store_writer(s), "k", "", 0, NULL));
	CHECK_OK(slip_writer_delete(slip_store_writer(s), "k"));
	CHECK_OK(slip_writer_delete_version(slip_store_writer(s), "k", &v2));
	CHECK_OK(slip_writer_purge(slip_store_writer(s), "k"));
	slip_store_free(s);
	slip_conn_free(c);
}

static bool has_key(const slip_key_list *l, const char *k)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->keys[i], k) == 0)
			return true;
	return false;
}

static int stop_after_two(void *payload, slip_entry *e)
{
	int *n = payload;

	slip_entry_free(e);
	return ++*n == 2 ? 42 : 0;
}

static void t_lists(void)
{
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_key_list kl = {0};
	slip_entry_list el = {0};
	int n = 0;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	REQUIRE_OK(slip_reader_keys(slip_store_reader(s), "node.us-", &kl));
	CHECK(strcmp(last_prefix, "node.us-") == 0);
	CHECK(kl.count == 2);
	CHECK(has_key(&kl, "node.us-1") && has_key(&kl, "node.us-2"));
	slip_key_list_free(&kl);
	/* NULL prefix means every key. */
	REQUIRE_OK(slip_reader_keys(slip_store_reader(s), NULL, &kl));
	CHECK(kl.count == 5);
	CHECK(strcmp(last_prefix, "") == 0);
	slip_key_list_free(&kl);
	REQUIRE_OK(slip_reader_scan(slip_store_reader(s), "node.", &el));
	CHECK(el.count == 3);
	for (size_t i = 0; i < el.count; i++)
		CHECK(strcmp(el.entries[i]->key,
		             (const char *)el.entries[i]->value) == 0);
	slip_entry_list_free(&el);
	/* The callback's non-zero value stops the pass and comes back. */
	CHECK(slip_reader_scan_each(slip_store_reader(s), "", true,
	                            stop_after_two, &n) == 42);
	CHECK(n == 2);
	slip_store_free(s);
	slip_conn_free(c);
}

static void t_watch_closes_channel(void)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;
	slip_cursor cur = slip_cursor_none();
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_chan *ch = NULL;
	slip_entry *e = NULL;
	int got = 0;

	REQUIRE_OK(open_fake(&c, &s, "b"));
	REQUIRE_OK(slip_chan_new(&ch, 8));
	/* The backend returns without closing: the core must close. */
	CHECK_OK(slip_watch_prefix(slip_store_watcher(s), "node.", ch));
	CHECK(strcmp(last_prefix, "node.") == 0);
	while (slip_chan_recv(ch, &e, 1000) == SLIP_OK) {
		CHECK(e->cursor.bytes[7] == ++got);
		slip_entry_free(e);
	}
	CHECK(got == 3);
	slip_chan_free(ch);
	/* Bad options: EINVAL, and the channel is closed all the same. */
	REQUIRE_OK(slip_chan_new(&ch, 8));
	CHECK_RC(slip_watch_prefix(slip_store_watcher(s), "..", ch),
	         SLIP_EINVAL);
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ECLOSED);
	slip_chan_free(ch);
	REQUIRE_OK(slip_chan_new(&ch, 8));
	o.flags = 0x80;
	CHECK_RC(slip_watch(slip_store_watcher(s), &o, ch), SLIP_EINVAL);
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ECLOSED);
	slip_chan_free(ch);
	REQUIRE_OK(slip_chan_new(&ch, 8));
	o.flags = 0;
	o.version = 0;
	CHECK_RC(slip_watch(slip_store_watcher(s), &o, ch), SLIP_EINVAL);
	slip_chan_free(ch);
	REQUIRE_OK(slip_chan_new(&ch, 8));
	cur.len = SLIP_CURSOR_MAX + 1;
	CHECK_RC(slip_watch_all_from(slip_store_watcher(s), &cur, ch),
	         SLIP_EINVAL);
	slip_chan_free(ch);
	REQUIRE_OK(slip_chan_new(&ch, 8));
	CHECK_RC(slip_watch_all(NULL, ch), SLIP_EINVAL);
	CHECK_RC(slip_chan_recv(ch, &e, 0), SLIP_ECLOSED);
	slip_chan_free(ch);
	CHECK_RC(slip_watch_all(slip_store_watcher(s), NULL), SLIP_EINVAL);
	/* Markers flag passes through, NULL prefix becomes "". */
	REQUIRE_OK(slip_chan_new(&ch, 8));
	o = (slip_watch_options)SLIP_WATCH_OPTIONS_INIT;
	o.flags = SLIP_WATCH_MARKERS;
	CHECK_OK(slip_watch(slip_store_watcher(s), &o, ch));
	CHECK(last_flags == SLIP_WATCH_MARKERS);
	CHECK(strcmp(last_prefix, "") == 0);
	slip_chan_free(ch);
	slip_store_free(s);
	slip_conn_free(c);
}

/* Stores and connection freed in either order; conn_free runs last. */
static void t_refcount_order(void)
{
	slip_conn *c = NULL;
	slip_store *s1 = NULL, *s2 = NULL;
	slip_entry *e = NULL;
	int frees;

	REQUIRE_OK(open_fake(&c, &s1, "one"));
	REQUIRE_OK(slip_store_open(&s2, c, "two"));
	frees = atomic_load(&conn_frees);
	slip_conn_free(c); /* closes, but stores keep it alive */
	CHECK(atomic_load(&conn_frees) == frees);
	CHECK_RC(slip_reader_get(slip_store_reader(s1), "k", &e),
	         SLIP_ENOTCONNECTED);
	slip_store_free(s1);
	CHECK(atomic_load(&conn_frees) == frees);
	slip_store_free(s2);
	CHECK(atomic_load(&conn_frees) == frees + 1);
	/* Store first, then connection. */
	REQUIRE_OK(open_fake(&c, &s1, "one"));
	slip_store_free(s1);
	CHECK(atomic_load(&conn_frees) == frees + 1);
	slip_conn_free(c);
	CHECK(atomic_load(&conn_frees) == frees + 2);
	CHECK(atomic_load(&order_errors) == 0);
}

struct hammer {
	slip_store *s;
	atomic_int *stop;
	int ok, notconn, other;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(h->stop)) {
		slip_entry *e = NULL;
		int rc = slip_reader_get(slip_store_reader(h->s), "k", &e);

		slip_entry_free(e);
		if (rc == SLIP_OK)
			rc = slip_writer_put(slip_store_writer(h->s), "k", "v",
			                     1, NULL);
		if (rc == SLIP_OK)
			h->ok++;
		else if (rc == SLIP_ENOTCONNECTED)
			h->notconn++;
		else
			h->other++;
		if (h->notconn > 100)
			break;
	}
	return NULL;
}

/* Threads use a store while another closes the connection (TSan). */
static void t_close_while_busy(void)
{
	struct hammer h[3];
	pthread_t th[3];
	atomic_int stop = 0;
	slip_conn *c = NULL;
	slip_store *s = NULL;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;

	REQUIRE_OK(open_fake(&c, &s, "busy"));
	for (int i = 0; i < 3; i++) {
		h[i] = (struct hammer){s, &stop, 0, 0, 0};
		REQUIRE(pthread_create(&th[i], NULL, hammer_thread, &h[i]) ==
		        0);
	}
	for (int i = 0; i < 200; i++)
		CHECK_OK(slip_conn_capabilities(c, &caps));
	slip_conn_close(c);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK(h[i].other == 0);
		CHECK(h[i].notconn > 0);
	}
	atomic_store(&stop, 1);
	slip_store_free(s);
	slip_conn_free(c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_register),
        SLIP_TEST(t_register_version1),
        SLIP_TEST(t_scheme_dispatch),
        SLIP_TEST(t_bad_urls),
        SLIP_TEST(t_url_redacted),
        SLIP_TEST(t_bad_options),
        SLIP_TEST(t_not_connected),
        SLIP_TEST(t_store_after_close),
        SLIP_TEST(t_stores_and_views),
        SLIP_TEST(t_optional_members),
        SLIP_TEST(t_config_validation),
        SLIP_TEST(t_validation_first),
        SLIP_TEST(t_reads_and_writes),
        SLIP_TEST(t_lists),
        SLIP_TEST(t_watch_closes_channel),
        SLIP_TEST(t_refcount_order),
        SLIP_TEST(t_close_while_busy),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
