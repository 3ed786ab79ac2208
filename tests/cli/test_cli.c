/*
 * tests/cli/test_cli.c — the `slipstream` tool end to end against a real
 * nats-server (started by the harness): every subcommand, --json output
 * parsed and checked, exit codes, and bad input (unknown flags, bad URL,
 * bad key, missing / corrupt snapshot, wrong credentials, bad base64).
 *
 * The tool's path comes from CMake (SLIP_CLI_PATH). Each case uses its own
 * bucket on one shared server; the auth case starts a second server with
 * an authorization block.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natsd.h"
#include "run.h"
#include "test.h"

#ifndef SLIP_CLI_PATH
#error "SLIP_CLI_PATH must name the slipstream binary"
#endif

#define TIMEOUT_MS 60000
#define MAX_ARGS   40

static slip_natsd *server;
static char tmpdir[256];

static const char *url(void)
{
	if (!server && slip_natsd_start(&server, NULL) != 0)
		return "nats://127.0.0.1:1"; /* the checks then fail */
	return slip_natsd_url(server);
}

static void cleanup(void)
{
	char cmd[300];
	slip_natsd_free(server);
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

static const char *tmp_path(const char *name)
{
	static char path[8][512];
	static int next;
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/slip-cli-test-XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	char *p = path[next++ % 8];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

/* Runs the tool with the given arguments (NULL-terminated) and stdin. */
static void vrun(run_result *r, const char *in, const char **env, va_list ap)
{
	char *argv[MAX_ARGS + 2];
	int n = 0;
	const char *a;
	argv[n++] = (char *)SLIP_CLI_PATH;
	while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	if (run_argv(r, in, in ? strlen(in) : 0, env, argv, TIMEOUT_MS) != 0)
		slip_test_fail(__FILE__, __LINE__, "cannot run %s",
		               SLIP_CLI_PATH);
	if (r->timed_out)
		slip_test_fail(__FILE__, __LINE__, "%s %s ... hung", argv[0],
		               argv[1] ? argv[1] : "");
}

static void cli_run(run_result *r, const char *in, ...)
{
	va_list ap;
	va_start(ap, in);
	vrun(r, in, NULL, ap);
	va_end(ap);
}

static void cli_env(run_result *r, const char **env, const char *in, ...)
{
	va_list ap;
	va_start(ap, in);
	vrun(r, in, env, ap);
	va_end(ap);
}

#define CLI(r, in, ...) cli_run(r, in, __VA_ARGS__, (const char *)NULL)
#define CLI_ENV(r, env, in, ...)                                               \
	cli_env(r, env, in, __VA_ARGS__, (const char *)NULL)

/* Expects exit @p code; prints what the tool said when it differs. */
#define CHECK_EXIT(r, c)                                                       \
	do {                                                                   \
		if ((r).code != (c))                                           \
			slip_test_fail(                                        \
			        __FILE__, __LINE__,                            \
			        "exit %d, expected %d; stdout: %.300s; "       \
			        "stderr: %.300s",                              \
			        (r).code, (c), (r).out ? (r).out : "",         \
			        (r).err ? (r).err : "");                       \
	} while (0)

/* Parses every stdout line as one JSON object; -1 when any is not. */
static int lines(const run_result *r, jobj *objs, size_t max, size_t *n)
{
	const char *p = r->out ? r->out : "";
	*n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (*n >= max || json_parse_line(&objs[*n], p, len) != 0) {
			slip_test_fail(__FILE__, __LINE__,
			               "not one JSON object per line: %.*s",
			               (int)len, p);
			return -1;
		}
		(*n)++;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

static void free_lines(jobj *objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_free(&objs[i]);
}

/* Creates bucket @p name on the shared server. */
static void make_bucket(const char *name)
{
	run_result r;
	CLI(&r, NULL, "bucket", "create", name, "--url", url(), "--history",
	    "5");
	CHECK_EXIT(r, 0);
	run_free(&r);
}

/* ------------------------------------------------------------------ help */

static void t_help_and_usage(void)
{
	run_result r;
	CLI(&r, NULL, "--version");
	CHECK_EXIT(r, 0);
	CHECK(strncmp(r.out, "slipstream ", 11) == 0);
	run_free(&r);

	CLI(&r, NULL, "--help");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "Exit codes") && strstr(r.out, "mirror BUCKET"));
	run_free(&r);

	CLI(&r, NULL, "update", "--help");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "usage: slipstream update KEY"));
	run_free(&r);

	CLI(&r, NULL, "snapshot", "--help");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "snapshot verify FILE"));
	run_free(&r);

	cli_run(&r, NULL, (const char *)NULL);
	CHECK_EXIT(r, 2);
	run_free(&r);

	CLI(&r, NULL, "get", "k", "--frobnicate");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "unknown option --frobnicate"));
	run_free(&r);

	CLI(&r, NULL, "fly", "away");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "unknown command \"fly\""));
	run_free(&r);

	CLI(&r, NULL, "get");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "usage: slipstream get KEY"));
	run_free(&r);

	CLI(&r, NULL, "snapshot", "info", "f", "--bucket", "b");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "does not take --bucket"));
	run_free(&r);

	CLI(&r, NULL, "bucket", "explode", "b");
	CHECK_EXIT(r, 2);
	run_free(&r);

	CLI(&r, NULL, "get", "k", "--url");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "needs a value"));
	run_free(&r);
}

