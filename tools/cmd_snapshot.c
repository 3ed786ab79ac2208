/*
 * tools/cmd_snapshot.c — `snapshot info|dump|verify FILE`: looks inside a
 * snapshot file without a server. A missing file (or one shorter than the
 * header) is "no snapshot" (exit 1); a corrupted file or an unknown format
 * version is exit 5 with the loader's reason.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int load(slip_snapshot **out, const char *path)
{
	int rc = slip_snapshot_load(out, path);
	if (rc != SLIP_OK)
		return cli_lib_fail(rc, "snapshot", path);
	if (!*out)
		return cli_fail(
		        SLIP_ENOTFOUND,
		        "snapshot \"%s\": no snapshot (missing file, or "
		        "shorter than the header)",
		        path);
	return SLIP_OK;
}

static void sizes(const slip_snapshot *s, uint64_t *keyb, uint64_t *valb)
{
	*keyb = *valb = 0;
	for (size_t i = 0; i < s->count; i++) {
		*keyb += strlen(s->entries[i]->key);
		*valb += s->entries[i]->value_len;
	}
}

static void print_info(const cli_opts *o, const char *path,
                       const slip_snapshot *s, bool verified)
{
	char cur[SLIP_CURSOR_STRLEN];
	uint64_t keyb, valb, seq = 0;
	bool has_seq = slip_cursor_seq(&s->cursor, &seq) == SLIP_OK;
	sizes(s, &keyb, &valb);
	slip_cursor_to_string(&s->cursor, cur, sizeof(cur));
	if (o->json) {
		fputs("{\"file\":", stdout);
		json_string(stdout, path, strlen(path));
		if (verified)
			fputs(",\"ok\":true", stdout);
		printf(",\"format\":%d,\"keys\":%zu,\"key_bytes\":%" PRIu64
		       ",\"value_bytes\":%" PRIu64 ",\"file_bytes\":%" PRIu64
		       ",\"committed_bytes\":%" PRIu64 ",\"records\":%" PRIu64
		       ",\"torn_tail\":%s,\"cursor\":\"%s\"",
		       SLIP_SNAPSHOT_FORMAT_VERSION, s->count, keyb, valb,
		       s->file_bytes, s->committed_bytes, s->records,
		       s->torn_tail ? "true" : "false", cur);
		if (has_seq)
			printf(",\"cursor_revision\":%" PRIu64, seq);
		fputs("}\n", stdout);
		return;
	}
	if (verified)
		printf("%s: ok\n", path);
	printf("file:            %s\n"
	       "format:          %d\n"
	       "keys:            %zu\n"
	       "key bytes:       %" PRIu64 "\n"
	       "value bytes:     %" PRIu64 "\n"
	       "file bytes:      %" PRIu64 "\n"
	       "committed bytes: %" PRIu64 "\n"
	       "records:         %" PRIu64 "\n"
	       "torn tail:       %s\n"
	       "cursor:          %s\n",
	       path, SLIP_SNAPSHOT_FORMAT_VERSION, s->count, keyb, valb,
	       s->file_bytes, s->committed_bytes, s->records,
	       s->torn_tail ? "yes (dropped: a crash cut the last write)"
	                    : "no",
	       cur);
	if (has_seq)
		printf("cursor revision: %" PRIu64 "\n", seq);
}

/* Beyond what the loader checks: keys valid, sorted, unique, all PUTs. */
static int check_entries(const char *path, const slip_snapshot *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const slip_entry *e = s->entries[i];
		if (slip_key_validate(e->key) != SLIP_OK)
			return cli_fail(SLIP_ECORRUPTED,
			                "snapshot \"%s\": entry %zu: %s", path,
			                i, slip_last_error());
		if (e->op != SLIP_OP_PUT)
			return cli_fail(SLIP_ECORRUPTED,
			                "snapshot \"%s\": entry \"%s\" is not "
			                "live",
			                path, e->key);
		if (i > 0 && strcmp(s->entries[i - 1]->key, e->key) >= 0)
			return cli_fail(SLIP_ECORRUPTED,
			                "snapshot \"%s\": keys out of order at "
			                "\"%s\"",
			                path, e->key);
	}
	return SLIP_OK;
}

/* True when @p key is under one of the --prefix values (or none given). */
static bool wanted(const cli_opts *o, const char *key)
{
	for (int i = 0; i < o->nprefixes; i++)
		if (strncmp(key, o->prefixes[i], strlen(o->prefixes[i])) == 0)
			return true;
	return o->nprefixes == 0;
}

static int dump(const cli_opts *o, const slip_snapshot *s)
{
	char cur[SLIP_CURSOR_STRLEN];
	for (size_t i = 0; i < s->count; i++) {
		const slip_entry *e = s->entries[i];
		if (!wanted(o, e->key))
			continue;
		if (o->json)
			json_record(stdout, e, false);
		else
			human_record(stdout, e);
	}
	slip_cursor_to_string(&s->cursor, cur, sizeof(cur));
	if (o->json)
		printf("{\"cursor\":\"%s\"}\n", cur);
	else
		printf("# cursor %s\n", cur);
	return SLIP_OK;
}

int cmd_snapshot(const cli_opts *o, const char *sub)
{
	slip_snapshot *s = NULL;
	const char *path = o->pos[0];
	int rc = load(&s, path);
	if (rc != SLIP_OK)
		goto done;
	if (strcmp(sub, "info") == 0) {
		print_info(o, path, s, false);
	} else if (strcmp(sub, "dump") == 0) {
		rc = dump(o, s);
	} else {
		rc = check_entries(path, s);
		if (rc == SLIP_OK)
			print_info(o, path, s, true);
	}
done:
	slip_snapshot_free(s);
	return rc;
}
