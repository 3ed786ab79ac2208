/*
 * src/snapshot_writer.c — the append-only snapshot writer.
 *
 *   open        load the file, truncate a torn tail, or create it (header,
 *               fsync, directory fsync)
 *   write       encode an update into the pending buffer (no I/O)
 *   checkpoint  one positioned write of pending records + cursor record,
 *               fdatasync; on failure truncate back and keep the buffer
 *   compact     live state + cursor to "<path>.tmp", fsync, rename over
 *               the file, fsync the directory
 *   accessors   the committed live state, kept in memory in a compact
 *               table (src/kvarena.h) for compact and for readers
 *
 * The file is held under an exclusive flock() for the writer's lifetime:
 * a second writer on the same path fails at open instead of interleaving
 * its appends. All I/O goes through the fileio table so tests can inject
 * faults. The
 * committed length is the only file offset the writer trusts: every append
 * is a pwrite at that offset, so a failed or partial append is simply
 * overwritten by the retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "kvarena.h"
#include "snapshot_record.h"
#include "util/grow.h"

/* Compaction writes the new file through a buffer of this size. */
#define COMPACT_CHUNK (1u << 20)

struct slip_snapshot_writer {
	char *path;
	char *tmp_path;
	int fd;
	uint64_t committed; /* file length holding committed records */
	uint64_t appended;  /* bytes appended since the last compaction */
	uint64_t threshold;
	slip_cursor cursor;
	/* Committed live state; view is what writer_get() lends out. */
	slip__kvarena live;
	slip_entry view;
	/* Uncommitted updates: encoded bytes and the entries they came from. */
	uint8_t *buf;
	size_t buf_len, buf_cap;
	slip_entry **pending;
	size_t npending, cap_pending;
};

static int io_error(const slip_snapshot_writer *w, const char *op,
                    const char *step, int err)
{
	char eb[128];

	return slip_set_error(err == ENOMEM ? SLIP_ENOMEM : SLIP_EIO,
	                      "snapshot %s \"%s\": %s: %s", op, w->path, step,
	                      slip__fileio_errstr(err, eb, sizeof(eb)));
}

/* ------------------------------------------------------------ live state */

/* Makes room so that applying every pending update cannot fail. */
static int reserve_live(slip_snapshot_writer *w)
{
	size_t bytes = 0;

	for (size_t i = 0; i < w->npending; i++) {
		const slip_entry *e = w->pending[i];

		if (e->op == SLIP_OP_PUT)
			bytes += slip__kvarena_rec_size(
			        strlen(e->key), e->value_len, e->version.len);
	}
	return slip__kvarena_reserve(&w->live, w->npending, bytes);
}

/* Folds @p e (PUT or DELETE) into live state; cannot fail after
 * reserve_live(). */
static void apply(slip_snapshot_writer *w, const slip_entry *e)
{
	size_t klen = strlen(e->key);

	if (e->op == SLIP_OP_PUT)
		(void)slip__kvarena_put(&w->live, e->key, klen, e->value,
		                        e->value_len, &e->version,
		                        e->created_ns);
	else
		(void)slip__kvarena_del(&w->live, e->key, klen);
}

/* Fills live state from a replay of the file. */
static int load_state(slip_snapshot_writer *w, const slip__replay *r)
{
	size_t bytes = 0;

	for (size_t i = 0; i < r->nitems; i++) {
		const slip__replay_item *it = &r->items[i];

		if (it->live)
			bytes += slip__kvarena_rec_size(
			        it->key_len, it->value_len, it->version.len);
	}
	if (slip__kvarena_reserve(&w->live, r->live, bytes) != SLIP_OK)
		return SLIP_ENOMEM;
	for (size_t i = 0; i < r->nitems; i++) {
		const slip__replay_item *it = &r->items[i];

		if (it->live)
			(void)slip__kvarena_put(&w->live, (const char *)it->key,
			                        it->key_len, it->value,
			                        it->value_len, &it->version, 0);
	}
	if (r->has_state)
		w->cursor = r->cursor;
	return SLIP_OK;
}