/* ---------------------------------------------------------------- bucket */

static void t_bucket_create_info_rm(void)
{
	run_result r;
	jobj o[4];
	size_t n;

	CLI(&r, NULL, "bucket", "create", "cfg", "--url", url(), "--history",
	    "7", "--max-age", "1h30m", "--description", "fleet config",
	    "--max-value-size", "64K", "--storage", "memory", "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 4, &n) == 0 && n == 1) {
		CHECK(strcmp(json_str(&o[0], "bucket"), "cfg") == 0);
		CHECK(json_num(&o[0], "history") == 7);
		CHECK(json_num(&o[0], "max_age_ms") == 5400000);
		CHECK(json_num(&o[0], "max_value_size") == 65536);
		CHECK(strcmp(json_str(&o[0], "storage"), "memory") == 0);
		CHECK(strcmp(json_str(&o[0], "description"), "fleet config") ==
		      0);
		CHECK(json_num(&o[0], "keys") == 0);
		free_lines(o, n);
	} else {
		CHECK(!"bucket create --json: one object");
	}
	run_free(&r);

	/* Same configuration again: binds. Another: conflict, exit 3. */
	CLI(&r, NULL, "bucket", "create", "cfg", "--url", url(), "--history",
	    "7", "--max-age", "1h30m", "--description", "fleet config",
	    "--max-value-size", "64K", "--storage", "memory");
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "bucket", "create", "cfg", "--url", url(), "--history",
	    "2");
	CHECK_EXIT(r, 3);
	CHECK(r.err[0] != '\0');
	run_free(&r);

	CLI(&r, NULL, "bucket", "create", "x", "--url", url(), "--max-age",
	    "soon");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "--max-age \"soon\""));
	run_free(&r);
	CLI(&r, NULL, "bucket", "create", "x", "--url", url(), "--storage",
	    "tape");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "bucket", "create", "bad.name", "--url", url());
	CHECK_EXIT(r, 2);
	run_free(&r);

	CLI(&r, NULL, "bucket", "info", "cfg", "--url", url());
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "history:         7"));
	run_free(&r);

	CLI(&r, NULL, "bucket", "rm", "cfg", "--url", url());
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "bucket", "info", "cfg", "--url", url());
	CHECK_EXIT(r, 1);
	CHECK(strstr(r.err, "cfg"));
	run_free(&r);
	CLI(&r, NULL, "bucket", "rm", "cfg", "--url", url());
	CHECK_EXIT(r, 1);
	run_free(&r);
}

/* -------------------------------------------------------------- get / put */

