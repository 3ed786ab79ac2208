/*
 * tools/cmd_bucket.c — `bucket create|info|rm NAME`: the store
 * configuration flags (history, max bytes, max age, replicas, storage,
 * description, max value size), creating or binding a bucket, printing
 * its facts (counts, sizes, cursor) and deleting it.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int parse_int_flag(int64_t *out, const char *text, const char *flag,
                          int64_t max)
{
	uint64_t v;
	int rc = cli_parse_u64(&v, text, flag);
	if (rc == SLIP_OK && (v < 1 || v > (uint64_t)max))
		rc = cli_fail(SLIP_EINVAL, "%s \"%s\": must be 1..%" PRId64,
		              flag, text, max);
	if (rc == SLIP_OK)
		*out = (int64_t)v;
	return rc;
}

static int parse_config(slip_store_config *cfg, const cli_opts *o)
{
	int64_t v;
	int rc = SLIP_OK;
	if (o->history &&
	    (rc = parse_int_flag(&v, o->history, "--history", 64)) == SLIP_OK)
		cfg->max_history = v;
	if (rc == SLIP_OK && o->max_bytes &&
	    (rc = cli_parse_size(&v, o->max_bytes, "--max-bytes")) == SLIP_OK)
		cfg->max_bytes = v;
	if (rc == SLIP_OK && o->max_age &&
	    (rc = cli_parse_duration_ms(&v, o->max_age, "--max-age")) ==
	            SLIP_OK)
		cfg->max_age_ms = v;
	if (rc == SLIP_OK && o->ttl && o->max_age)
		rc = cli_fail(SLIP_EINVAL, "--ttl and --max-age: give one "
		                           "(--ttl is the bucket's max age)");
	if (rc == SLIP_OK && o->ttl &&
	    (rc = cli_parse_duration_ms(&v, o->ttl, "--ttl")) == SLIP_OK)
		cfg->max_age_ms = v;
	if (rc == SLIP_OK && o->marker_ttl &&
	    (rc = cli_parse_duration_ms(&v, o->marker_ttl, "--marker-ttl")) ==
	            SLIP_OK)
		cfg->marker_ttl_ms = v;
	if (rc == SLIP_OK && o->replicas &&
	    (rc = parse_int_flag(&v, o->replicas, "--replicas", 5)) == SLIP_OK)
		cfg->num_replicas = (int)v;
	if (rc == SLIP_OK && o->max_value_size &&
	    (rc = cli_parse_size(&v, o->max_value_size, "--max-value-size")) ==
	            SLIP_OK) {
		if (v > INT32_MAX)
			rc = cli_fail(SLIP_EINVAL,
			              "--max-value-size \"%s\": at "
			              "most 2G",
			              o->max_value_size);
		cfg->max_value_size = (int32_t)v;
	}
	if (rc == SLIP_OK && o->storage) {
		if (strcmp(o->storage, "file") == 0)
			cfg->storage = SLIP_STORAGE_FILE;
		else if (strcmp(o->storage, "memory") == 0)
			cfg->storage = SLIP_STORAGE_MEMORY;
		else
			rc = cli_fail(SLIP_EINVAL,
			              "--storage \"%s\": expected "
			              "file or memory",
			              o->storage);
	}
	cfg->description = o->description;
	return rc;
}

static int count_key(void *payload, slip_entry *e)
{
	(*(uint64_t *)payload)++;
	slip_entry_free(e);
	return SLIP_OK;
}

/*
 * The cursor a mirror reaches once caught up with this bucket: its newest
 * revision followed by its identity, as NATS and memory cursors are laid
 * out (types.h), the two backends this tool knows.
 */
static void bucket_cursor(char *buf, size_t bufsz, const slip_store_info *in)
{
	slip_cursor c = slip_cursor_none();
	c.len = 16;
	for (int i = 0; i < 8; i++) {
		c.bytes[i] = (uint8_t)(in->last_seq >> (56 - 8 * i));
		c.bytes[8 + i] =
		        (uint8_t)((uint64_t)in->created_ns >> (56 - 8 * i));
	}
	slip_cursor_to_string(&c, buf, bufsz);
}

