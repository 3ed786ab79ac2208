/*
 * tests/auth/test_auth.c — ctest auth-creds: Slipstream against a nats-server
 * in operator mode (operator, system account, application account and users
 * minted at test time by tests/js/mint.mjs; resolver MEMORY).
 *
 * Covers: base64 creds held in memory and a creds file both authenticate and
 * run a JetStream KV round trip; precedence creds > creds_file > URL user;
 * credentials of an account the server does not know fail with SLIP_EAUTH
 * promptly and with the server's reason; malformed base64, malformed creds
 * content and a missing creds file fail with SLIP_EINVAL without a connection
 * being made; the seed is never written to any file; and user:pass@ in the
 * URL against a server with an authorization block.
 */
/* memmem, pipe2 and nftw are GNU / X/Open interfaces. */
#define _GNU_SOURCE

#include "jsutil.h"
#include "natsd.h"
#include "test.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The operator-mode server and the minted credentials, made once. */
static slip_natsd *g_srv;
static char g_mint_dir[256];
static char *g_app_creds;   /* content of app.creds */
static char *g_stray_creds; /* content of stray.creds */
static char *g_mem_creds;   /* content of mem.creds (file deleted) */
static char g_app_path[512], g_stray_path[512];
static time_t g_start;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512], *out = NULL, *conf = NULL;
	const char *args[2];
	int rc = -1;

	if (g_srv)
		return 0;
	g_start = time(NULL);
	if (ju_check_node() != 0)
		return -1;
	snprintf(g_mint_dir, sizeof(g_mint_dir), "%s/slip-auth-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_mint_dir))
		return -1;
	args[0] = g_mint_dir;
	args[1] = NULL;
	if (ju_run(&out, "mint.mjs", args, 30000) != 0)
		goto done;
	snprintf(path, sizeof(path), "%s/auth.conf", g_mint_dir);
	conf = ju_read_file(path, NULL);
	snprintf(g_app_path, sizeof(g_app_path), "%s/app.creds", g_mint_dir);
	snprintf(g_stray_path, sizeof(g_stray_path), "%s/stray.creds",
	         g_mint_dir);
	g_app_creds = ju_read_file(g_app_path, NULL);
	g_stray_creds = ju_read_file(g_stray_path, NULL);
	snprintf(path, sizeof(path), "%s/mem.creds", g_mint_dir);
	g_mem_creds = ju_read_file(path, NULL);
	unlink(path); /* from now on these credentials live only in memory */
	if (!conf || !g_app_creds || !g_stray_creds || !g_mem_creds)
		goto done;
	rc = slip_natsd_start(&g_srv, conf);
done:
	free(out);
	free(conf);
	return rc;
}

static void teardown(void)
{
	char cmd[512];

	slip_natsd_free(g_srv);
	g_srv = NULL;
	if (g_mint_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_mint_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", g_mint_dir);
	}
	free(g_app_creds);
	free(g_stray_creds);
	free(g_mem_creds);
}

/* Total client connections the server has accepted so far. */
static long long total_connections(slip_natsd *s)
{
	char body[16384];
	const char *p;

	if (slip_natsd_http_get(s, "/varz", body, sizeof(body)) != 200)
		return -1;
	p = strstr(body, "\"total_connections\":");
	return p ? atoll(p + strlen("\"total_connections\":")) : -1;
}

/* Connects with @p o, returns the rc; on success *out is the connection. */
static int connect_with(slip_conn **out, const slip_conn_options *o)
{
	slip_conn *c = NULL;
	int rc = slip_conn_new(&c, o);

	*out = NULL;
	if (rc == SLIP_OK)
		rc = slip_conn_connect(c);
	if (rc == SLIP_OK)
		*out = c;
	else
		slip_conn_free(c);
	return rc;
}

/* A JetStream KV round trip over @p c: create-or-bind, put, get. */
static void kv_round_trip(slip_conn *c, const char *bucket)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_store *st = NULL;
	slip_entry *e = NULL;
	slip_version v;

	cfg.name = bucket;
	REQUIRE_OK(slip_store_open_config(&st, c, &cfg));
	CHECK_OK(slip_writer_put(slip_store_writer(st), "greeting", "hello", 5,
	                         &v));
	CHECK_OK(slip_reader_get(slip_store_reader(st), "greeting", &e));
	CHECK(e && e->value_len == 5 && !memcmp(e->value, "hello", 5));
	CHECK(e && slip_version_eq(&e->version, &v));
	slip_entry_free(e);
	slip_store_free(st);
}