static void t_put_get_json(void)
{
	run_result r;
	jobj o[2];
	size_t n;
	const char *env[] = {"SLIPSTREAM_BUCKET=kv", NULL};
	make_bucket("kv");

	CLI_ENV(&r, env, NULL, "put", "node.a", "{\"cpu\":4}", "--url", url());
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "node.a revision "));
	run_free(&r);

	CLI(&r, NULL, "get", "node.a", "--url", url(), "--bucket", "kv");
	CHECK_EXIT(r, 0);
	CHECK(strcmp(r.out, "{\"cpu\":4}\n") == 0);
	run_free(&r);

	CLI(&r, NULL, "get", "node.a", "--url", url(), "--bucket", "kv",
	    "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 2, &n) == 0 && n == 1) {
		CHECK(strcmp(json_str(&o[0], "op"), "put") == 0);
		CHECK(strcmp(json_str(&o[0], "key"), "node.a") == 0);
		CHECK(strcmp(json_str(&o[0], "value"), "{\"cpu\":4}") == 0);
		CHECK(json_num(&o[0], "revision") >= 1);
		free_lines(o, n);
	}
	run_free(&r);

	/* Value from stdin, with every character JSON must escape. */
	const char nasty[] = "q\"b\\s/\n\t\r\x01\x1f é ✓ 😀";
	CLI(&r, nasty, "put", "text", "--url", url(), "-b", "kv");
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "get", "text", "--url", url(), "-b", "kv", "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 2, &n) == 0 && n == 1) {
		const jmember *m = json_get(&o[0], "value");
		CHECK(m && m->len == strlen(nasty) &&
		      memcmp(m->str, nasty, m->len) == 0);
		free_lines(o, n);
	}
	run_free(&r);
	CLI(&r, NULL, "get", "text", "--url", url(), "-b", "kv", "--raw");
	CHECK_EXIT(r, 0);
	CHECK(r.out_len == strlen(nasty) &&
	      memcmp(r.out, nasty, r.out_len) == 0);
	run_free(&r);

	/* Bytes that are not UTF-8 come out as value_b64. */
	const char bin[] = "\xff\xfe\xc0\x80zz\xed\xa0\x80";
	CLI(&r, bin, "put", "bin", "--url", url(), "-b", "kv");
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "get", "bin", "--url", url(), "-b", "kv", "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 2, &n) == 0 && n == 1) {
		unsigned char dec[64];
		CHECK(json_get(&o[0], "value") == NULL);
		long len = b64_decode(dec, json_str(&o[0], "value_b64"));
		CHECK(len == (long)strlen(bin) && memcmp(dec, bin, len) == 0);
		free_lines(o, n);
	}
	run_free(&r);

	CLI(&r, NULL, "get", "nope", "--url", url(), "-b", "kv");
	CHECK_EXIT(r, 1);
	CHECK(strstr(r.err, "get \"nope\"") && strstr(r.err, "not found"));
	run_free(&r);

	CLI(&r, NULL, "put", "a..b", "v", "--url", url(), "-b", "kv");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "a..b"));
	run_free(&r);
	CLI(&r, NULL, "get", ".lead", "--url", url(), "-b", "kv");
	CHECK_EXIT(r, 2);
	run_free(&r);

	CLI(&r, NULL, "get", "node.a", "--url", url());
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "--bucket"));
	run_free(&r);
	CLI(&r, NULL, "get", "node.a", "--url", url(), "-b", "missing");
	CHECK_EXIT(r, 1);
	CHECK(strstr(r.err, "missing"));
	run_free(&r);
}

/* -------------------------------------------------------------------- CAS */

static char *revision_of(run_result *r)
{
	static char rev[32];
	const char *p = strstr(r->out ? r->out : "", "revision ");
	snprintf(rev, sizeof(rev), "%s", p ? p + 9 : "0");
	rev[strcspn(rev, "\n")] = '\0';
	return rev;
}

static void t_cas(void)
{
	run_result r;
	char rev[32];
	make_bucket("cas");

	CLI(&r, NULL, "create", "k", "v1", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 0);
	snprintf(rev, sizeof(rev), "%s", revision_of(&r));
	run_free(&r);
	CLI(&r, NULL, "create", "k", "v2", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 3);
	CHECK(strstr(r.err, "\"k\""));
	run_free(&r);

	CLI(&r, NULL, "update", "k", "v2", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 2); /* --version is required */
	run_free(&r);
	CLI(&r, NULL, "update", "k", "v2", "--version", "999999", "--url",
	    url(), "-b", "cas");
	CHECK_EXIT(r, 3);
	run_free(&r);
	CLI(&r, NULL, "update", "k", "v2", "--version", "x12", "--url", url(),
	    "-b", "cas");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "update", "k", "v2", "--version", rev, "--url", url(),
	    "-b", "cas");
	CHECK_EXIT(r, 0);
	snprintf(rev, sizeof(rev), "%s", revision_of(&r));
	run_free(&r);

	CLI(&r, NULL, "del", "k", "--version", "1", "--url", url(), "-b",
	    "cas");
	CHECK_EXIT(r, 3);
	run_free(&r);
	CLI(&r, NULL, "del", "k", "--version", rev, "--url", url(), "-b", "cas",
	    "--json");
	CHECK_EXIT(r, 0);
	CHECK(strcmp(r.out, "{\"op\":\"delete\",\"key\":\"k\"}\n") == 0);
	run_free(&r);
	CLI(&r, NULL, "get", "k", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 1);
	run_free(&r);
	CLI(&r, NULL, "create", "k", "v3", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 0); /* a tombstone counts as absent */
	run_free(&r);
	CLI(&r, NULL, "del", "never.was", "--url", url(), "-b", "cas");
	CHECK_EXIT(r, 0);
	run_free(&r);
}

/* ----------------------------------------------------- keys, scan, load */

