/*
 * tools/cmd_keys.c — the key commands: get, put / create / update, del,
 * purge, keys, scan, and load (bulk put from KEY<TAB>VALUE lines).
 *
 * Keys are validated before connecting, so a bad key is exit 2 whatever
 * the server. Each command opens the bucket named by --bucket (or
 * $SLIPSTREAM_BUCKET), does one thing and prints its result.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct session {
	slip_conn *conn;
	slip_store *store;
} session;

static void session_close(session *s)
{
	slip_store_free(s->store);
	slip_conn_free(s->conn);
}

static int check_key(const char *op, const char *key)
{
	if (slip_key_validate(key) != SLIP_OK)
		return cli_lib_fail(SLIP_EINVAL, op, key);
	return SLIP_OK;
}

/* Reads all of stdin into a heap buffer (the value of put without VALUE). */
static int read_stdin(uint8_t **out, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return cli_fail(SLIP_ENOMEM, "read stdin: out of memory");
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			free(buf);
			return cli_fail(SLIP_EIO, "read stdin: i/o error");
		}
		len += (size_t)n;
		if (len == cap) {
			uint8_t *nb = cap > (64u << 20) ? NULL
			                                : realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return cli_fail(SLIP_ETOOBIG,
				                "read stdin: value larger than "
				                "64 MiB");
			}
			buf = nb;
			cap *= 2;
		}
	}
	*out = buf;
	*out_len = len;
	return SLIP_OK;
}

int cmd_get(const cli_opts *o)
{
	session s = {0};
	slip_entry *e = NULL;
	const char *key = o->pos[0];
	int rc = check_key("get", key);
	if (rc == SLIP_OK)
		rc = cli_open_store(&s.conn, &s.store, o, NULL);
	if (rc != SLIP_OK)
		goto done;
	rc = slip_reader_get(slip_store_reader(s.store), key, &e);
	if (rc != SLIP_OK) {
		cli_lib_fail(rc, "get", key);
		goto done;
	}
	if (!e) {
		rc = cli_fail(SLIP_ENOTFOUND, "get \"%s\": key not found", key);
		goto done;
	}
	if (o->json) {
		json_record(stdout, e, false);
	} else {
		fwrite(e->value, 1, e->value_len, stdout);
		if (!o->raw)
			putchar('\n');
	}
done:
	slip_entry_free(e);
	session_close(&s);
	return rc;
}

static int do_write(slip_writer *w, const char *mode, const char *key,
                    const uint8_t *v, size_t len, const slip_version *expect,
                    int64_t ttl_ms, slip_version *out)
{
	if (strcmp(mode, "create") == 0 && ttl_ms > 0)
		return slip_writer_create_ttl(w, key, v, len, ttl_ms, out);
	if (strcmp(mode, "create") == 0)
		return slip_writer_create(w, key, v, len, out);
	if (ttl_ms > 0)
		return slip_writer_put_ttl(w, key, v, len, ttl_ms, out);
	if (strcmp(mode, "update") == 0)
		return slip_writer_update(w, key, v, len, expect, out);
	return slip_writer_put(w, key, v, len, out);
}

/* Opens the store @p o names and its writer; a read-only bucket fails. */
static int open_writer(slip_writer **w, session *s, const cli_opts *o,
                       const char *op)
{
	int rc = cli_open_store(&s->conn, &s->store, o, NULL);

	if (rc != SLIP_OK)
		return rc;
	*w = slip_store_writer(s->store);
	if (!*w)
		return cli_fail(SLIP_EUNSUPPORTED,
		                "%s: bucket \"%s\" is "
		                "read-only",
		                op, slip_store_name(s->store));
	return SLIP_OK;
}

int cmd_put(const cli_opts *o, const char *mode)
{
	session s = {0};
	slip_writer *w;
	slip_version expect = {0}, got = {0};
	const char *key = o->pos[0];
	uint8_t *value = NULL;
	size_t len = 0;
	char rev[64];

	int rc = check_key(mode, key);
	if (rc == SLIP_OK && strcmp(mode, "update") == 0) {
		if (!o->version)
			rc = cli_fail(SLIP_EINVAL,
			              "update \"%s\": --version V "
			              "is required",
			              key);
		else
			rc = cli_parse_version(&expect, o->version);
	}
	int64_t ttl_ms = 0;
	if (rc == SLIP_OK && o->ttl)
		rc = cli_parse_duration_ms(&ttl_ms, o->ttl, "--ttl");
	if (rc != SLIP_OK)
		return rc;
	if (o->npos > 1) {
		len = strlen(o->pos[1]);
		value = malloc(len + 1);
		if (!value)
			return cli_fail(SLIP_ENOMEM, "%s: out of memory", mode);
		memcpy(value, o->pos[1], len + 1);
	} else if ((rc = read_stdin(&value, &len)) != SLIP_OK) {
		return rc;
	}
	rc = open_writer(&w, &s, o, mode);
	if (rc != SLIP_OK)
		goto done;
	rc = do_write(w, mode, key, value, len, &expect, ttl_ms, &got);
	if (rc != SLIP_OK) {
		cli_lib_fail(rc, mode, key);
		goto done;
	}
	if (o->json) {
		slip_entry e;
		memset(&e, 0, sizeof(e));
		e.key = key;
		e.value = value;
		e.value_len = len;
		e.version = got;
		e.op = SLIP_OP_PUT;
		json_record(stdout, &e, false);
	} else {
		version_text(rev, sizeof(rev), &got);
		printf("%s revision %s\n", key, rev);
	}
done:
	free(value);
	session_close(&s);
	return rc;
}

