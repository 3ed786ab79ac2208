/*
 * tests/nats/test_nats_store.c — NATS buckets and writes: binding, config
 * mismatch messages for each field (bucket left unchanged), the 10113
 * "max_bytes required" account, values over the server's max payload,
 * the markers and headers writes leave on the stream (DEL, PURGE + rollup,
 * expected-last-subject-sequence), create over tombstones, string prefixes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"

static void t_open_missing(void)
{
	slip_conn *c = NULL;
	slip_store *st = NULL;
	REQUIRE_OK(nu_connect(&c, nu_url()));
	CHECK_RC(slip_store_open(&st, c, "no_such_bucket_here"),
	         SLIP_ENOTFOUND);
	CHECK_RC(slip_store_delete(c, "no_such_bucket_here"), SLIP_ENOTFOUND);
	slip_conn_free(c);
}

typedef struct mismatch {
	const char *field;
	void (*change)(slip_store_config *cfg);
} mismatch;

static void ch_bytes(slip_store_config *c)
{
	c->max_bytes = 2 * 1024 * 1024;
}
static void ch_history(slip_store_config *c)
{
	c->max_history = 7;
}
static void ch_age(slip_store_config *c)
{
	c->max_age_ms = 120000;
}
static void ch_storage(slip_store_config *c)
{
	c->storage = SLIP_STORAGE_MEMORY;
}
static void ch_desc(slip_store_config *c)
{
	c->description = "another";
}
static void ch_size(slip_store_config *c)
{
	c->max_value_size = 4096;
}
static void ch_replicas(slip_store_config *c)
{
	c->num_replicas = 3;
}

static void t_config_mismatch(void)
{
	static const mismatch m[] = {
	        {"max_bytes", ch_bytes},       {"max_history", ch_history},
	        {"max_age", ch_age},           {"storage", ch_storage},
	        {"description", ch_desc},      {"max_value_size", ch_size},
	        {"num_replicas", ch_replicas},
	};
	slip_conn *c = NULL;
	slip_store *st = NULL;
	char bucket[64];
	slip_store_info before, after;
	REQUIRE_OK(nu_connect(&c, nu_url()));
	nu_bucket(bucket, sizeof(bucket));
	slip_store_config base = SLIP_STORE_CONFIG_INIT;
	base.name = bucket;
	base.max_bytes = 1024 * 1024;
	base.max_history = 3;
	base.max_age_ms = 60000;
	base.description = "original";
	base.max_value_size = 1024;
	REQUIRE_OK(slip_store_open_config(&st, c, &base));
	CHECK_OK(slip_writer_put(slip_store_writer(st), "k", "v", 1, NULL));
	REQUIRE_OK(slip_store_get_info(st, &before));
	slip_store_free(st);
	st = NULL;
	/* The same config binds. */
	CHECK_OK(slip_store_open_config(&st, c, &base));
	slip_store_free(st);
	st = NULL;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		slip_store_config cfg = base;
		m[i].change(&cfg);
		int rc = slip_store_open_config(&st, c, &cfg);
		if (rc != SLIP_ECONFIG) {
			slip_test_fail(__FILE__, __LINE__,
			               "%s changed: got %s, want SLIP_ECONFIG",
			               m[i].field, slip_err_name(rc));
		} else if (strstr(slip_last_error(), m[i].field) == NULL) {
			slip_test_fail(
			        __FILE__, __LINE__,
			        "%s changed: message does not name it: %s",
			        m[i].field, slip_last_error());
		}
		slip_store_free(st);
		st = NULL;
	}
	/* Nothing was changed or lost. */
	REQUIRE_OK(slip_store_open(&st, c, bucket));
	REQUIRE_OK(slip_store_get_info(st, &after));
	CHECK(after.max_bytes == before.max_bytes);
	CHECK(after.max_history == 3);
	CHECK(after.max_age_ms == 60000);
	CHECK(after.max_value_size == 1024);
	CHECK(strcmp(after.description, "original") == 0);
	CHECK(after.messages == 1);
	CHECK(after.created_ns == before.created_ns);
	CHECK(after.created_ns > 0);
	slip_store_free(st);
	CHECK_OK(slip_store_delete(c, bucket));
	slip_conn_free(c);
}

/* Descriptions with JSON's special characters (libnats 3.4.1 does not
 * escape them): stored as given, read back equal, the same config binds, a
 * different one is refused; text that cannot round-trip is SLIP_EINVAL. */