/* ------------------------------------------------------------------ open */

/* A new (or header-torn) file: header, fsync, directory fsync. */
static int create_file(slip_snapshot_writer *w)
{
	const slip__fileio *io = slip__fileio_get();
	uint8_t hdr[SLIP__SNAP_HEADER_LEN];

	slip__snap_header_encode(hdr);
	if (io->ftruncate(w->fd, 0) != 0)
		return io_error(w, "open", "ftruncate", errno);
	if (slip__fileio_pwrite_all(io, w->fd, hdr, sizeof(hdr), 0) != 0)
		return io_error(w, "open", "write header", errno);
	if (io->fsync(w->fd) != 0)
		return io_error(w, "open", "fsync", errno);
	if (io->dirsync(w->path) != 0)
		return io_error(w, "open", "fsync directory", errno);
	w->committed = SLIP__SNAP_HEADER_LEN;
	return SLIP_OK;
}

/* An existing file: replay it and cut away anything past the last cursor. */
static int open_existing(slip_snapshot_writer *w)
{
	const slip__fileio *io = slip__fileio_get();
	uint8_t *data = NULL;
	slip__replay r;
	size_t len;
	char msg[512];
	int rc;

	memset(&r, 0, sizeof(r));
	if (slip__fileio_read_all(io, w->fd, &data, &len) != 0)
		return io_error(w, "open", "read", errno);
	if (len < SLIP__SNAP_HEADER_LEN) {
		free(data);
		return create_file(w);
	}
	rc = slip__snapshot_replay(&r, data, len);
	if (rc != SLIP_OK) {
		snprintf(msg, sizeof(msg), "%s", slip_last_error());
		rc = slip_set_error(rc, "snapshot open \"%s\": %s", w->path,
		                    msg);
		goto done;
	}
	if (load_state(w, &r) != SLIP_OK) {
		rc = slip_set_error(SLIP_ENOMEM,
		                    "snapshot open \"%s\": out "
		                    "of memory",
		                    w->path);
		goto done;
	}
	w->committed = r.committed;
	w->appended = r.committed - SLIP__SNAP_HEADER_LEN;
	if (len > r.committed) {
		/* New records must not land behind a torn tail. */
		if (io->ftruncate(w->fd, (off_t)r.committed) != 0)
			rc = io_error(w, "open", "truncate torn tail", errno);
		else if (io->fsync(w->fd) != 0)
			rc = io_error(w, "open", "fsync", errno);
	}
done:
	slip__replay_free(&r);
	free(data);
	return rc;
}

static char *dup_str(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

SLIP_EXTERN int slip_snapshot_writer_open(slip_snapshot_writer **out,
                                          const char *path,
                                          uint64_t compact_threshold)
{
	const slip__fileio *io = slip__fileio_get();
	slip_snapshot_writer *w;
	uint64_t size;
	int rc;

	if (out == NULL || path == NULL || path[0] == '\0')
		return slip_set_error(SLIP_EINVAL, "snapshot open: NULL or "
		                                   "empty argument");
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "snapshot open: out of memory");
	w->fd = -1;
	slip__kvarena_init(&w->live);
	w->threshold = compact_threshold;
	w->path = dup_str(path, "");
	w->tmp_path = dup_str(path, ".tmp");
	if (w->path == NULL || w->tmp_path == NULL) {
		rc = slip_set_error(SLIP_ENOMEM,
		                    "snapshot open: out of memory");
		goto done;
	}
	w->fd = io->open(path, O_RDWR | O_CREAT, 0644);
	if (w->fd < 0) {
		rc = io_error(w, "open", "open", errno);
		goto done;
	}
	/* Two writers appending to one file would overwrite each other. */
	if (io->lock(w->fd) != 0) {
		rc = errno == EWOULDBLOCK
		             ? slip_set_error(SLIP_EIO,
		                              "snapshot open \"%s\": another "
		                              "writer has the file open",
		                              path)
		             : io_error(w, "open", "lock", errno);
		goto done;
	}
	if (io->fsize(w->fd, &size) != 0)
		rc = io_error(w, "open", "stat", errno);
	else if (size < SLIP__SNAP_HEADER_LEN)
		rc = create_file(w);
	else
		rc = open_existing(w);
	/* A compaction that crashed before its rename leaves this behind. */
	if (rc == SLIP_OK)
		(void)io->unlink(w->tmp_path);
done:
	if (rc != SLIP_OK) {
		slip_snapshot_writer_free(w);
		return rc;
	}
	*out = w;
	return SLIP_OK;
}