static void print_info(const cli_opts *o, const slip_store_info *in,
                       uint64_t keys)
{
	const char *storage =
	        in->storage == SLIP_STORAGE_MEMORY ? "memory" : "file";
	char cur[SLIP_CURSOR_STRLEN];
	bucket_cursor(cur, sizeof(cur), in);
	if (o->json) {
		fputs("{\"bucket\":", stdout);
		json_string(stdout, in->name, strlen(in->name));
		fputs(",\"description\":", stdout);
		json_string(stdout, in->description, strlen(in->description));
		printf(",\"storage\":\"%s\",\"history\":%" PRId64
		       ",\"max_bytes\":%" PRId64 ",\"max_age_ms\":%" PRId64
		       ",\"replicas\":%d,\"max_value_size\":%" PRId32
		       ",\"keys\":%" PRIu64 ",\"values\":%" PRIu64
		       ",\"bytes\":%" PRIu64 ",\"first_revision\":%" PRIu64
		       ",\"last_revision\":%" PRIu64 ",\"created_ns\":%" PRId64
		       ",\"cursor\":\"%s\"}\n",
		       storage, in->max_history, in->max_bytes, in->max_age_ms,
		       in->num_replicas, in->max_value_size, keys, in->messages,
		       in->bytes, in->first_seq, in->last_seq, in->created_ns,
		       cur);
		return;
	}
	printf("bucket:          %s\n"
	       "description:     %s\n"
	       "storage:         %s\n"
	       "history:         %" PRId64 "\n"
	       "max bytes:       %" PRId64 "\n"
	       "max age:         %" PRId64 " ms\n"
	       "replicas:        %d\n"
	       "max value size:  %" PRId32 "\n"
	       "live keys:       %" PRIu64 "\n"
	       "values held:     %" PRIu64 " (history and tombstones "
	       "included)\n"
	       "bytes held:      %" PRIu64 "\n"
	       "revisions:       %" PRIu64 "..%" PRIu64 "\n"
	       "cursor:          %s\n",
	       in->name, in->description, storage, in->max_history,
	       in->max_bytes, in->max_age_ms, in->num_replicas,
	       in->max_value_size, keys, in->messages, in->bytes, in->first_seq,
	       in->last_seq, cur);
}

static int show(const cli_opts *o, slip_store *st)
{
	slip_store_info in;
	uint64_t keys = 0;
	int rc = slip_store_get_info(st, &in);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "bucket info", slip_store_name(st));
	rc = slip_reader_scan_each(slip_store_reader(st), "", true, count_key,
	                           &keys);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "bucket info", slip_store_name(st));
	print_info(o, &in, keys);
	return SLIP_OK;
}

int cmd_bucket(const cli_opts *o, const char *sub)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *conn = NULL;
	slip_store *st = NULL;
	const char *name = o->pos[0];
	int rc = SLIP_OK;

	if (slip_bucket_validate(name) != SLIP_OK)
		return cli_lib_fail(SLIP_EINVAL, "bucket", name);
	cfg.name = name;
	if (strcmp(sub, "create") == 0)
		rc = parse_config(&cfg, o);
	if (rc == SLIP_OK)
		rc = cli_connect(&conn, o);
	if (rc != SLIP_OK)
		goto done;
	if (strcmp(sub, "rm") == 0) {
		rc = slip_store_delete(conn, name);
		if (rc == SLIP_ENOTFOUND)
			cli_fail(rc, "bucket rm \"%s\": not found", name);
		else if (rc != SLIP_OK)
			cli_lib_fail(rc, "bucket rm", name);
		else
			printf("deleted bucket %s\n", name);
		goto done;
	}
	if (strcmp(sub, "create") == 0)
		rc = slip_store_open_config(&st, conn, &cfg);
	else
		rc = slip_store_open(&st, conn, name);
	if (rc == SLIP_ENOTFOUND)
		cli_fail(rc, "bucket \"%s\": not found", name);
	else if (rc != SLIP_OK)
		cli_lib_fail(rc,
		             strcmp(sub, "create") == 0 ? "bucket create"
		                                        : "bucket info",
		             name);
	else
		rc = show(o, st);
done:
	slip_store_free(st);
	slip_conn_free(conn);
	return rc;
}
