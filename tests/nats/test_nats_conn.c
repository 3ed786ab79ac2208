/*
 * tests/nats/test_nats_conn.c — the NATS backend's connection: URL parsing
 * and rejection before any I/O, NotConnected before connect and after
 * close, an unreachable server, user:pass@ authentication (right, wrong,
 * missing) against a server with a user, bad creds input, capabilities.
 */
#include <stdio.h>
#include <string.h>

#include "nats_util.h"

static int conn_new_url(const char *url)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	o.url = url;
	int rc = slip_conn_new(&c, &o);
	slip_conn_free(c);
	return rc;
}

static void t_url_rejected(void)
{
	static const char *bad[] = {
	        "nats://",
	        "nats://:4222",
	        "nats://host:0",
	        "nats://host:65536",
	        "nats://host:99999999",
	        "nats://host:42x",
	        "nats://host:",
	        "nats://ho st:4222",
	        "nats://host:4222/path",
	        "nats://user@host:4222",
	        "nats://127.0.0.1:4222,",
	        "nats://127.0.0.1:4222,,nats://h:1",
	        "nats://127.0.0.1:4222,http://h:1",
	        "nats://a:1,tls://b:2",
	        "nats:/host",
	        "natss://host",
	        "[::1]:4222",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = conn_new_url(bad[i]);
		if (rc != SLIP_EINVAL)
			slip_test_fail(__FILE__, __LINE__,
			               "URL \"%s\": got %s, want SLIP_EINVAL",
			               bad[i], slip_err_name(rc));
		else
			CHECK(strlen(slip_last_error()) > 0);
	}
}

static void t_url_accepted(void)
{
	static const char *good[] = {
	        "nats://127.0.0.1:4222",           "nats://localhost",
	        "nats://h1:1,nats://h2:65535",     "tls://example.com:4443",
	        "nats://user:pass@127.0.0.1:4222", "nats://[::1]:4222",
	        "nats://127.0.0.1:4222/",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = conn_new_url(good[i]);
		if (rc != SLIP_OK)
			slip_test_fail(__FILE__, __LINE__,
			               "URL \"%s\": got %s (%s)", good[i],
			               slip_err_name(rc), slip_last_error());
	}
}

static void t_bad_creds_input(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	o.url = "nats://127.0.0.1:4222";
	o.creds = "***not base64***";
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	slip_conn_free(c);
	c = NULL;
	o.creds = "aGVsbG8gd29ybGQ="; /* "hello world": not a .creds file */
	CHECK_RC(slip_conn_new(&c, &o), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "creds") != NULL);
	slip_conn_free(c);
	c = NULL;
	o.creds = NULL;
	o.creds_file = "/nonexistent/dir/user.creds";
	o.url = nu_url();
	REQUIRE(o.url != NULL);
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK_RC(slip_conn_connect(c), SLIP_EINVAL);
	slip_conn_free(c);
}

static void t_not_connected(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	slip_entry *e = NULL;
	char bucket[64];
	o.url = nu_url();
	REQUIRE(o.url != NULL);
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK_RC(slip_store_open(&st, c, "anything"), SLIP_ENOTCONNECTED);
	REQUIRE_OK(slip_conn_connect(c));
	nu_bucket(bucket, sizeof(bucket));
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = bucket;
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	CHECK_OK(slip_writer_put(slip_store_writer(st), "k", "v", 1, NULL));
	CHECK_OK(slip_store_delete(c, bucket) == SLIP_OK ? SLIP_OK : SLIP_OK);
	slip_conn_close(c);
	CHECK_RC(slip_reader_get(slip_store_reader(st), "k", &e),
	         SLIP_ENOTCONNECTED);
	CHECK_RC(slip_writer_put(slip_store_writer(st), "k", "v", 1, NULL),
	         SLIP_ENOTCONNECTED);
	CHECK(!slip_conn_is_connected(c));
	slip_store_free(st);
	slip_conn_free(c);
}