SLIP_EXTERN void slip_snapshot_writer_free(slip_snapshot_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		slip__fileio_get()->close(w->fd);
	for (size_t i = 0; i < w->npending; i++)
		slip_entry_free(w->pending[i]);
	free(w->pending);
	free(w->buf);
	slip__kvarena_free(&w->live);
	free(w->path);
	free(w->tmp_path);
	free(w);
}

/* ----------------------------------------------------------------- write */

/* The entry to keep for @p u: a PUT copy, or a value-less DELETE. */
static int pending_copy(slip_entry **out, const slip_entry *u)
{
	if (u->op == SLIP_OP_PUT)
		return slip_entry_dup(out, u);
	return slip_entry_new(out, u->key, NULL, 0, &u->version,
	                      SLIP_OP_DELETE);
}

static int check_update(const slip_entry *u)
{
	size_t klen;

	if (u->op != SLIP_OP_PUT && u->op != SLIP_OP_DELETE &&
	    u->op != SLIP_OP_PURGE)
		return slip_set_error(SLIP_EINVAL,
		                      "snapshot write: op \"%s\" "
		                      "is not an update",
		                      slip_op_name(u->op));
	if (u->key == NULL)
		return slip_set_error(SLIP_EINVAL, "snapshot write: NULL key");
	klen = strlen(u->key);
	if (klen > UINT16_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "snapshot write: key of %zu "
		                      "bytes (max 65535)",
		                      klen);
	if (u->op == SLIP_OP_PUT && u->value_len > SLIP__SNAP_VALUE_MAX)
		return slip_set_error(SLIP_ETOOBIG,
		                      "snapshot write \"%s\": "
		                      "value of %zu bytes (max "
		                      "64 MiB)",
		                      u->key, u->value_len);
	if (u->version.len > SLIP_VERSION_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "snapshot write \"%s\": "
		                      "version of %u bytes",
		                      u->key, u->version.len);
	return SLIP_OK;
}

SLIP_EXTERN int slip_snapshot_writer_write(slip_snapshot_writer *w,
                                           const slip_entry *update)
{
	slip_entry *e = NULL;
	size_t klen, size;
	int rc;

	if (w == NULL || update == NULL)
		return slip_set_error(SLIP_EINVAL, "snapshot write: NULL "
		                                   "argument");
	rc = check_update(update);
	if (rc != SLIP_OK)
		return rc;
	klen = strlen(update->key);
	size = update->op == SLIP_OP_PUT
	               ? slip__rec_put_size(klen, update->value_len,
	                                    update->version.len)
	               : slip__rec_delete_size(klen, update->version.len);
	if (pending_copy(&e, update) != SLIP_OK ||
	    slip__grow(&w->pending, &w->cap_pending, w->npending + 1,
	               sizeof(*w->pending)) != SLIP_OK ||
	    slip__grow(&w->buf, &w->buf_cap, w->buf_len + size, 1) != SLIP_OK) {
		slip_entry_free(e);
		return slip_set_error(SLIP_ENOMEM,
		                      "snapshot write \"%s\": out "
		                      "of memory",
		                      update->key);
	}
	if (e->op == SLIP_OP_PUT)
		slip__rec_put_encode(w->buf + w->buf_len, e->key, klen,
		                     e->value, e->value_len, &e->version);
	else
		slip__rec_delete_encode(w->buf + w->buf_len, e->key, klen,
		                        &e->version);
	w->buf_len += size;
	w->pending[w->npending++] = e;
	return SLIP_OK;
}

/* ------------------------------------------------------------ checkpoint */