static void t_creds_base64_in_memory(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	char *b64;

	REQUIRE(setup() == 0);
	b64 = ju_base64(g_mem_creds, strlen(g_mem_creds));
	REQUIRE(b64);
	o.url = slip_natsd_url(g_srv);
	o.creds = b64;
	CHECK_OK(connect_with(&c, &o));
	if (c) {
		CHECK(slip_conn_is_connected(c));
		kv_round_trip(c, "auth_b64");
	}
	slip_conn_free(c);
	free(b64);
}

static void t_creds_file(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;

	REQUIRE(setup() == 0);
	o.url = slip_natsd_url(g_srv);
	o.creds_file = g_app_path;
	CHECK_OK(connect_with(&c, &o));
	if (c)
		kv_round_trip(c, "auth_file");
	slip_conn_free(c);
}

static void t_precedence(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	char url[128], *good = NULL, *bad = NULL;

	REQUIRE(setup() == 0);
	good = ju_base64(g_app_creds, strlen(g_app_creds));
	bad = ju_base64(g_stray_creds, strlen(g_stray_creds));
	REQUIRE(good && bad);
	snprintf(url, sizeof(url), "nats://nobody:nothing@127.0.0.1:%d",
	         slip_natsd_port(g_srv));

	/* creds wins over creds_file: good creds, bad file -> works. */
	o.url = slip_natsd_url(g_srv);
	o.creds = good;
	o.creds_file = g_stray_path;
	CHECK_OK(connect_with(&c, &o));
	slip_conn_free(c);
	/* ... and the other way round fails, so creds really was used. */
	o.creds = bad;
	o.creds_file = g_app_path;
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	slip_conn_free(c);

	/* creds_file wins over user:pass@ in the URL. */
	o.url = url;
	o.creds = NULL;
	o.creds_file = g_app_path;
	CHECK_OK(connect_with(&c, &o));
	slip_conn_free(c);
	o.creds_file = g_stray_path;
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	slip_conn_free(c);

	/* Only the URL user left: operator mode refuses it. */
	o.creds_file = NULL;
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	slip_conn_free(c);
	free(good);
	free(bad);
}

static void t_unknown_user_fails_fast(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	long long t0, elapsed;
	char *b64;

	REQUIRE(setup() == 0);
	o.url = slip_natsd_url(g_srv);
	o.creds_file = g_stray_path;
	o.connect_timeout_ms = 20000;
	t0 = now_ms();
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	elapsed = now_ms() - t0;
	/* A refusal, not a timeout: well under the connect timeout. */
	CHECK(elapsed < o.connect_timeout_ms / 2);
	CHECK(strstr(slip_last_error(), "Authorization Violation") != NULL);
	slip_conn_free(c);

	b64 = ju_base64(g_stray_creds, strlen(g_stray_creds));
	REQUIRE(b64);
	o.creds_file = NULL;
	o.creds = b64;
	t0 = now_ms();
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	CHECK(now_ms() - t0 < o.connect_timeout_ms / 2);
	CHECK(strstr(slip_last_error(), "Authorization Violation") != NULL);
	slip_conn_free(c);
	free(b64);
}

/* Expects EINVAL from new or connect, a message, and no connection made. */
static void expect_einval(slip_conn_options *o, const char *what)
{
	slip_conn *c = NULL;
	long long before = total_connections(g_srv);
	int rc = slip_conn_new(&c, o);

	if (rc == SLIP_OK)
		rc = slip_conn_connect(c);
	if (rc != SLIP_EINVAL)
		slip_test_fail(__FILE__, __LINE__, "%s: got %s, want EINVAL",
		               what, slip_err_name(rc));
	CHECK(strlen(slip_last_error()) > 0);
	slip_conn_free(c);
	CHECK(before >= 0 && total_connections(g_srv) == before);
}

static void t_malformed_creds(void)
{
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	char missing[600], *b64;

	REQUIRE(setup() == 0);
	o.url = slip_natsd_url(g_srv);
	o.creds = "%%% not base64 %%%";
	expect_einval(&o, "bad base64");
	o.creds = "aGVsbG8gd29ybGQ="; /* "hello world" */
	expect_einval(&o, "not a creds file");
	/* A creds file whose seed section is cut off. */
	b64 = ju_base64(g_app_creds, strstr(g_app_creds, "NKEY") - g_app_creds);
	REQUIRE(b64);
	o.creds = b64;
	expect_einval(&o, "truncated creds");
	free(b64);
	o.creds = NULL;
	snprintf(missing, sizeof(missing), "%s/no-such.creds", g_mint_dir);
	o.creds_file = missing;
	expect_einval(&o, "missing creds file");
}