static void t_description_escaped(void)
{
	static const char *const descs[] = {
	        "say \"hi\"",
	        "back\\slash \\\" end\\",
	        "tab\tnew\nline\rbell\x01\x1f del\x7f",
	        "<html> & caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 / \\u0041",
	};
	static const char *const bad[] = {
	        "\xff bad byte",
	        "cut \xc3",
	        "line\xe2\x80\xa8sep",
	};
	slip_conn *c = NULL;
	slip_store *st = NULL;
	char bucket[64];
	slip_store_info info;
	REQUIRE_OK(nu_connect(&c, nu_url()));
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
		slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
		nu_bucket(bucket, sizeof(bucket));
		cfg.name = bucket;
		cfg.description = descs[i];
		int rc = slip_store_open_config(&st, c, &cfg);
		if (rc != SLIP_OK) {
			slip_test_fail(__FILE__, __LINE__,
			               "description %zu: %s: %s", i,
			               slip_err_name(rc), slip_last_error());
			continue;
		}
		CHECK_OK(slip_store_get_info(st, &info));
		CHECK(strcmp(info.description, descs[i]) == 0);
		slip_store_free(st);
		st = NULL;
		CHECK_OK(slip_store_open_config(&st, c, &cfg));
		slip_store_free(st);
		st = NULL;
		cfg.description = "other";
		CHECK_RC(slip_store_open_config(&st, c, &cfg), SLIP_ECONFIG);
		slip_store_free(st);
		st = NULL;
		CHECK_OK(slip_store_delete(c, bucket));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
		nu_bucket(bucket, sizeof(bucket));
		cfg.name = bucket;
		cfg.description = bad[i];
		CHECK_RC(slip_store_open_config(&st, c, &cfg), SLIP_EINVAL);
		CHECK(strstr(slip_last_error(), "description") != NULL);
		slip_store_free(st);
		st = NULL;
		/* Nothing was created. */
		CHECK_RC(slip_store_open(&st, c, bucket), SLIP_ENOTFOUND);
		slip_store_free(st);
		st = NULL;
	}
	slip_conn_free(c);
}

static void t_max_bytes_required(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	char url[256], bucket[64];
	REQUIRE(slip_natsd_start(&s, "accounts { A: { jetstream: { max_mem: "
	                             "64M, max_file: 64M, max_bytes_required: "
	                             "true }, users: [ {user: a, password: a} "
	                             "] } }\n") == 0);
	snprintf(url, sizeof(url), "nats://a:a@127.0.0.1:%d",
	         slip_natsd_port(s));
	REQUIRE_OK(slip_connect(&c, url));
	nu_bucket(bucket, sizeof(bucket));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = bucket;
	CHECK_RC(slip_store_open_config(&st, c, &cfg), SLIP_ECONFIG);
	CHECK(strstr(slip_last_error(), "max_bytes") != NULL);
	cfg.max_bytes = 1024 * 1024;
	CHECK_OK(slip_store_open_config(&st, c, &cfg));
	slip_store_free(st);
	slip_conn_free(c);
	slip_natsd_free(s);
}

static void t_value_too_big(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	slip_entry *e = NULL;
	char bucket[64];
	REQUIRE(slip_natsd_start(&s, "max_payload: 4096\n") == 0);
	REQUIRE_OK(slip_connect(&c, slip_natsd_url(s)));
	nu_bucket(bucket, sizeof(bucket));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = bucket;
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	char *big = calloc(1, 5000);
	REQUIRE(big != NULL);
	CHECK_RC(slip_writer_put(slip_store_writer(st), "k", big, 5000, NULL),
	         SLIP_ETOOBIG);
	CHECK(strstr(slip_last_error(), "put \"k\"") != NULL);
	CHECK_RC(
	        slip_writer_create(slip_store_writer(st), "k", big, 5000, NULL),
	        SLIP_ETOOBIG);
	CHECK_OK(slip_reader_entry(slip_store_reader(st), "k", &e));
	CHECK(e == NULL); /* nothing was sent */
	CHECK_OK(slip_writer_put(slip_store_writer(st), "k", big, 3000, NULL));
	free(big);
	slip_store_free(st);
	slip_conn_free(c);
	slip_natsd_free(s);
}

/* Last raw message of a key, with its headers. */
static natsMsg *raw_last(nu_raw *raw, const char *bucket, const char *key)
{
	char stream[128], subj[256];
	natsMsg *m = NULL;
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, key);
	if (js_GetLastMsg(&m, raw->js, stream, subj, NULL, NULL) != NATS_OK)
		return NULL;
	return m;
}