/* Best effort: cut the file back to its committed length after a failure. */
static void roll_back(slip_snapshot_writer *w)
{
	(void)slip__fileio_get()->ftruncate(w->fd, (off_t)w->committed);
}

SLIP_EXTERN int slip_snapshot_writer_checkpoint(slip_snapshot_writer *w,
                                                const slip_cursor *cursor,
                                                bool *compact_due)
{
	const slip__fileio *io = slip__fileio_get();
	size_t total;

	if (compact_due != NULL)
		*compact_due = false;
	if (w == NULL || cursor == NULL || cursor->len > SLIP_CURSOR_MAX)
		return slip_set_error(SLIP_EINVAL, "snapshot checkpoint: NULL "
		                                   "argument or bad cursor");
	if (reserve_live(w) != SLIP_OK ||
	    slip__grow(&w->buf, &w->buf_cap,
	               w->buf_len + slip__rec_cursor_size(cursor->len),
	               1) != SLIP_OK)
		return slip_set_error(SLIP_ENOMEM,
		                      "snapshot checkpoint \"%s\": "
		                      "out of memory",
		                      w->path);
	total = w->buf_len +
	        slip__rec_cursor_encode(w->buf + w->buf_len, cursor);
	if (slip__fileio_pwrite_all(io, w->fd, w->buf, total, w->committed) !=
	    0) {
		int err = errno;

		roll_back(w);
		return io_error(w, "checkpoint", "write", err);
	}
	if (io->fdatasync(w->fd) != 0) {
		int err = errno;

		roll_back(w);
		return io_error(w, "checkpoint", "fdatasync", err);
	}
	/* Durable: fold the pending updates into the committed state. */
	w->committed += total;
	w->appended += total;
	w->cursor = *cursor;
	for (size_t i = 0; i < w->npending; i++) {
		apply(w, w->pending[i]);
		slip_entry_free(w->pending[i]);
	}
	w->npending = 0;
	w->buf_len = 0;
	if (compact_due != NULL)
		*compact_due = w->threshold > 0 && w->appended >= w->threshold;
	return SLIP_OK;
}

/* --------------------------------------------------------------- compact */

/* Appends one record to the chunk, writing the chunk out when full. */
static int chunk_flush(int fd, uint8_t *chunk, size_t *used, uint64_t *off)
{
	if (*used == 0)
		return 0;
	if (slip__fileio_pwrite_all(slip__fileio_get(), fd, chunk, *used,
	                            *off) != 0)
		return -1;
	*off += *used;
	*used = 0;
	return 0;
}

/*
 * Writes header + sorted live PUTs + cursor to @p fd. Returns 0 or -1 with
 * errno set; *size is the file length written.
 */
static int write_state(slip_snapshot_writer *w, int fd, uint64_t *size)
{
	const void **sorted = NULL;
	uint8_t *chunk = NULL, *big = NULL;
	size_t used = 0, n;
	uint64_t off = 0;
	int rc = -1;

	chunk = malloc(COMPACT_CHUNK);
	if (chunk == NULL ||
	    slip__kvarena_sorted(&w->live, &sorted) != SLIP_OK) {
		errno = ENOMEM;
		goto done;
	}
	slip__snap_header_encode(chunk);
	used = SLIP__SNAP_HEADER_LEN;
	for (size_t i = 0; i < slip__kvarena_count(&w->live); i++) {
		slip_entry view;
		const slip_entry *e = &view;
		size_t klen;
		uint8_t *dst;

		slip__kvarena_view(sorted[i], &view);
		klen = strlen(e->key);

		n = slip__rec_put_size(klen, e->value_len, e->version.len);
		if (used + n > COMPACT_CHUNK &&
		    chunk_flush(fd, chunk, &used, &off) != 0)
			goto done;
		/* A record bigger than the chunk gets a buffer of its own. */
		dst = n > COMPACT_CHUNK ? (big = malloc(n)) : chunk + used;
		if (dst == NULL) {
			errno = ENOMEM;
			goto done;
		}
		slip__rec_put_encode(dst, e->key, klen, e->value, e->value_len,
		                     &e->version);
		if (big == NULL) {
			used += n;
			continue;
		}
		if (chunk_flush(fd, big, &n, &off) != 0)
			goto done;
		free(big);
		big = NULL;
	}
	/*
	 * Records count only up to a cursor record, so live state always
	 * gets one — the none cursor (length 0) included: a checkpoint at it
	 * committed that state, and leaving the record out turned it into
	 * an uncommitted tail that loads and reopens dropped (issue 16 §2).
	 */
	if (w->cursor.len > 0 || slip__kvarena_count(&w->live) > 0) {
		n = slip__rec_cursor_size(w->cursor.len);
		if (used + n > COMPACT_CHUNK &&
		    chunk_flush(fd, chunk, &used, &off) != 0)
			goto done;
		used += slip__rec_cursor_encode(chunk + used, &w->cursor);
	}
	if (chunk_flush(fd, chunk, &used, &off) != 0)
		goto done;
	*size = off;
	rc = 0;
done:
	free(big);
	free(chunk);
	free(sorted);
	return rc;
}