/* ----------------------------------------------- no seed on disk, anywhere */

static const char *g_seed;
static const char *g_skip_dir;
static int g_seed_hits;

static int scan_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	char *buf;
	size_t len = 0;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) ||
	    st->st_mtime < g_start - 1 || st->st_size > (64 << 20))
		return 0;
	if (g_skip_dir && !strncmp(path, g_skip_dir, strlen(g_skip_dir)))
		return 0;
	buf = ju_read_file(path, &len);
	if (buf && memmem(buf, len, g_seed, strlen(g_seed))) {
		fprintf(stderr, "seed found in %s\n", path);
		g_seed_hits++;
	}
	free(buf);
	return 0;
}

/* The "SU..." seed line of a creds file (static buffer). */
static const char *seed_of(const char *creds)
{
	static char seed[256];
	const char *p = strstr(creds, "\nSU");

	if (!p)
		return NULL;
	snprintf(seed, sizeof(seed), "%.*s", (int)strcspn(p + 1, "\r\n"),
	         p + 1);
	return seed;
}

static void t_seed_never_written(void)
{
	const char *tmp = getenv("TMPDIR");
	char cwd[1024];

	REQUIRE(setup() == 0);
	/* Runs after the in-memory connection above (cases run in order). */
	g_seed = seed_of(g_mem_creds);
	REQUIRE(g_seed && strlen(g_seed) > 50);
	g_seed_hits = 0;
	g_skip_dir = NULL; /* mem.creds was deleted: nothing may hold it */
	nftw("/tmp", scan_one, 16, FTW_PHYS);
	if (tmp && *tmp && strcmp(tmp, "/tmp"))
		nftw(tmp, scan_one, 16, FTW_PHYS);
	if (getcwd(cwd, sizeof(cwd)))
		nftw(cwd, scan_one, 16, FTW_PHYS);
	nftw(slip_natsd_dir(g_srv), scan_one, 16, FTW_PHYS);
	CHECK(g_seed_hits == 0);

	/* The file-based seed exists only in its own file. */
	g_seed = seed_of(g_app_creds);
	REQUIRE(g_seed);
	g_seed_hits = 0;
	g_skip_dir = g_mint_dir;
	nftw("/tmp", scan_one, 16, FTW_PHYS);
	if (getcwd(cwd, sizeof(cwd)))
		nftw(cwd, scan_one, 16, FTW_PHYS);
	CHECK(g_seed_hits == 0);
}

/* ------------------------------------------------------------ user:pass@ */

static void t_user_pass_in_url(void)
{
	slip_natsd *s = NULL;
	slip_conn_options o = SLIP_CONN_OPTIONS_INIT;
	slip_conn *c = NULL;
	char url[128];
	long long t0;

	REQUIRE(slip_natsd_start(&s, "authorization {\n  users = [\n"
	                             "    {user: alice, password: s3cret}\n"
	                             "  ]\n}\n") == 0);
	snprintf(url, sizeof(url), "nats://alice:s3cret@127.0.0.1:%d",
	         slip_natsd_port(s));
	o.url = url;
	CHECK_OK(connect_with(&c, &o));
	if (c)
		kv_round_trip(c, "auth_userpass");
	slip_conn_free(c);

	snprintf(url, sizeof(url), "nats://alice:wrong@127.0.0.1:%d",
	         slip_natsd_port(s));
	o.connect_timeout_ms = 20000;
	t0 = now_ms();
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	CHECK(now_ms() - t0 < 10000);
	CHECK(strstr(slip_last_error(), "Authorization Violation") != NULL);
	slip_conn_free(c);

	/* No user at all against a server that wants one. */
	o.url = slip_natsd_url(s);
	CHECK_RC(connect_with(&c, &o), SLIP_EAUTH);
	slip_conn_free(c);
	slip_natsd_free(s);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_creds_base64_in_memory),
        SLIP_TEST(t_creds_file),
        SLIP_TEST(t_precedence),
        SLIP_TEST(t_unknown_user_fails_fast),
        SLIP_TEST(t_malformed_creds),
        SLIP_TEST(t_seed_never_written),
        SLIP_TEST(t_user_pass_in_url),
        {0},
};

int main(int argc, char **argv)
{
	int rc = slip_test_main(argc, argv, cases);
	teardown();
	return rc;
}
