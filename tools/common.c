/*
 * tools/common.c — what every command of the tool needs: the kept error
 * message and the one map from SLIP_E* codes to exit codes, connecting
 * from the connection flags, parsing numbers / durations / sizes /
 * versions, the monotonic clock and the SIGINT/SIGTERM flag.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_URL "nats://127.0.0.1:4222"

/* ----------------------------------------------------------------- errors */

static char message[1024];

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return code;
}

int cli_lib_fail(int code, const char *op, const char *key)
{
	const char *detail = slip_last_error();
	if (detail[0] != '\0')
		return cli_fail(code, "%s", detail);
	if (key)
		return cli_fail(code, "%s \"%s\": %s", op, key,
		                slip_strerror(code));
	return cli_fail(code, "%s: %s", op, slip_strerror(code));
}

const char *cli_message(void)
{
	return message;
}

int cli_exit_code(int err)
{
	switch (err) {
	case SLIP_OK:
		return CLI_EXIT_OK;
	case SLIP_ENOTFOUND:
		return CLI_EXIT_NOTFOUND;
	case SLIP_EINVAL:
	case SLIP_ETOOBIG:
		return CLI_EXIT_USAGE;
	case SLIP_EEXISTS:
	case SLIP_EREVISION:
	case SLIP_ECONFIG:
		return CLI_EXIT_CONFLICT;
	case SLIP_ENOTCONNECTED:
	case SLIP_EAUTH:
		return CLI_EXIT_CONNECT;
	case SLIP_ECORRUPTED:
	case SLIP_EUNSUPPORTEDVERSION:
		return CLI_EXIT_SNAPSHOT;
	case SLIP_ECURSOREXPIRED:
		return CLI_EXIT_EXPIRED;
	default:
		return CLI_EXIT_OTHER;
	}
}

/* ------------------------------------------------------------- connection */

int cli_connect(slip_conn **out, const cli_opts *o)
{
	slip_conn_options co = SLIP_CONN_OPTIONS_INIT;
	slip_conn *conn = NULL;
	int64_t timeout_ms = 0;
	int rc;

	co.url = o->url ? o->url : getenv("NATS_URL");
	if (!co.url || co.url[0] == '\0')
		co.url = DEFAULT_URL;
	co.creds = o->creds;
	co.creds_file = o->creds_file;
	if (!co.creds && !co.creds_file) {
		const char *env = getenv("SLIPSTREAM_CREDS");
		if (env && env[0] != '\0')
			co.creds = env;
	}
	co.tls_ca = o->tls_ca;
	if (o->timeout) {
		rc = cli_parse_duration_ms(&timeout_ms, o->timeout,
		                           "--timeout");
		if (rc != SLIP_OK)
			return rc;
		if (timeout_ms <= 0 || timeout_ms > 3600000)
			return cli_fail(SLIP_EINVAL,
			                "--timeout \"%s\": must be between 1ms "
			                "and 1h",
			                o->timeout);
		co.connect_timeout_ms = (int)timeout_ms;
		co.op_timeout_ms = (int)timeout_ms;
	}
	/* One-shot commands fail fast; watch and mirror ride out restarts. */
	co.max_reconnect = o->follow ? -1 : 3;
	rc = slip_conn_new(&conn, &co);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "connect", co.url);
	rc = slip_conn_connect(conn);
	if (rc != SLIP_OK) {
		if (rc != SLIP_EAUTH && rc != SLIP_EINVAL)
			rc = SLIP_ENOTCONNECTED;
		cli_lib_fail(rc, "connect", co.url);
		slip_conn_free(conn);
		return rc;
	}
	*out = conn;
	return SLIP_OK;
}

int cli_bucket_name(const char **out, const cli_opts *o)
{
	const char *name = o->bucket ? o->bucket : getenv("SLIPSTREAM_BUCKET");
	if (!name || name[0] == '\0')
		return cli_fail(SLIP_EINVAL,
		                "no bucket: pass --bucket NAME or set "
		                "SLIPSTREAM_BUCKET");
	if (slip_bucket_validate(name) != SLIP_OK)
		return cli_lib_fail(SLIP_EINVAL, "bucket", name);
	*out = name;
	return SLIP_OK;
}

int cli_open_store(slip_conn **conn, slip_store **store, const cli_opts *o,
                   const char *name)
{
	int rc;
	if (!name) {
		rc = cli_bucket_name(&name, o);
		if (rc != SLIP_OK)
			return rc;
	} else if (slip_bucket_validate(name) != SLIP_OK) {
		return cli_lib_fail(SLIP_EINVAL, "bucket", name);
	}
	rc = cli_connect(conn, o);
	if (rc != SLIP_OK)
		return rc;
	if (strcmp(slip_conn_backend_name(*conn), "mem") == 0) {
		/* Memory buckets live only in this process: make one. */
		slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
		cfg.name = name;
		rc = slip_store_open_config(store, *conn, &cfg);
	} else {
		rc = slip_store_open(store, *conn, name);
	}
	if (rc == SLIP_ENOTFOUND)
		return cli_fail(rc, "bucket \"%s\": not found", name);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "open bucket", name);
	return SLIP_OK;
}

