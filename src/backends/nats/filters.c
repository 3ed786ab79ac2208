/*
 * src/backends/nats/filters.c — server filters for one prefix or the union
 * of several. A string prefix is filtered server-side on its token-aligned
 * part ("node.us-" -> "$KV.b.node.>") and client-side for the rest, so the
 * same key matching decides what is delivered whichever filters the server
 * applied. Several prefixes become:
 *   - on nats-server >= 2.10, the distinct, non-overlapping aligned filters
 *     of one multi-filter consumer (the server refuses overlapping ones);
 *   - below 2.10 (no filter_subjects), the one filter of their longest
 *     common token-aligned part — the same consumer a single prefix gets,
 *     with more filtered client-side (docs/nats-backend.md says why).
 */
#include <stdlib.h>
#include <string.h>

#include "nats_backend.h"

/* Length of the token-aligned part of @p p (up to its last '.'). */
static size_t aligned_len(const char *p, size_t n)
{
	while (n > 0 && p[n - 1] != '.')
		n--;
	return n;
}

static int add_filter(slip_nats_filters *f, const slip_nats_store *st,
                      const char *prefix, size_t aligned)
{
	char *s = malloc(st->subj_len + aligned + 2);

	if (s == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "watch \"%s\": out of memory", st->name);
	memcpy(s, st->subj, st->subj_len);
	memcpy(s + st->subj_len, prefix, aligned);
	memcpy(s + st->subj_len + aligned, ">", 2);
	f->subj[f->count++] = s;
	return SLIP_OK;
}

/* One filter for the longest common aligned part of every prefix. */
static int common_filter(slip_nats_filters *f, const slip_nats_store *st)
{
	const char *first = f->prefixes[0];
	size_t n = strlen(first);

	for (size_t i = 1; i < f->prefix_count; i++) {
		size_t j = 0;
		while (j < n && f->prefixes[i][j] == first[j])
			j++;
		n = j;
	}
	return add_filter(f, st, first, aligned_len(first, n));
}

typedef struct part {
	const char *p;
	size_t len;
} part;

static int by_part(const void *a, const void *b)
{
	const part *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* One filter per aligned part, dropping those another covers: sorted, a
 * covering part comes right before the run of parts it covers. */
static int distinct_filters(slip_nats_filters *f, const slip_nats_store *st)
{
	part *parts = calloc(f->prefix_count, sizeof(*parts));
	int rc = SLIP_OK;

	if (parts == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "watch \"%s\": out of memory", st->name);
	for (size_t i = 0; i < f->prefix_count; i++) {
		parts[i].p = f->prefixes[i];
		parts[i].len = aligned_len(parts[i].p, strlen(parts[i].p));
	}
	qsort(parts, f->prefix_count, sizeof(*parts), by_part);
	const part *last = NULL;
	for (size_t i = 0; i < f->prefix_count && rc == SLIP_OK; i++) {
		if (last != NULL && parts[i].len >= last->len &&
		    memcmp(parts[i].p, last->p, last->len) == 0)
			continue;
		rc = add_filter(f, st, parts[i].p, parts[i].len);
		last = &parts[i];
	}
	free(parts);
	return rc;
}

int slip__nats_filters_make(slip_nats_filters *f, const slip_nats_store *st,
                            const char *prefix, const char *const *prefixes,
                            size_t count, bool multi)
{
	memset(f, 0, sizeof(*f));
	if (count == 0) {
		f->single = prefix != NULL ? prefix : "";
		prefixes = &f->single;
		count = 1;
	}
	f->prefixes = prefixes;
	f->prefix_count = count;
	f->subj = calloc(count, sizeof(*f->subj));
	if (f->subj == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "watch \"%s\": out of memory", st->name);
	int rc = count > 1 && multi ? distinct_filters(f, st)
	                            : common_filter(f, st);
	if (rc != SLIP_OK)
		slip__nats_filters_free(f);
	return rc;
}

bool slip__nats_filters_match(const slip_nats_filters *f,
                              const slip_nats_store *st, const char *subj)
{
	if (subj == NULL || strncmp(subj, st->subj, st->subj_len) != 0)
		return false;
	return slip__prefixes_match(f->prefixes, f->prefix_count,
	                            subj + st->subj_len);
}

bool slip__nats_filters_whole(const slip_nats_filters *f,
                              const slip_nats_store *st)
{
	return f->count == 1 && strlen(f->subj[0]) == st->subj_len + 1;
}

void slip__nats_filters_free(slip_nats_filters *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->subj[i]);
	free(f->subj);
	memset(f, 0, sizeof(*f));
}