static void t_markers_and_headers(void)
{
	nu_case c;
	nu_raw raw;
	slip_version v1, v2, bogus = slip_version_from_u64(999);
	const char *val = NULL;
	REQUIRE_OK(nu_open(&c, 5));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	CHECK_OK(slip_writer_put(c.w, "a", "1", 1, &v1));
	CHECK_RC(slip_writer_delete_version(c.w, "a", &bogus), SLIP_EREVISION);
	CHECK(strstr(slip_last_error(), "delete \"a\"") != NULL);
	CHECK_OK(slip_writer_delete_version(c.w, "a", &v1));
	natsMsg *m = raw_last(&raw, c.bucket, "a");
	REQUIRE(m != NULL);
	CHECK(natsMsgHeader_Get(m, "KV-Operation", &val) == NATS_OK &&
	      strcmp(val, "DEL") == 0);
	CHECK(natsMsgHeader_Get(m, "Nats-Expected-Last-Subject-Sequence",
	                        &val) == NATS_OK);
	natsMsg_Destroy(m);

	/* create over the tombstone works, again on a live value does not */
	CHECK_OK(slip_writer_create(c.w, "a", "2", 1, &v2));
	CHECK_RC(slip_writer_create(c.w, "a", "3", 1, NULL), SLIP_EEXISTS);
	CHECK_RC(slip_writer_update(c.w, "a", "x", 1, &v1, NULL),
	         SLIP_EREVISION);
	CHECK(strstr(slip_last_error(), "update \"a\"") != NULL);
	CHECK_OK(slip_writer_update(c.w, "a", "4", 1, &v2, NULL));

	CHECK_OK(slip_writer_purge(c.w, "a"));
	m = raw_last(&raw, c.bucket, "a");
	REQUIRE(m != NULL);
	CHECK(natsMsgHeader_Get(m, "KV-Operation", &val) == NATS_OK &&
	      strcmp(val, "PURGE") == 0);
	CHECK(natsMsgHeader_Get(m, "Nats-Rollup", &val) == NATS_OK &&
	      strcmp(val, "sub") == 0);
	natsMsg_Destroy(m);
	CHECK_OK(slip_writer_create(c.w, "a", "5", 1, NULL));

	CHECK_OK(slip_writer_delete(c.w, "never-written"));
	m = raw_last(&raw, c.bucket, "never-written");
	REQUIRE(m != NULL);
	CHECK(natsMsgHeader_Get(m, "KV-Operation", &val) == NATS_OK &&
	      strcmp(val, "DEL") == 0);
	natsMsg_Destroy(m);
	nu_raw_close(&raw);
	nu_close(&c);
}

static int count_cb(void *payload, slip_entry *e)
{
	(*(int *)payload)++;
	slip_entry_free(e);
	return 0;
}

static void t_string_prefix(void)
{
	nu_case c;
	int n = 0;
	slip_entry *e = NULL;
	REQUIRE_OK(nu_open(&c, 1));
	const char *keys[] = {"node.us-east", "node.us-west", "node.eu",
	                      "node",         "nodes.x",      "other"};
	for (size_t i = 0; i < 6; i++)
		CHECK_OK(slip_writer_put(c.w, keys[i], "v", 1, NULL));
	CHECK_OK(slip_writer_delete(c.w, "node.us-west"));
	CHECK_OK(slip_reader_scan_each(c.r, "node.us-", false, count_cb, &n));
	CHECK(n == 1);
	n = 0;
	CHECK_OK(slip_reader_scan_each(c.r, "node", true, count_cb, &n));
	CHECK(n == 4); /* node.us-east node.eu node nodes.x */
	n = 0;
	CHECK_OK(slip_reader_scan_each(c.r, "", true, count_cb, &n));
	CHECK(n == 5);
	n = 0;
	CHECK_OK(slip_reader_scan_each(c.r, "zzz", false, count_cb, &n));
	CHECK(n == 0);
	CHECK_OK(slip_reader_get(c.r, "node.us-west", &e));
	CHECK(e == NULL);
	CHECK_OK(slip_reader_entry(c.r, "node.us-west", &e));
	CHECK(e != NULL && e->op == SLIP_OP_DELETE);
	slip_entry_free(e);
	nu_close(&c);
}

static void t_empty_scan(void)
{
	nu_case c;
	int n = 0;
	REQUIRE_OK(nu_open(&c, 1));
	int64_t t0 = nu_now_ms();
	CHECK_OK(slip_reader_scan_each(c.r, "", false, count_cb, &n));
	CHECK(n == 0);
	CHECK(nu_now_ms() - t0 < 3000); /* no waiting for a timeout */
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_open_missing),
        SLIP_TEST(t_config_mismatch),
        SLIP_TEST(t_description_escaped),
        SLIP_TEST(t_max_bytes_required),
        SLIP_TEST(t_value_too_big),
        SLIP_TEST(t_markers_and_headers),
        SLIP_TEST(t_string_prefix),
        SLIP_TEST(t_empty_scan),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