/* ---------------------------------------------------------------- parsing */

int cli_prefixes(const cli_opts *o, bool positional, const char *op,
                 const char **list, size_t *n)
{
	*n = 0;
	if (positional && o->npos > 0)
		list[(*n)++] = o->pos[0];
	for (int i = 0; i < o->nprefixes; i++)
		list[(*n)++] = o->prefixes[i];
	for (size_t i = 0; i < *n; i++)
		if (slip_prefix_validate(list[i]) != SLIP_OK)
			return cli_lib_fail(SLIP_EINVAL, op, list[i]);
	return SLIP_OK;
}

int cli_parse_u64(uint64_t *out, const char *text, const char *flag)
{
	char *end = NULL;
	if (!text || !isdigit((unsigned char)text[0]))
		return cli_fail(SLIP_EINVAL, "%s \"%s\": not a number", flag,
		                text ? text : "");
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return cli_fail(SLIP_EINVAL, "%s \"%s\": not a number", flag,
		                text);
	*out = (uint64_t)v;
	return SLIP_OK;
}

static int64_t unit_ms(const char *u, size_t len)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
	             {"h", 3600000}, {"d", 86400000}, {"w", 604800000},
	             {"sec", 1000},  {"min", 60000},  {"", 1000}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    memcmp(units[i].name, u, len) == 0)
			return units[i].ms;
	return -1;
}

int cli_parse_duration_ms(int64_t *out, const char *text, const char *flag)
{
	const char *p = text;
	int64_t total = 0;
	if (!text || text[0] == '\0')
		goto bad;
	while (*p) {
		char *end = NULL;
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		unsigned long long n = strtoull(p, &end, 10);
		const char *u = end;
		while (isalpha((unsigned char)*end))
			end++;
		int64_t ms = unit_ms(u, (size_t)(end - u));
		if (errno != 0 || ms < 0 ||
		    n > (unsigned long long)INT64_MAX / (unsigned long long)ms)
			goto bad;
		/* A bare number is seconds, and only alone. */
		if (end == u && (p != text || *end != '\0'))
			goto bad;
		total += (int64_t)n * ms;
		if (total < 0)
			goto bad;
		p = end;
	}
	*out = total;
	return SLIP_OK;
bad:
	return cli_fail(SLIP_EINVAL,
	                "%s \"%s\": not a duration (e.g. 500ms, 30s, 5m, 1h, "
	                "30d, 1h30m)",
	                flag, text ? text : "");
}

int cli_parse_size(int64_t *out, const char *text, const char *flag)
{
	char *end = NULL;
	if (!text)
		goto bad;
	if (strcmp(text, "-1") == 0 || strcmp(text, "unlimited") == 0) {
		*out = -1;
		return SLIP_OK;
	}
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	int64_t mult = 1;
	if (strcmp(end, "") == 0 || strcmp(end, "B") == 0)
		mult = 1;
	else if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)
		mult = 1024;
	else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
		mult = 1024 * 1024;
	else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)
		mult = 1024LL * 1024 * 1024;
	else
		goto bad;
	if (errno != 0 || n > (unsigned long long)(INT64_MAX / mult))
		goto bad;
	*out = (int64_t)n * mult;
	return SLIP_OK;
bad:
	return cli_fail(SLIP_EINVAL,
	                "%s \"%s\": not a size (e.g. 1048576, 64K, 10M, 1G, "
	                "-1 for unlimited)",
	                flag, text ? text : "");
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cli_parse_version(slip_version *out, const char *text)
{
	uint64_t rev;
	if (text && strncmp(text, "hex:", 4) == 0) {
		const char *h = text + 4;
		size_t n = strlen(h);
		slip_version v;
		memset(&v, 0, sizeof(v));
		if (n == 0 || n % 2 != 0 || n / 2 > SLIP_VERSION_MAX)
			goto bad;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hex_digit(h[2 * i]),
			    lo = hex_digit(h[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			v.bytes[i] = (uint8_t)(hi * 16 + lo);
		}
		v.len = (uint8_t)(n / 2);
		*out = v;
		return SLIP_OK;
	}
	if (cli_parse_u64(&rev, text, "--version") != SLIP_OK)
		goto bad;
	*out = slip_version_from_u64(rev);
	return SLIP_OK;
bad:
	return cli_fail(SLIP_EINVAL,
	                "--version \"%s\": expected a revision number or "
	                "hex:BYTES",
	                text ? text : "");
}

/* ------------------------------------------------------------ clock, signals
 */

int64_t cli_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void cli_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void)
{
	return interrupted != 0;
}