static void t_load_keys_scan_purge(void)
{
	run_result r;
	jobj o[16];
	size_t n;
	make_bucket("ks");

	CLI(&r,
	    "node.us-1\tone\nnode.us-2\ttwo\n\nnode.eu-1\tthree\nsvc.x\t"
	    "four\n",
	    "load", "-", "--url", url(), "-b", "ks");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "loaded 4 keys"));
	run_free(&r);

	CLI(&r, "ok.key\tv\nno tab here\n", "load", "-", "--url", url(), "-b",
	    "ks");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "line 2"));
	run_free(&r);

	CLI(&r, NULL, "keys", "node.us-", "--url", url(), "-b", "ks", "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 16, &n) == 0) {
		CHECK(n == 2);
		for (size_t i = 0; i < n; i++)
			CHECK(strncmp(json_str(&o[i], "key"), "node.us-", 8) ==
			      0);
		free_lines(o, n);
	}
	run_free(&r);

	CLI(&r, NULL, "purge", "node.us-2", "--url", url(), "-b", "ks");
	CHECK_EXIT(r, 0);
	run_free(&r);

	CLI(&r, NULL, "scan", "node.", "--url", url(), "-b", "ks", "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 16, &n) == 0) {
		CHECK(n == 2);
		for (size_t i = 0; i < n; i++) {
			const char *k = json_str(&o[i], "key");
			CHECK(strcmp(k, "node.us-1") == 0 ||
			      strcmp(k, "node.eu-1") == 0);
			CHECK(strcmp(json_str(&o[i], "op"), "put") == 0);
			CHECK(json_num(&o[i], "revision") > 0);
		}
		free_lines(o, n);
	}
	run_free(&r);

	CLI(&r, NULL, "scan", "--url", url(), "-b", "ks");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "svc.x\tfour\n") && strstr(r.out, "node.eu-1\t"));
	run_free(&r);

	/* --progress forces the progress line (on stderr) off a terminal. */
	CLI(&r, NULL, "scan", "--progress", "--url", url(), "-b", "ks");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.err, "scan: ") && strstr(r.out, "svc.x\tfour\n"));
	run_free(&r);
	CLI(&r, NULL, "scan", "--url", url(), "-b", "ks");
	CHECK(r.err[0] == '\0'); /* quiet when not a terminal */
	run_free(&r);

	CLI(&r, NULL, "keys", "bad..prefix", "--url", url(), "-b", "ks");
	CHECK_EXIT(r, 2);
	run_free(&r);
}

/* ------------------------------------------------------------------ watch */

static void t_watch(void)
{
	run_result r;
	jobj o[16];
	size_t n;
	char cursor[80] = "";
	make_bucket("w");

	CLI(&r, "a\t1\nb\t2\n", "load", "-", "--url", url(), "-b", "w");
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "watch", "--until-caught-up", "--json", "--url", url(),
	    "-b", "w");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 16, &n) == 0) {
		CHECK(n == 2);
		for (size_t i = 0; i < n; i++)
			CHECK(strlen(json_str(&o[i], "cursor")) >= 16);
		if (n > 0)
			snprintf(cursor, sizeof(cursor), "%s",
			         json_str(&o[n - 1], "cursor"));
		free_lines(o, n);
	}
	run_free(&r);

	/* bucket info's cursor is where a caught-up watch stands. */
	CLI(&r, NULL, "bucket", "info", "w", "--json", "--url", url());
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 16, &n) == 0 && n == 1) {
		CHECK(strcmp(json_str(&o[0], "cursor"), cursor) == 0);
		CHECK(json_num(&o[0], "keys") == 2);
		CHECK(json_num(&o[0], "last_revision") == 2);
		free_lines(o, n);
	}
	run_free(&r);

	CLI(&r, NULL, "put", "c", "3", "--url", url(), "-b", "w");
	run_free(&r);
	CLI(&r, NULL, "del", "a", "--url", url(), "-b", "w");
	run_free(&r);
	CLI(&r, NULL, "watch", "--from", cursor, "--until-caught-up", "--json",
	    "--url", url(), "-b", "w");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 16, &n) == 0) {
		CHECK(n == 2);
		if (n == 2) {
			CHECK(strcmp(json_str(&o[0], "key"), "c") == 0);
			CHECK(strcmp(json_str(&o[1], "op"), "delete") == 0);
		}
		free_lines(o, n);
	}
	run_free(&r);

	CLI(&r, NULL, "watch", "--count", "1", "--url", url(), "-b", "w");
	CHECK_EXIT(r, 0);
	CHECK(strncmp(r.out, "put", 3) == 0);
	run_free(&r);

	CLI(&r, NULL, "watch", "--from", "xyz", "--url", url(), "-b", "w");
	CHECK_EXIT(r, 2);
	run_free(&r);

	/* A cursor of the bucket's former incarnation has expired. */
	CLI(&r, NULL, "bucket", "rm", "w", "--url", url());
	run_free(&r);
	make_bucket("w");
	CLI(&r, NULL, "put", "z", "9", "--url", url(), "-b", "w");
	run_free(&r);
	CLI(&r, NULL, "watch", "--from", cursor, "--until-caught-up", "--url",
	    url(), "-b", "w");
	CHECK_EXIT(r, 6);
	CHECK(strstr(r.err, "expired"));
	run_free(&r);
}