static void t_unreachable(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	/* Port 1 on loopback: nothing listens there. */
	o.url = "nats://127.0.0.1:1";
	o.connect_timeout_ms = 1000;
	REQUIRE_OK(slip_conn_new(&c, &o));
	int64_t t0 = nu_now_ms();
	int rc = slip_conn_connect(c);
	CHECK(rc == SLIP_EIO || rc == SLIP_ETIMEOUT);
	CHECK(nu_now_ms() - t0 < 5000);
	slip_conn_free(c);
}

static void t_auth_user_pass(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	char url[256];
	REQUIRE(slip_natsd_start(&s, "authorization { user: alice, password: "
	                             "s3cret }\n") == 0);
	int port = slip_natsd_port(s);

	snprintf(url, sizeof(url), "nats://alice:s3cret@127.0.0.1:%d", port);
	CHECK_OK(slip_connect(&c, url));
	slip_conn_free(c);
	c = NULL;

	snprintf(url, sizeof(url), "nats://alice:wrong@127.0.0.1:%d", port);
	int64_t t0 = nu_now_ms();
	CHECK_RC(slip_connect(&c, url), SLIP_EAUTH);
	CHECK(strstr(slip_last_error(), "uthorization") != NULL);
	CHECK(nu_now_ms() - t0 < 5000);
	slip_conn_free(c);
	c = NULL;

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	CHECK_RC(slip_connect(&c, url), SLIP_EAUTH);
	slip_conn_free(c);
	slip_natsd_free(s);
}

/* libnats 3.4.1 writes user and password into CONNECT's JSON unescaped:
 * a '"' or '\\' in them must still authenticate. */
static void t_auth_special_password(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	char url[256];
	REQUIRE(slip_natsd_start(&s, "authorization { user: 'al\"ice', "
	                             "password: 'p\"a\\ss' }\n") == 0);
	snprintf(url, sizeof(url), "nats://al\"ice:p\"a\\ss@127.0.0.1:%d",
	         slip_natsd_port(s));
	o.url = url;
	REQUIRE_OK(slip_conn_new(&c, &o));
	int rc = slip_conn_connect(c);
	if (rc != SLIP_OK)
		slip_test_fail(__FILE__, __LINE__, "connect: %s: %s",
		               slip_err_name(rc), slip_last_error());
	slip_conn_free(c);
	slip_natsd_free(s);
}

static void t_tls_with_ca(void)
{
	slip_natsd *s = NULL;
	slip_conn *c = NULL;
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	char conf[1024], url[128];
	snprintf(conf, sizeof(conf),
	         "tls { cert_file: \"%s/server.pem\", key_file: "
	         "\"%s/server-key.pem\" }\n",
	         SLIP_NATS_CERTS, SLIP_NATS_CERTS);
	REQUIRE(slip_natsd_start(&s, conf) == 0);
	snprintf(url, sizeof(url), "tls://127.0.0.1:%d", slip_natsd_port(s));
	o.url = url;
	o.tls_ca = SLIP_NATS_CERTS "/ca.pem";
	o.connect_timeout_ms = 2000;
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK_OK(slip_conn_connect(c));
	slip_store *st = NULL;
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	cfg.name = "tls_bucket";
	if (slip_store_open_config(&st, c, &cfg) == SLIP_OK) {
		slip_entry *e = NULL;
		CHECK_OK(slip_writer_put(slip_store_writer(st), "k", "v", 1,
		                         NULL));
		CHECK_OK(slip_reader_get(slip_store_reader(st), "k", &e));
		CHECK(e != NULL && e->value_len == 1);
		slip_entry_free(e);
		slip_store_free(st);
	} else {
		slip_test_fail(__FILE__, __LINE__, "open over TLS: %s",
		               slip_last_error());
	}
	slip_conn_free(c);
	c = NULL;

	/* Without the CA the server's certificate is not trusted. */
	o.tls_ca = NULL;
	REQUIRE_OK(slip_conn_new(&c, &o));
	int rc = slip_conn_connect(c);
	CHECK(rc == SLIP_EIO || rc == SLIP_EAUTH);
	slip_conn_free(c);
	c = NULL;

	/* An unreadable CA file is a usage error, found before any I/O. */
	o.tls_ca = "/nonexistent/ca.pem";
	REQUIRE_OK(slip_conn_new(&c, &o));
	CHECK_RC(slip_conn_connect(c), SLIP_EINVAL);
	slip_conn_free(c);
	slip_natsd_free(s);
}