static void print_removed(const cli_opts *o, const char *op, const char *key)
{
	if (o->json) {
		printf("{\"op\":\"%s\",\"key\":", op);
		json_string(stdout, key, strlen(key));
		printf("}\n");
	} else {
		printf("%s %s\n", op, key);
	}
}

int cmd_del(const cli_opts *o)
{
	session s = {0};
	slip_writer *w;
	slip_version expect = {0};
	const char *key = o->pos[0];
	int rc = check_key("delete", key);
	if (rc == SLIP_OK && o->version)
		rc = cli_parse_version(&expect, o->version);
	if (rc == SLIP_OK)
		rc = open_writer(&w, &s, o, "delete");
	if (rc != SLIP_OK)
		goto done;
	if (o->version)
		rc = slip_writer_delete_version(w, key, &expect);
	else
		rc = slip_writer_delete(w, key);
	if (rc != SLIP_OK)
		cli_lib_fail(rc, "delete", key);
	else
		print_removed(o, "delete", key);
done:
	session_close(&s);
	return rc;
}

int cmd_purge(const cli_opts *o)
{
	session s = {0};
	slip_writer *w;
	const char *key = o->pos[0];
	int rc = check_key("purge", key);
	if (rc == SLIP_OK)
		rc = open_writer(&w, &s, o, "purge");
	if (rc != SLIP_OK)
		goto done;
	rc = slip_writer_purge(w, key);
	if (rc != SLIP_OK)
		cli_lib_fail(rc, "purge", key);
	else
		print_removed(o, "purge", key);
done:
	session_close(&s);
	return rc;
}

/* ------------------------------------------------------------ keys, scan */

typedef struct scan_state {
	const cli_opts *o;
	cli_progress progress;
	bool keys_only;
	bool stopped; /* the callback stopped the pass and set the message */
} scan_state;

static int on_scanned(void *payload, slip_entry *e)
{
	scan_state *st = payload;
	progress_clear(&st->progress);
	if (st->keys_only && st->o->json) {
		fputs("{\"key\":", stdout);
		json_string(stdout, e->key, strlen(e->key));
		fputs("}\n", stdout);
	} else if (st->keys_only) {
		puts(e->key);
	} else if (st->o->json) {
		json_record(stdout, e, false);
	} else {
		human_record(stdout, e);
	}
	progress_step(&st->progress, e->pending);
	slip_entry_free(e);
	if (ferror(stdout)) {
		st->stopped = true;
		return cli_fail(SLIP_EIO, "scan: writing output failed");
	}
	if (cli_interrupted()) {
		st->stopped = true;
		return cli_fail(SLIP_ESHUTDOWN, "scan: interrupted");
	}
	return SLIP_OK;
}

static int scan_cmd(const cli_opts *o, bool keys_only)
{
	const char *op = keys_only ? "keys" : "scan";
	const char *list[CLI_MAX_PREFIXES + 1];
	size_t n = 0;
	session s = {0};
	scan_state st = {o, {0}, keys_only, false};
	int rc = cli_prefixes(o, true, op, list, &n);
	const char *prefix = n > 0 ? list[0] : "";
	if (rc == SLIP_OK)
		rc = cli_open_store(&s.conn, &s.store, o, NULL);
	if (rc != SLIP_OK)
		goto done;
	progress_init(&st.progress, o, op);
	/* Several prefixes: one pass over their union. */
	if (n > 1)
		rc = slip_reader_scan_each_prefixes(slip_store_reader(s.store),
		                                    list, n, keys_only,
		                                    on_scanned, &st);
	else
		rc = slip_reader_scan_each(slip_store_reader(s.store), prefix,
		                           keys_only, on_scanned, &st);
	progress_done(&st.progress);
	if (rc != SLIP_OK && !st.stopped)
		cli_lib_fail(rc, op, prefix);
done:
	session_close(&s);
	return rc;
}