/* ---------------------------------------------------------------- mirror */

/* Sorted "key value" lines of a --json dump or scan, for comparing. */
static int state_of(run_result *r, char *out, size_t outsz)
{
	jobj o[64];
	size_t n, off = 0;
	char *rows[64];
	if (lines(r, o, 64, &n) != 0)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!json_get(&o[i], "key"))
			continue;
		rows[k] = malloc(256);
		snprintf(rows[k], 256, "%s=%s", json_str(&o[i], "key"),
		         json_str(&o[i], "value"));
		k++;
	}
	for (size_t i = 0; i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (strcmp(rows[i], rows[j]) > 0) {
				char *t = rows[i];
				rows[i] = rows[j];
				rows[j] = t;
			}
	out[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		off += (size_t)snprintf(out + off, outsz - off, "%s;", rows[i]);
		free(rows[i]);
	}
	free_lines(o, n);
	return (int)k;
}

static void check_mirror_equals_bucket(const char *snap, const char *bucket)
{
	run_result a, b;
	char sa[4096], sb[4096];
	CLI(&a, NULL, "snapshot", "dump", snap, "--json");
	CHECK_EXIT(a, 0);
	CLI(&b, NULL, "scan", "--url", url(), "-b", bucket, "--json");
	CHECK_EXIT(b, 0);
	CHECK(strstr(a.out, "{\"cursor\":\""));
	int na = state_of(&a, sa, sizeof(sa)),
	    nb = state_of(&b, sb, sizeof(sb));
	CHECK(na >= 0 && na == nb);
	if (strcmp(sa, sb) != 0)
		slip_test_fail(__FILE__, __LINE__, "snapshot %s != bucket %s",
		               sa, sb);
	run_free(&a);
	run_free(&b);
}

/* Runs mirror --until-caught-up --json; returns its caught_up object. */
static int mirror_once(jobj *caught, const char *snap)
{
	run_result r;
	jobj o[256];
	size_t n;
	int found = -1;
	CLI(&r, NULL, "mirror", "m", "--snapshot", snap, "--until-caught-up",
	    "--json", "--url", url());
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 256, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (found < 0 && json_get(&o[i], "caught_up")) {
				*caught = o[i];
				found = (int)i;
			} else {
				json_free(&o[i]);
			}
		}
	}
	run_free(&r);
	return found >= 0 ? 0 : -1;
}

