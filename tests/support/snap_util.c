/*
 * tests/support/snap_util.c — see snap_util.h: temp files, the seeded
 * update generator and the exact state comparison the snapshot tests use
 * as their oracle.
 */
#include "snap_util.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool snapt_big_values;

char *snapt_tmpdir(void)
{
	char tmpl[512];
	char *d;

	if (slip_test_tmpdir(tmpl, sizeof(tmpl), "snap") != 0)
		return NULL;
	d = malloc(strlen(tmpl) + 1);
	if (d != NULL)
		memcpy(d, tmpl, strlen(tmpl) + 1);
	return d;
}

void snapt_rmdir(char *dir)
{
	if (dir == NULL)
		return;
	slip_test_rmdir(dir);
	free(dir);
}

char *snapt_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

uint8_t *snapt_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

int snapt_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

uint64_t snapt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void snapt_key(char *buf, size_t bufsz, int i)
{
	snprintf(buf, bufsz, "key/%03d", i);
}

slip_entry *snapt_next_update(uint64_t *rng, snapt_state *st)
{
	uint64_t r = snapt_rand(rng);
	int k = (int)(r % SNAPT_KEYS), pick = (int)((r >> 8) % 100);
	slip_version ver = slip_version_from_u64(++st->seq);
	uint8_t val[SNAPT_VALMAX];
	size_t vlen = (size_t)((r >> 16) % SNAPT_VALMAX);
	slip_op op = pick < 75 ? SLIP_OP_PUT
	                       : (pick < 95 ? SLIP_OP_DELETE : SLIP_OP_PURGE);
	slip_entry *e = NULL;
	char key[32];

	snapt_key(key, sizeof(key), k);
	for (size_t i = 0; i < vlen; i++)
		val[i] = (uint8_t)(snapt_rand(rng) & 0xff);
	if (op == SLIP_OP_PUT) {
		st->present[k] = true;
		st->vlen[k] = (uint16_t)vlen;
		memcpy(st->val[k], val, vlen);
		st->ver[k] = ver;
	} else {
		st->present[k] = false;
		vlen = 0;
	}
	if (slip_entry_new(&e, key, val, vlen, &ver, op) != SLIP_OK)
		return NULL;
	return e;
}

slip_cursor snapt_cursor(uint64_t n)
{
	slip_cursor c;

	memset(&c, 0, sizeof(c));
	c.len = (n & 1) ? 16 : 8;
	for (int i = 0; i < 8; i++)
		c.bytes[i] = (uint8_t)(n >> (56 - 8 * i));
	if (c.len == 16)
		memcpy(c.bytes + 8, "identity", 8);
	return c;
}

uint64_t snapt_cursor_n(const slip_cursor *c)
{
	uint64_t n = 0;

	for (int i = 0; i < 8 && i < c->len; i++)
		n = (n << 8) | c->bytes[i];
	return n;
}

static uint8_t big_byte(uint64_t n, size_t i)
{
	return (uint8_t)(n * 7 + i * 13 + (i >> 9));
}

/* The big value of batch @p n (see snapt_big_values). */
static int put_big(uint64_t n, slip_snapshot_writer *w)
{
	slip_version v = slip_version_from_u64(n * 1000 + 999);
	uint8_t *val = malloc(SNAPT_BIG_LEN);
	slip_entry *e = NULL;
	int rc;

	if (val == NULL)
		return SLIP_ENOMEM;
	for (size_t i = 0; i < SNAPT_BIG_LEN; i++)
		val[i] = big_byte(n, i);
	rc = slip_entry_new(&e, SNAPT_BIG_KEY, val, SNAPT_BIG_LEN, &v,
	                    SLIP_OP_PUT);
	if (rc == SLIP_OK)
		rc = slip_snapshot_writer_write(w, e);
	slip_entry_free(e);
	free(val);
	return rc;
}

static bool big_matches(uint64_t n, const slip_entry *e)
{
	slip_version v = slip_version_from_u64(n * 1000 + 999);

	if (e == NULL || strcmp(e->key, SNAPT_BIG_KEY) != 0 ||
	    e->value_len != SNAPT_BIG_LEN || !slip_version_eq(&e->version, &v))
		return false;
	for (size_t i = 0; i < SNAPT_BIG_LEN; i++) {
		if (e->value[i] != big_byte(n, i))
			return false;
	}
	return true;
}

int snapt_batch(uint64_t seed, uint64_t n, snapt_state *st,
                slip_snapshot_writer *w)
{
	uint64_t rng = seed * 0x100000001b3ull ^ n;
	int count = (int)(snapt_rand(&rng) % 12);
	int rc = SLIP_OK;

	/* Versions depend on (n, i) only, so a restarted writer agrees. */
	st->seq = n * 1000;
	for (int i = 0; i < count && rc == SLIP_OK; i++) {
		slip_entry *e = snapt_next_update(&rng, st);

		if (e == NULL)
			return SLIP_ENOMEM;
		if (w != NULL)
			rc = slip_snapshot_writer_write(w, e);
		slip_entry_free(e);
	}
	if (rc == SLIP_OK && snapt_big_values && n % 4 == 0) {
		st->big_n = n;
		if (w != NULL)
			rc = put_big(n, w);
	}
	st->cursor = snapt_cursor(n);
	return rc;
}

static bool entry_matches(const snapt_state *st, int k, const slip_entry *e)
{
	char key[32];

	snapt_key(key, sizeof(key), k);
	return e != NULL && strcmp(e->key, key) == 0 &&
	       e->value_len == st->vlen[k] &&
	       memcmp(e->value, st->val[k], st->vlen[k]) == 0 &&
	       slip_version_eq(&e->version, &st->ver[k]) &&
	       e->op == SLIP_OP_PUT;
}

static bool cursor_eq(const slip_cursor *a, const slip_cursor *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

bool snapt_equal(const snapt_state *st, const slip_snapshot *snap)
{
	size_t n = 0;

	if (snap == NULL || !cursor_eq(&st->cursor, &snap->cursor))
		return false;
	for (int k = 0; k < SNAPT_KEYS; k++) {
		if (!st->present[k])
			continue;
		/* Keys sort in slot order, so entries line up with slots. */
		if (n >= snap->count || !entry_matches(st, k, snap->entries[n]))
			return false;
		n++;
	}
	if (st->big_n > 0) {
		if (n >= snap->count ||
		    !big_matches(st->big_n, snap->entries[n]))
			return false;
		n++;
	}
	return n == snap->count;
}

bool snapt_writer_equal(const snapt_state *st, const slip_snapshot_writer *w)
{
	size_t n = 0;
	char key[32];

	if (!cursor_eq(&st->cursor, slip_snapshot_writer_cursor(w)))
		return false;
	for (int k = 0; k < SNAPT_KEYS; k++) {
		const slip_entry *e;

		snapt_key(key, sizeof(key), k);
		e = slip_snapshot_writer_get(w, key);
		if (!st->present[k]) {
			if (e != NULL)
				return false;
			continue;
		}
		if (!entry_matches(st, k, e))
			return false;
		n++;
	}
	if (st->big_n > 0) {
		if (!big_matches(st->big_n,
		                 slip_snapshot_writer_get(w, SNAPT_BIG_KEY)))
			return false;
		n++;
	}
	return n == slip_snapshot_writer_count(w);
}
