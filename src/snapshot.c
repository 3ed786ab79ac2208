/*
 * src/snapshot.c — reading snapshot files: replay (validate the records,
 * find the last cursor record, fold the committed records into per-key
 * state), slip_snapshot_load / _load_buffer / _find / _free.
 *
 * Replay is two passes over the bytes held in memory. The first checks
 * every record's CRC and decides where the committed state ends and
 * whether damage is a torn tail (dropped) or corruption (an error). The
 * second folds the committed records through a hash index, framing only:
 * the CRCs were already checked. Loaded entries are sorted by key at the
 * end (skipped when the file already lists them in order, as a compacted
 * file does).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "snapshot_record.h"
#include "util/grow.h"
#include "util/hugepage.h"
#include "util/map.h"

/*
 * Work the resynchronising scan may spend on CRCs before it gives up and
 * calls the damage a torn tail. Only damaged files ever reach the scan.
 */
#define RESYNC_CRC_BUDGET (256u * 1024u * 1024u)

/* ---------------------------------------------------------------- pass 1 */

/*
 * Looks for a whole, CRC-valid record starting anywhere in [from, len).
 * Finding one means the damage before it is not a torn tail: a crash only
 * ever tears the end of the file. Returns its offset, or 0 when none.
 */
static size_t find_valid_record(const uint8_t *data, size_t from, size_t len)
{
	uint64_t spent = 0;
	slip__rec r;

	for (size_t q = from; q + SLIP__REC_PREFIX < len + 1; q++) {
		uint8_t type = data[q + 4];

		if (type < SLIP__REC_PUT || type > SLIP__REC_CURSOR)
			continue;
		if (slip__rec_frame(&r, data + q, len - q) != SLIP__REC_OK)
			continue;
		spent += r.size;
		if (spent > RESYNC_CRC_BUDGET)
			return 0;
		if (slip__rec_parse(&r, data + q, len - q) == SLIP__REC_OK)
			return q;
	}
	return 0;
}

/* Checks the header; SLIP_OK or an error with a message. */
static int check_header(const uint8_t *data)
{
	uint16_t version;

	if (memcmp(data, SLIP__SNAP_MAGIC, 4) != 0)
		return slip_set_error(SLIP_ECORRUPTED,
		                      "snapshot: bad magic (not a PGSS file)");
	version = slip__get_u16le(data + 4);
	if (version != SLIP_SNAPSHOT_FORMAT_VERSION)
		return slip_set_error(SLIP_EUNSUPPORTEDVERSION,
		                      "snapshot: format version %u, this "
		                      "library reads version %d",
		                      version, SLIP_SNAPSHOT_FORMAT_VERSION);
	return SLIP_OK;
}

/* Damage at @p pos: a torn tail (SLIP_OK, stop) or corruption. */
static int judge_damage(const uint8_t *data, size_t pos, size_t len,
                        slip__rec_status st)
{
	size_t next;

	switch (st) {
	case SLIP__REC_SHORT:
	case SLIP__REC_BADCRC:
	case SLIP__REC_TOOBIG:
	case SLIP__REC_ZERO:
		next = find_valid_record(data, pos + 1, len);
		if (next == 0)
			return SLIP_OK;
		return slip_set_error(SLIP_ECORRUPTED,
		                      "snapshot: offset %zu: %s, followed by a "
		                      "valid record at offset %zu",
		                      pos, slip__rec_status_name(st), next);
	default:
		return slip_set_error(SLIP_ECORRUPTED,
		                      "snapshot: offset %zu: %s (type 0x%02x)",
		                      pos, slip__rec_status_name(st),
		                      len - pos > 4 ? data[pos + 4] : 0);
	}
}

/* Pass 1: CRC-checks every record and finds the committed end. */
static int validate(slip__replay *out, const uint8_t *data, size_t len)
{
	size_t pos = SLIP__SNAP_HEADER_LEN;
	slip__rec r;
	slip__rec_status st;

	out->committed = pos;
	while (pos < len) {
		st = slip__rec_parse(&r, data + pos, len - pos);
		if (st != SLIP__REC_OK)
			return judge_damage(data, pos, len, st);
		out->records++;
		if (r.type == SLIP__REC_PUT)
			out->puts++;
		pos += r.size;
		if (r.type == SLIP__REC_CURSOR) {
			out->has_state = true;
			out->cursor = r.cursor;
			out->committed = pos;
		}
	}
	return SLIP_OK;
}