static void t_mirror(void)
{
	const char *snap = tmp_path("m.snap");
	run_result r;
	jobj c;
	make_bucket("m");

	CLI(&r, "cfg.a\t1\ncfg.b\t2\ncfg.c\t3\ncfg.d\t4\n", "load", "-",
	    "--url", url(), "-b", "m");
	run_free(&r);
	REQUIRE(mirror_once(&c, snap) == 0);
	CHECK(json_num(&c, "put") == 4 && json_num(&c, "keys") == 4);
	CHECK(!json_get(&c, "resync")->boolean);
	json_free(&c);
	check_mirror_equals_bucket(snap, "m");

	/* Only the delta arrives after a restart. */
	CLI(&r, NULL, "put", "cfg.a", "10", "--url", url(), "-b", "m");
	run_free(&r);
	CLI(&r, NULL, "del", "cfg.b", "--url", url(), "-b", "m");
	run_free(&r);
	CLI(&r, NULL, "purge", "cfg.c", "--url", url(), "-b", "m");
	run_free(&r);
	REQUIRE(mirror_once(&c, snap) == 0);
	CHECK(json_num(&c, "applied") == 3);
	CHECK(json_num(&c, "put") == 1 && json_num(&c, "delete") == 1 &&
	      json_num(&c, "purge") == 1);
	CHECK(json_num(&c, "keys") == 2);
	json_free(&c);
	check_mirror_equals_bucket(snap, "m");

	/* Nothing changed: nothing applied. */
	REQUIRE(mirror_once(&c, snap) == 0);
	CHECK(json_num(&c, "applied") == 0);
	json_free(&c);

	/* Deleted and recreated with other contents: resync. */
	CLI(&r, NULL, "bucket", "rm", "m", "--url", url());
	run_free(&r);
	make_bucket("m");
	CLI(&r, "new.x\t1\nnew.y\t2\ncfg.a\t11\n", "load", "-", "--url", url(),
	    "-b", "m");
	run_free(&r);
	REQUIRE(mirror_once(&c, snap) == 0);
	CHECK(json_get(&c, "resync")->boolean);
	CHECK(json_num(&c, "keys") == 3);
	CHECK(json_num(&c, "resync_delete") == 1); /* cfg.d */
	json_free(&c);
	check_mirror_equals_bucket(snap, "m");

	CLI(&r, NULL, "mirror", "m", "--url", url());
	CHECK_EXIT(r, 2); /* --snapshot is required */
	run_free(&r);

	/* A prefix mirror holds only its keys; dump --prefix filters. */
	const char *psnap = tmp_path("p.snap");
	CLI(&r, NULL, "mirror", "m", "--snapshot", psnap, "--prefix", "new.",
	    "--until-caught-up", "--quiet", "--url", url());
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "snapshot holds 2 keys"));
	run_free(&r);
	CLI(&r, NULL, "snapshot", "dump", snap, "--prefix", "new.");
	CHECK_EXIT(r, 0);
	CHECK(strncmp(r.out, "new.x\t1\nnew.y\t2\n# cursor ", 25) == 0);
	run_free(&r);

	/* Human form: per-batch lines and the summary. */
	CLI(&r, NULL, "put", "new.z", "3", "--url", url(), "-b", "m");
	run_free(&r);
	CLI(&r, NULL, "mirror", "m", "--snapshot", snap, "--until-caught-up",
	    "--url", url());
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "resuming from snapshot cursor"));
	CHECK(strstr(r.out, "applied 1 (put 1"));
	CHECK(strstr(r.out, "caught up: applied 1 updates"));
	run_free(&r);
}

/* --------------------------------------------------------------- snapshot */

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Collects the "key" of every JSON line (lines without one are skipped)
 * into @p keys, comma-separated and sorted by appearance. */
static void keys_of(const run_result *r, char *keys, size_t cap)
{
	jobj o[32];
	size_t n = 0;
	keys[0] = '\0';
	if (lines(r, o, 32, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (json_get(&o[i], "key") != NULL)
			snprintf(keys + strlen(keys), cap - strlen(keys),
			         "%s%s", keys[0] ? "," : "",
			         json_str(&o[i], "key"));
	}
	free_lines(o, n);
}

/* --prefix repeats on keys, scan, watch and mirror: the union, each key
 * once, with a positional PREFIX where the command takes one. */
static void t_prefixes(void)
{
	const char *snap = tmp_path("mp.snap");
	char keys[512];
	run_result r;
	make_bucket("mp");

	CLI(&r, "node.us-1\t1\nnode.eu-1\t2\nsvc.x\t3\ncfg.a\t4\nother\t5\n",
	    "load", "-", "--url", url(), "-b", "mp");
	CHECK_EXIT(r, 0);
	run_free(&r);

	CLI(&r, NULL, "keys", "node.us-", "--prefix", "cfg.", "--prefix",
	    "node.", "--json", "--url", url(), "-b", "mp");
	CHECK_EXIT(r, 0);
	keys_of(&r, keys, sizeof(keys));
	CHECK(strcmp(keys, "node.us-1,node.eu-1,cfg.a") == 0);
	run_free(&r);

	CLI(&r, NULL, "scan", "--prefix", "svc.", "--prefix", "cfg.", "--url",
	    url(), "-b", "mp");
	CHECK_EXIT(r, 0);
	CHECK(strcmp(r.out, "svc.x\t3\ncfg.a\t4\n") == 0);
	run_free(&r);

	CLI(&r, NULL, "watch", "--prefix", "svc.", "--prefix", "node.us-",
	    "--until-caught-up", "--json", "--url", url(), "-b", "mp");
	CHECK_EXIT(r, 0);
	keys_of(&r, keys, sizeof(keys));
	CHECK(strcmp(keys, "node.us-1,svc.x") == 0);
	run_free(&r);

	CLI(&r, NULL, "mirror", "mp", "--snapshot", snap, "--prefix", "cfg.",
	    "--prefix", "svc.", "--until-caught-up", "--quiet", "--url", url());
	CHECK_EXIT(r, 0);
	run_free(&r);
	CLI(&r, NULL, "snapshot", "dump", snap, "--json");
	CHECK_EXIT(r, 0);
	keys_of(&r, keys, sizeof(keys));
	CHECK(strcmp(keys, "cfg.a,svc.x") == 0);
	run_free(&r);
	CLI(&r, NULL, "snapshot", "dump", snap, "--prefix", "svc.", "--prefix",
	    "zz", "--json");
	keys_of(&r, keys, sizeof(keys));
	CHECK(strcmp(keys, "svc.x") == 0);
	run_free(&r);

	CLI(&r, NULL, "watch", "--prefix", "ok.", "--prefix", "bad..p",
	    "--until-caught-up", "--url", url(), "-b", "mp");
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "bad..p") != NULL);
	run_free(&r);
}