SLIP_EXTERN int slip_snapshot_writer_compact(slip_snapshot_writer *w)
{
	const slip__fileio *io = slip__fileio_get();
	const char *step = "open temp file";
	uint64_t size = 0;
	int tfd, err;

	if (w == NULL)
		return slip_set_error(SLIP_EINVAL, "snapshot compact: NULL "
		                                   "writer");
	tfd = io->open(w->tmp_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (tfd < 0)
		return io_error(w, "compact", step, errno);
	/* The new file must be locked before the rename makes it visible. */
	if (io->lock(tfd) != 0)
		step = "lock temp file";
	else if (write_state(w, tfd, &size) != 0)
		step = "write temp file";
	else if (io->fsync(tfd) != 0)
		step = "fsync temp file";
	else if (io->rename(w->tmp_path, w->path) != 0)
		step = "rename";
	else
		step = NULL;
	if (step != NULL) {
		err = errno;
		io->close(tfd);
		(void)io->unlink(w->tmp_path);
		return io_error(w, "compact", step, err);
	}
	/*
	 * The path now names the new file: switch to it before anything else
	 * can fail, or later appends would go to the unlinked old inode.
	 */
	io->close(w->fd);
	w->fd = tfd;
	w->committed = size;
	w->appended = 0;
	if (io->dirsync(w->path) != 0)
		return io_error(w, "compact", "fsync directory", errno);
	return SLIP_OK;
}

/* ------------------------------------------------------------- accessors */

SLIP_EXTERN const slip_cursor *
slip_snapshot_writer_cursor(const slip_snapshot_writer *w)
{
	return w != NULL ? &w->cursor : NULL;
}

SLIP_EXTERN size_t slip_snapshot_writer_count(const slip_snapshot_writer *w)
{
	return w != NULL ? slip__kvarena_count(&w->live) : 0;
}

SLIP_EXTERN const slip_entry *
slip_snapshot_writer_get(const slip_snapshot_writer *w, const char *key)
{
	/* The writer is heap-allocated, never a const object: the view it
	 * lends out ("borrowed until the next call") is its own to fill. */
	slip_entry *view = w != NULL ? (slip_entry *)&w->view : NULL;

	if (w == NULL || key == NULL ||
	    !slip__kvarena_get(&w->live, key, strlen(key), view))
		return NULL;
	return view;
}

SLIP_EXTERN int slip_snapshot_writer_foreach(const slip_snapshot_writer *w,
                                             slip_entry_visit cb, void *payload)
{
	slip_entry view;
	size_t pos = 0;

	if (w == NULL || cb == NULL)
		return slip_set_error(SLIP_EINVAL, "snapshot foreach: NULL "
		                                   "argument");
	while (slip__kvarena_next(&w->live, &pos, &view)) {
		int rc = cb(payload, &view);

		if (rc != 0)
			return rc;
	}
	return SLIP_OK;
}

SLIP_EXTERN uint64_t
slip_snapshot_writer_appended(const slip_snapshot_writer *w)
{
	return w != NULL ? w->appended : 0;
}