/* ---------------------------------------------------------------- pass 2 */

static int push_item(slip__replay *out, size_t *cap, const slip__rec *r)
{
	slip__replay_item *it;

	if (slip__grow(&out->items, cap, out->nitems + 1,
	               sizeof(*out->items)) != SLIP_OK)
		return SLIP_ENOMEM;
	it = &out->items[out->nitems++];
	it->key = r->key;
	it->key_len = (uint32_t)r->key_len;
	it->value = r->value;
	it->value_len = (uint32_t)r->value_len;
	it->version = r->version;
	it->live = true;
	out->live++;
	return SLIP_OK;
}

/* The index maps a key to its item's position + 1 (0 means absent). */
static const void *item_key(const void *ctx, uint64_t val, size_t *len)
{
	const slip__replay *out = ctx;

	*len = out->items[val - 1].key_len;
	return out->items[val - 1].key;
}

static int fold_put(slip__replay *out, slip__map *ix, size_t *cap,
                    const slip__rec *r)
{
	slip__replay_item *it;
	uint64_t at;

	if (slip__map_upsert(ix, r->key, r->key_len, out->nitems + 1, &at) !=
	    SLIP_OK)
		return SLIP_ENOMEM;
	if (at == out->nitems + 1)
		return push_item(out, cap, r);
	it = &out->items[at - 1];
	if (!it->live)
		out->live++;
	it->live = true;
	it->value = r->value;
	it->value_len = (uint32_t)r->value_len;
	it->version = r->version;
	return SLIP_OK;
}

/*
 * Number of records framed ahead of the one being folded, so their index
 * slots are prefetched: with a million keys the index is far larger than
 * the cache and each lookup would otherwise wait on memory.
 */
#define LOOKAHEAD 8

/* Prefetches the index slot of the record at @p at; returns its size. */
static size_t prefetch_at(const slip__map *ix, const uint8_t *data, size_t at,
                          size_t end)
{
	slip__rec f;

	slip__rec_frame(&f, data + at, end - at);
	if (f.type != SLIP__REC_CURSOR)
		slip__map_prefetch(ix, f.key, f.key_len);
	return f.size;
}

/* Pass 2: folds the committed records (CRCs already checked). */
static int fold(slip__replay *out, const uint8_t *data)
{
	size_t pos = SLIP__SNAP_HEADER_LEN, ahead = pos, cap = 0;
	slip__map ix;
	slip__rec r;
	uint64_t at;
	int rc;

	/* PUT records bound the distinct keys: size the index once. */
	slip__map_init(&ix, item_key, out);
	rc = slip__map_reserve(&ix, out->puts);
	if (rc == SLIP_OK && out->puts > 0)
		rc = slip__grow(&out->items, &cap, out->puts,
		                sizeof(*out->items));
	if (rc == SLIP_OK)
		slip__hint_huge(out->items, cap * sizeof(*out->items));
	for (int i = 0; i < LOOKAHEAD && ahead < out->committed; i++)
		ahead += prefetch_at(&ix, data, ahead, out->committed);
	while (rc == SLIP_OK && pos < out->committed) {
		if (ahead < out->committed)
			ahead += prefetch_at(&ix, data, ahead, out->committed);
		slip__rec_frame(&r, data + pos, out->committed - pos);
		pos += r.size;
		if (r.type == SLIP__REC_PUT) {
			rc = fold_put(out, &ix, &cap, &r);
		} else if (r.type == SLIP__REC_DELETE &&
		           (at = slip__map_get(&ix, r.key, r.key_len)) != 0 &&
		           out->items[at - 1].live) {
			out->items[at - 1].live = false;
			out->live--;
		}
	}
	slip__map_free(&ix);
	if (rc != SLIP_OK)
		return slip_set_error(SLIP_ENOMEM, "snapshot: out of memory "
		                                   "folding records");
	return SLIP_OK;
}

int slip__snapshot_replay(slip__replay *out, const uint8_t *data, size_t len)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < SLIP__SNAP_HEADER_LEN)
		return SLIP_OK;
	out->has_header = true;
	rc = check_header(data);
	if (rc == SLIP_OK)
		rc = validate(out, data, len);
	if (rc == SLIP_OK && out->has_state)
		rc = fold(out, data);
	if (rc != SLIP_OK)
		slip__replay_free(out);
	return rc;
}