static void t_snapshot_files(void)
{
	const char *snap = tmp_path("s.snap");
	run_result r;
	jobj o[4];
	size_t n;
	make_bucket("s");

	CLI(&r, "k1\tv1\nk2\tv2\n", "load", "-", "--url", url(), "-b", "s");
	run_free(&r);
	CLI(&r, NULL, "mirror", "s", "--snapshot", snap, "--until-caught-up",
	    "--quiet", "--url", url());
	CHECK_EXIT(r, 0);
	run_free(&r);

	CLI(&r, NULL, "snapshot", "info", snap, "--json");
	CHECK_EXIT(r, 0);
	if (lines(&r, o, 4, &n) == 0 && n == 1) {
		CHECK(json_num(&o[0], "keys") == 2);
		CHECK(json_num(&o[0], "format") == 2);
		CHECK(json_num(&o[0], "file_bytes") > 6);
		CHECK(strlen(json_str(&o[0], "cursor")) >= 16);
		free_lines(o, n);
	}
	run_free(&r);
	CLI(&r, NULL, "snapshot", "verify", snap);
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, ": ok"));
	run_free(&r);
	CLI(&r, NULL, "snapshot", "dump", snap);
	CHECK_EXIT(r, 0);
	CHECK(strncmp(r.out, "k1\tv1\nk2\tv2\n# cursor ", 21) == 0);
	run_free(&r);

	CLI(&r, NULL, "snapshot", "verify", tmp_path("absent.snap"));
	CHECK_EXIT(r, 1);
	run_free(&r);

	/* A CRC failure followed by a valid record: corrupted, exit 5. */
	FILE *f = fopen(snap, "rb");
	unsigned char buf[4096];
	size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	REQUIRE(len > 20);
	buf[10] ^= 0x55; /* inside the first record */
	write_bytes(tmp_path("bad.snap"), buf, len);
	CLI(&r, NULL, "snapshot", "verify", tmp_path("bad.snap"));
	CHECK_EXIT(r, 5);
	CHECK(strstr(r.err, "bad.snap"));
	run_free(&r);
	CLI(&r, NULL, "mirror", "s", "--snapshot", tmp_path("bad.snap"),
	    "--until-caught-up", "--url", url());
	CHECK_EXIT(r, 5);
	run_free(&r);

	/* An unknown format version: exit 5. */
	write_bytes(tmp_path("v9.snap"), "PGSS\x09\x00", 6);
	CLI(&r, NULL, "snapshot", "info", tmp_path("v9.snap"));
	CHECK_EXIT(r, 5);
	run_free(&r);

	/* A torn tail is dropped, not an error. */
	memcpy(buf + len, "\x01\x02\x03", 3);
	buf[10] ^= 0x55;
	write_bytes(tmp_path("torn.snap"), buf, len + 3);
	CLI(&r, NULL, "snapshot", "verify", tmp_path("torn.snap"), "--json");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "\"torn_tail\":true"));
	run_free(&r);
}

/* ------------------------------------------------------------ connection */

