/*
 * tests/auth/test_tls.c — ctest nats-tls: a CA and a server certificate for
 * 127.0.0.1 are generated at test time with the openssl command (so no
 * committed certificate can expire), nats-server runs with a tls {} block,
 * and Slipstream connects over tls:// with tls_ca: a KV round trip works;
 * without the CA, or with an unrelated CA, connecting fails promptly with a
 * message — never a hang.
 */
#include "natsd.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[256];
static slip_natsd *g_srv;
static char g_ca[512], g_other_ca[512], g_url[128];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "failed (%d): %s\n", rc, cmd);
	return rc;
}

/* CA, server key+cert signed by it (SAN IP:127.0.0.1), an unrelated CA. */
static int make_certs(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[4096];
	FILE *f;

	snprintf(g_dir, sizeof(g_dir), "%s/slip-tls-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/san.cnf", g_dir);
	f = fopen(cmd, "w");
	if (!f)
		return -1;
	fputs("subjectAltName=IP:127.0.0.1,DNS:localhost\n", f);
	fclose(f);
	snprintf(
	        cmd, sizeof(cmd),
	        "cd '%s' && "
	        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	        "-nodes -keyout ca.key -out ca.pem -days 2 -subj "
	        "/CN=slip-test-ca "
	        "2>>openssl.log && "
	        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	        "-nodes "
	        "-keyout server.key -out server.csr -subj /CN=127.0.0.1 "
	        "2>>openssl.log && "
	        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
	        "-CAcreateserial -out server.pem -days 2 -extfile san.cnf "
	        "2>>openssl.log && "
	        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	        "-nodes -keyout other.key -out other.pem -days 2 "
	        "-subj /CN=slip-other-ca 2>>openssl.log",
	        g_dir);
	if (run(cmd) != 0) {
		fprintf(stderr,
		        "openssl is needed (apt-get install openssl); "
		        "see %s/openssl.log\n",
		        g_dir);
		return -1;
	}
	snprintf(g_ca, sizeof(g_ca), "%s/ca.pem", g_dir);
	snprintf(g_other_ca, sizeof(g_other_ca), "%s/other.pem", g_dir);
	return 0;
}

static int setup(void)
{
	char conf[2048];

	if (g_srv)
		return 0;
	if (make_certs() != 0)
		return -1;
	snprintf(conf, sizeof(conf),
	         "tls {\n  cert_file: \"%s/server.pem\"\n"
	         "  key_file: \"%s/server.key\"\n  timeout: 2\n}\n",
	         g_dir, g_dir);
	if (slip_natsd_start(&g_srv, conf) != 0)
		return -1;
	snprintf(g_url, sizeof(g_url), "tls://127.0.0.1:%d",
	         slip_natsd_port(g_srv));
	return 0;
}

static int try_connect(slip_conn **out, const char *ca)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	int rc;

	o.url = g_url;
	o.tls_ca = ca;
	o.connect_timeout_ms = 3000;
	o.max_reconnect = 1;
	*out = NULL;
	rc = slip_conn_new(&c, &o);
	if (rc == SLIP_OK)
		rc = slip_conn_connect(c);
	if (rc == SLIP_OK)
		*out = c;
	else
		slip_conn_free(c);
	return rc;
}

static void t_tls_with_ca(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *c = NULL;
	slip_store *st = NULL;
	slip_entry *e = NULL;

	REQUIRE(setup() == 0);
	REQUIRE_OK(try_connect(&c, g_ca));
	cfg.name = "tls_gen";
	CHECK_OK(slip_store_open_config(&st, c, &cfg));
	if (st) {
		CHECK_OK(slip_writer_put(slip_store_writer(st), "k", "v", 1,
		                         NULL));
		CHECK_OK(slip_reader_get(slip_store_reader(st), "k", &e));
		CHECK(e && e->value_len == 1 && e->value[0] == 'v');
	}
	slip_entry_free(e);
	slip_store_free(st);
	slip_conn_free(c);
}

static void expect_refused(const char *ca, const char *what)
{
	slip_conn *c = NULL;
	long long t0 = now_ms();
	int rc = try_connect(&c, ca);

	if (rc == SLIP_OK)
		slip_test_fail(__FILE__, __LINE__, "%s: connected", what);
	CHECK(strlen(slip_last_error()) > 0);
	/* Refused, not stalled: well within a few connect timeouts. */
	CHECK(now_ms() - t0 < 15000);
	fprintf(stderr, "  %s: %s (%s)\n", what, slip_err_name(rc),
	        slip_last_error());
	slip_conn_free(c);
}

static void t_tls_without_ca_fails(void)
{
	REQUIRE(setup() == 0);
	expect_refused(NULL, "no CA");
	expect_refused(g_other_ca, "unrelated CA");
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_tls_with_ca),
        SLIP_TEST(t_tls_without_ca_fails),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	char cmd[512];

	slip_natsd_free(g_srv);
	if (g_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
		run(cmd);
	}
	return rc;
}