void slip__replay_free(slip__replay *r)
{
	if (r == NULL)
		return;
	free(r->items);
	r->items = NULL;
	r->nitems = 0;
	r->live = 0;
}

/* ------------------------------------------------------------------ load */

/*
 * Sorting. Keys are compared as strcmp() would (they hold no NUL): bytes,
 * then length. To keep comparisons out of the scattered key bytes, each
 * 16-byte sort element carries an 8-byte window of its key taken just past
 * the prefix every key shares (a bucket's keys usually share a long one),
 * read big-endian so one integer comparison orders two windows; only equal
 * windows fall back to the full keys.
 */
typedef struct sort_elem {
	uint64_t win;
	slip_entry *e;
} sort_elem;

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static int cmp_elem(const void *pa, const void *pb)
{
	const sort_elem *a = pa, *b = pb;

	if (a->win != b->win)
		return a->win < b->win ? -1 : 1;
	return strcmp(a->e->key, b->e->key);
}

/* Length of the prefix all live keys share; true when already sorted. */
static bool scan_keys(const slip__replay *r, size_t *lcp)
{
	const slip__replay_item *first = NULL, *prev = NULL;
	bool sorted = true;

	*lcp = 0;
	for (size_t i = 0; i < r->nitems; i++) {
		const slip__replay_item *it = &r->items[i];
		size_t n = 0;

		if (!it->live)
			continue;
		if (first == NULL) {
			first = prev = it;
			*lcp = it->key_len;
			continue;
		}
		while (n < *lcp && n < it->key_len &&
		       first->key[n] == it->key[n])
			n++;
		*lcp = n;
		if (sorted &&
		    key_cmp(prev->key, prev->key_len, it->key, it->key_len) > 0)
			sorted = false;
		prev = it;
	}
	return sorted;
}

/*
 * A loaded snapshot and the one block its entries live in: the public
 * struct comes first, so slip_snapshot_free() finds the block from it.
 */
typedef struct loaded {
	slip_snapshot pub;
	uint8_t *block;
} loaded;

/* Bytes one entry takes in the block: header, value + NUL, key + NUL. */
static size_t entry_size(const slip__replay_item *it)
{
	size_t n = sizeof(slip_entry) + it->value_len + 1 + it->key_len + 1;

	return (n + 7) & ~(size_t)7;
}

/* Lays out @p it's entry at @p at (laid out as slip_entry_alloc does). */
static slip_entry *make_entry(uint8_t *at, const slip__replay_item *it)
{
	slip_entry *e = (slip_entry *)(void *)at;
	uint8_t *value = at + sizeof(*e);
	char *key = (char *)value + it->value_len + 1;

	memset(e, 0, sizeof(*e));
	if (it->value_len > 0)
		memcpy(value, it->value, it->value_len);
	value[it->value_len] = '\0';
	memcpy(key, it->key, it->key_len);
	key[it->key_len] = '\0';
	e->key = key;
	e->value = value;
	e->value_len = it->value_len;
	e->version = it->version;
	e->op = SLIP_OP_PUT;
	e->cursor = slip_cursor_none();
	return e;
}

/* Sorts the entries (made in file order) by key. */
static int sort_entries(slip_snapshot *snap, size_t lcp)
{
	sort_elem *el =
	        malloc((snap->count > 0 ? snap->count : 1) * sizeof(*el));

	if (el == NULL)
		return SLIP_ENOMEM;
	slip__hint_huge(el, snap->count * sizeof(*el));
	for (size_t i = 0; i < snap->count; i++) {
		slip_entry *e = snap->entries[i];
		size_t w = strlen(e->key) - lcp;
		uint8_t win[8] = {0};

		memcpy(win, e->key + lcp, w < sizeof(win) ? w : sizeof(win));
		el[i].win = slip__get_u64be(win);
		el[i].e = e;
	}
	qsort(el, snap->count, sizeof(*el), cmp_elem);
	for (size_t i = 0; i < snap->count; i++)
		snap->entries[i] = el[i].e;
	free(el);
	return SLIP_OK;
}

/*
 * Builds the entry array of @p snap: entries are made in file order (the
 * value bytes are read sequentially) in one block, and then sorted unless
 * the file already lists its keys in order, as a compacted file does.
 */