static void t_connection_errors(void)
{
	run_result r;
	slip_natsd *auth = NULL;
	char good[256], bad[256];

	CLI(&r, NULL, "get", "k", "-b", "x", "--url", "nats://127.0.0.1:1",
	    "--timeout", "2s");
	CHECK_EXIT(r, 4);
	CHECK(r.err[0] != '\0');
	run_free(&r);
	CLI(&r, NULL, "get", "k", "-b", "x", "--url", "bogus://x");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "get", "k", "-b", "x", "--url", url(), "--creds",
	    "!!not base64!!");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "get", "k", "-b", "x", "--url", url(), "--timeout",
	    "fast");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "get", "k", "-b", "x", "--url", url(), "--creds-file",
	    tmp_path("no.creds"));
	CHECK_EXIT(r, 2);
	CHECK(strstr(r.err, "no.creds"));
	run_free(&r);
	/* Valid base64 of something that is not a .creds file. */
	CLI(&r, NULL, "get", "k", "-b", "x", "--url", url(), "--creds",
	    "bm90IGEgY3JlZHMgZmlsZQ==");
	CHECK_EXIT(r, 2);
	run_free(&r);
	CLI(&r, NULL, "get", "k", "-b", "x", "--url",
	    "nats://127.0.0.1:notaport");
	CHECK_EXIT(r, 2);
	run_free(&r);

	/* mem:// is accepted for one-shot use. */
	CLI(&r, NULL, "put", "k", "v", "--url", "mem://cli", "-b", "x");
	CHECK_EXIT(r, 0);
	run_free(&r);

	REQUIRE(slip_natsd_start(&auth, "authorization {\n  user: alice\n"
	                                "  password: s3cret\n}\n") == 0);
	int port = slip_natsd_port(auth);
	snprintf(good, sizeof(good), "nats://alice:s3cret@127.0.0.1:%d", port);
	snprintf(bad, sizeof(bad), "nats://alice:wrong@127.0.0.1:%d", port);
	CLI(&r, NULL, "bucket", "create", "a", "--url", bad);
	CHECK_EXIT(r, 4);
	CHECK(r.err[0] != '\0');
	run_free(&r);
	CLI(&r, NULL, "bucket", "create", "a", "--url", good);
	CHECK_EXIT(r, 0);
	run_free(&r);
	slip_natsd_free(auth);
}

/*
 * `server`: the version printed is the running server's, and each feature
 * line is the answer for that version (text and --json); the memory
 * backend names no version and has every feature.
 */
static void t_server(void)
{
	run_result r;
	jobj o[2];
	size_t n;
	int maj = 0, min = 0, pat = 0;
	char want[48];

	CLI(&r, NULL, "server", "--url", url());
	CHECK_EXIT(r, 0);
	REQUIRE(slip_natsd_version(server, &maj, &min, &pat) == 0);
	snprintf(want, sizeof(want), "server version:      %d.%d.%d", maj, min,
	         pat);
	CHECK(strstr(r.out, want) != NULL);
	CHECK(strstr(r.out, "cluster:             no") != NULL);
	CHECK(strstr(r.out, "serializable CAS:    yes") != NULL);
	CHECK(strstr(r.out, slip_natsd_at_least(server, 2, 10, 0)
	                            ? "multi-filter watch:  yes"
	                            : "multi-filter watch:  no") != NULL);
	CHECK(strstr(r.out, slip_natsd_at_least(server, 2, 12, 0)
	                            ? "atomic batch:        yes"
	                            : "atomic batch:        no") != NULL);
	run_free(&r);

	CLI(&r, NULL, "server", "--url", url(), "--json");
	CHECK_EXIT(r, 0);
	snprintf(want, sizeof(want), "%d.%d.%d", maj, min, pat);
	if (lines(&r, o, 2, &n) == 0 && n == 1) {
		CHECK(strcmp(json_str(&o[0], "backend"), "nats") == 0);
		CHECK(strcmp(json_str(&o[0], "server_version"), want) == 0);
		CHECK((json_num(&o[0], "api_level") >= 1) ==
		      slip_natsd_at_least(server, 2, 11, 0));
		free_lines(o, n);
	} else {
		CHECK(!"server --json: one object");
	}
	CHECK(strstr(r.out, slip_natsd_at_least(server, 2, 11, 0)
	                            ? "\"msg_ttl\":true"
	                            : "\"msg_ttl\":false") != NULL);
	run_free(&r);

	CLI(&r, NULL, "server", "--url", "mem://cli-server");
	CHECK_EXIT(r, 0);
	CHECK(strstr(r.out, "server version:      (none)") != NULL);
	CHECK(strstr(r.out, "atomic batch:        yes") != NULL);
	run_free(&r);

	CLI(&r, NULL, "server", "extra", "--url", url());
	CHECK_EXIT(r, 2);
	run_free(&r);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_help_and_usage),
        SLIP_TEST(t_bucket_create_info_rm),
        SLIP_TEST(t_put_get_json),
        SLIP_TEST(t_cas),
        SLIP_TEST(t_load_keys_scan_purge),
        SLIP_TEST(t_watch),
        SLIP_TEST(t_mirror),
        SLIP_TEST(t_prefixes),
        SLIP_TEST(t_snapshot_files),
        SLIP_TEST(t_connection_errors),
        SLIP_TEST(t_server),
        {0},
};

int main(int argc, char **argv)
{
	atexit(cleanup);
	return slip_test_main(argc, argv, cases);
}