int cmd_keys(const cli_opts *o)
{
	return scan_cmd(o, true);
}

int cmd_scan(const cli_opts *o)
{
	return scan_cmd(o, false);
}

/* ------------------------------------------------------------------ load */

/*
 * load sends its puts through a pipeline (slipstream/pipeline.h): many in
 * flight, results in line order. The first failed put stops reading; the
 * puts already in flight behind it still complete (and are counted).
 */
#define LOAD_WINDOW 1024

typedef struct load_state {
	cli_progress pr;
	uint64_t written;
	long lines[LOAD_WINDOW]; /* line number per submission, by index */
	int rc;                  /* first failure */
} load_state;

static void load_result(void *payload, const slip_write_result *r)
{
	load_state *st = payload;

	if (r->rc == SLIP_OK) {
		st->written++;
		progress_step(&st->pr, 0);
	} else if (st->rc == SLIP_OK) {
		st->rc =
		        cli_fail(r->rc, "load: line %ld: %s",
		                 st->lines[r->index % LOAD_WINDOW], r->message);
	}
}

/* One "KEY<TAB>VALUE" line: validates, then submits the put. */
static int load_line(slip_pipeline *p, load_state *st, char *line, size_t len,
                     long lineno)
{
	char *tab;
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0)
		return 1; /* blank: skipped */
	tab = memchr(line, '\t', len);
	if (!tab)
		return cli_fail(SLIP_EINVAL,
		                "load: line %ld: expected KEY<TAB>VALUE",
		                lineno);
	*tab = '\0';
	if (slip_key_validate(line) != SLIP_OK)
		return cli_fail(SLIP_EINVAL, "load: line %ld: %s", lineno,
		                slip_last_error());
	/* The submission's index is the number submitted so far. */
	st->lines[(st->written + slip_pipeline_in_flight(p)) % LOAD_WINDOW] =
	        lineno;
	int rc = slip_pipeline_put(p, line, tab + 1,
	                           len - (size_t)(tab + 1 - line));
	if (rc != SLIP_OK)
		return cli_fail(rc, "load: line %ld: %s", lineno,
		                slip_last_error());
	return SLIP_OK;
}

static void load_report(const cli_opts *o, load_state *st)
{
	double secs = (double)(cli_now_ns() - st->pr.start_ns) / 1e9;

	if (o->json)
		printf("{\"written\":%llu,\"seconds\":%.3f}\n",
		       (unsigned long long)st->written, secs);
	else if (!o->quiet)
		printf("loaded %llu keys in %.2f s (%.0f/s)\n",
		       (unsigned long long)st->written, secs,
		       secs > 0 ? (double)st->written / secs : 0.0);
}

int cmd_load(const cli_opts *o)
{
	session s = {0};
	slip_writer *w;
	slip_pipeline *p = NULL;
	slip_pipeline_options po = SLIP_PIPELINE_OPTIONS_INIT;
	const char *path = o->pos[0];
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	load_state *st = calloc(1, sizeof(*st));
	int rc = SLIP_OK;

	if (!in || !st) {
		rc = cli_fail(in ? SLIP_ENOMEM : SLIP_ENOTFOUND,
		              "load \"%s\": %s", path,
		              in ? "out of memory" : "cannot open file");
		goto done;
	}
	rc = open_writer(&w, &s, o, "load");
	po.max_ops = LOAD_WINDOW;
	po.on_result = load_result;
	po.payload = st;
	if (rc == SLIP_OK && (rc = slip_pipeline_new(&p, w, &po)) != SLIP_OK)
		cli_fail(rc, "load: %s", slip_last_error());
	if (rc != SLIP_OK)
		goto done;
	progress_init(&st->pr, o, "load");
	while (rc == SLIP_OK && st->rc == SLIP_OK &&
	       (n = getline(&line, &cap, in)) >= 0) {
		int r = load_line(p, st, line, (size_t)n, ++lineno);
		if (r < 0)
			rc = r;
		if (rc == SLIP_OK && cli_interrupted())
			rc = cli_fail(SLIP_ESHUTDOWN,
			              "load: interrupted after "
			              "%ld lines",
			              lineno);
	}
	(void)slip_pipeline_flush(p, NULL);
	if (rc == SLIP_OK)
		rc = st->rc;
	progress_done(&st->pr);
	load_report(o, st);
done:
	slip_pipeline_free(p);
	free(st);
	free(line);
	if (in && in != stdin)
		fclose(in);
	session_close(&s);
	return rc;
}