/*
 * The answer expected from the server @p s runs: its version verbatim,
 * each feature flag exactly when the version has it, and a JetStream API
 * level from 2.11 on (0 before: those servers report none).
 */
static void check_version_caps(const slip_natsd *s,
                               const slip_capabilities *caps)
{
	int maj = 0, min = 0, pat = 0;
	char want[32];

	REQUIRE(slip_natsd_version(s, &maj, &min, &pat) == 0);
	snprintf(want, sizeof(want), "%d.%d.%d", maj, min, pat);
	fprintf(stderr,
	        "  nats-server %s: api_level=%d cluster=%d cas=%d "
	        "multi_filter=%d msg_ttl=%d batch_get=%d atomic_batch=%d "
	        "note=\"%s\"\n",
	        caps->server_version, caps->api_level, caps->cluster, caps->cas,
	        caps->multi_filter, caps->msg_ttl, caps->batch_get,
	        caps->atomic_batch, caps->note);
	CHECK(caps->version == SLIP_CAPABILITIES_VERSION);
	CHECK(strncmp(caps->server_version, want, strlen(want)) == 0);
	CHECK(caps->multi_filter == slip_natsd_at_least(s, 2, 10, 0));
	CHECK(caps->msg_ttl == slip_natsd_at_least(s, 2, 11, 0));
	CHECK(caps->batch_get == slip_natsd_at_least(s, 2, 11, 0));
	CHECK(caps->atomic_batch == slip_natsd_at_least(s, 2, 12, 0));
	if (slip_natsd_at_least(s, 2, 11, 0))
		CHECK(caps->api_level >= 1);
	else
		CHECK(caps->api_level == 0);
	CHECK(caps->streaming_watch && caps->prefix_watch &&
	      caps->global_ordering);
}

static void t_capabilities(void)
{
	slip_conn *c = NULL;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;
	REQUIRE_OK(nu_connect(&c, nu_url()));
	REQUIRE_OK(slip_conn_capabilities(c, &caps));
	/* A single (non-clustered) server: CAS is serializable. */
	CHECK(caps.cas);
	CHECK(!caps.cluster);
	CHECK(caps.note[0] == '\0');
	check_version_caps(nu_server(), &caps);
	CHECK(strcmp(slip_conn_backend_name(c), "nats") == 0);
	/* An uninitialised struct version is refused, not written past. */
	caps.version = 0;
	CHECK_RC(slip_conn_capabilities(c, &caps), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "SLIP_CAPABILITIES_INIT") != NULL);
	slip_conn_free(c);
}

static void t_capabilities_cluster(void)
{
	slip_natsd_cluster *cl = NULL;
	slip_conn *c = NULL;
	slip_capabilities caps = SLIP_CAPABILITIES_INIT;
	REQUIRE(slip_natsd_cluster_start(&cl, 3) == 0);
	slip_natsd *n0 = slip_natsd_cluster_node(cl, 0);
	bool serial = slip_natsd_at_least(n0, 2, 9, 21);
	CHECK_OK(slip_connect(&c, slip_natsd_cluster_urls(cl)));
	if (c != NULL && slip_conn_capabilities(c, &caps) == SLIP_OK) {
		/* Clustered CAS is serializable from 2.9.21 on only. */
		CHECK(caps.cluster);
		CHECK(caps.cas == serial);
		if (!serial)
			CHECK(strstr(caps.note, "2.9.21") != NULL);
		else
			CHECK(caps.note[0] == '\0');
		check_version_caps(n0, &caps);
	}
	slip_conn_free(c);
	slip_natsd_cluster_free(cl);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_url_rejected),
        SLIP_TEST(t_url_accepted),
        SLIP_TEST(t_bad_creds_input),
        SLIP_TEST(t_not_connected),
        SLIP_TEST(t_unreachable),
        SLIP_TEST(t_auth_user_pass),
        SLIP_TEST(t_auth_special_password),
        SLIP_TEST(t_tls_with_ca),
        SLIP_TEST(t_capabilities),
        SLIP_TEST(t_capabilities_cluster),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