static int materialise(loaded *snap, const slip__replay *r)
{
	size_t lcp, n = 0, bytes = 0, off = 0;
	bool sorted = scan_keys(r, &lcp);

	for (size_t i = 0; i < r->nitems; i++)
		if (r->items[i].live)
			bytes += entry_size(&r->items[i]);
	snap->pub.entries =
	        calloc(r->live > 0 ? r->live : 1, sizeof(slip_entry *));
	snap->block = malloc(bytes > 0 ? bytes : 1);
	if (snap->pub.entries == NULL || snap->block == NULL)
		return SLIP_ENOMEM;
	slip__hint_huge(snap->block, bytes);
	for (size_t i = 0; i < r->nitems; i++) {
		if (!r->items[i].live)
			continue;
		snap->pub.entries[n++] =
		        make_entry(snap->block + off, &r->items[i]);
		off += entry_size(&r->items[i]);
	}
	snap->pub.count = n;
	return sorted ? SLIP_OK : sort_entries(&snap->pub, lcp);
}

SLIP_EXTERN int slip_snapshot_load_buffer(slip_snapshot **out, const void *data,
                                          size_t len)
{
	loaded *snap = NULL;
	slip__replay r;
	int rc;

	if (out == NULL || (data == NULL && len > 0))
		return slip_set_error(SLIP_EINVAL,
		                      "snapshot load: NULL argument");
	*out = NULL;
	rc = slip__snapshot_replay(&r, data, len);
	if (rc != SLIP_OK || !r.has_state)
		goto done;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL || materialise(snap, &r) != SLIP_OK) {
		rc = slip_set_error(SLIP_ENOMEM,
		                    "snapshot load: out of memory "
		                    "(%zu live entries)",
		                    r.live);
		goto done;
	}
	snap->pub.cursor = r.cursor;
	snap->pub.file_bytes = len;
	snap->pub.committed_bytes = r.committed;
	snap->pub.records = r.records;
	snap->pub.torn_tail = r.committed < len;
	*out = &snap->pub;
	snap = NULL;
done:
	slip_snapshot_free(snap != NULL ? &snap->pub : NULL);
	slip__replay_free(&r);
	return rc;
}

/* Re-sets the last error with the path in front of it. */
static int with_path(int rc, const char *path)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", slip_last_error());
	return slip_set_error(rc, "load \"%s\": %s", path, msg);
}

SLIP_EXTERN int slip_snapshot_load(slip_snapshot **out, const char *path)
{
	const slip__fileio *io = slip__fileio_get();
	uint8_t *data = NULL;
	size_t len = 0;
	char eb[128];
	int fd, rc;

	if (out == NULL || path == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "snapshot load: NULL argument");
	*out = NULL;
	fd = io->open(path, O_RDONLY, 0);
	if (fd < 0 && errno == ENOENT)
		return SLIP_OK;
	if (fd < 0)
		return slip_set_error(
		        SLIP_EIO, "load \"%s\": open: %s", path,
		        slip__fileio_errstr(errno, eb, sizeof(eb)));
	if (slip__fileio_read_all(io, fd, &data, &len) != 0) {
		rc = slip_set_error(errno == ENOMEM ? SLIP_ENOMEM : SLIP_EIO,
		                    "load \"%s\": read: %s", path,
		                    slip__fileio_errstr(errno, eb, sizeof(eb)));
		io->close(fd);
		return rc;
	}
	io->close(fd);
	rc = slip_snapshot_load_buffer(out, data, len);
	free(data);
	if (rc != SLIP_OK)
		return with_path(rc, path);
	return SLIP_OK;
}

SLIP_EXTERN void slip_snapshot_free(slip_snapshot *snap)
{
	if (snap == NULL)
		return;
	/* Every snapshot comes from slip_snapshot_load_buffer(): a loaded. */
	free(((loaded *)(void *)snap)->block);
	free(snap->entries);
	free(snap);
}

SLIP_EXTERN const slip_entry *slip_snapshot_find(const slip_snapshot *snap,
                                                 const char *key)
{
	size_t lo = 0, hi;

	if (snap == NULL || key == NULL)
		return NULL;
	hi = snap->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(snap->entries[mid]->key, key);

		if (c == 0)
			return snap->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
