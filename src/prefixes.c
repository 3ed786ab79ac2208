/*
 * src/prefixes.c — prefix sets: the union of several key prefixes that a
 * multi-prefix watch, scan or keys call covers. A set is normalised once
 * (validated, sorted, duplicates and prefixes covered by another dropped),
 * so a key matches at most one member and backends can turn the members
 * into non-overlapping server filters.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "internal.h"

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Sorted order puts a covering prefix right before what it covers (every
 * string starting with p sorts in one run after p), so one pass over the
 * sorted list keeps only the uncovered ones. */
static void drop_covered(slip_prefix_set *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->count; i++) {
		if (kept > 0 && starts_with(s->items[i], s->items[kept - 1])) {
			free(s->items[i]);
			continue;
		}
		s->items[kept++] = s->items[i];
	}
	s->count = kept;
}

static int copy_in(slip_prefix_set *s, const char *const *list, size_t n,
                   const char *op)
{
	s->items = calloc(n, sizeof(*s->items));
	if (s->items == NULL)
		return slip_set_error(SLIP_ENOMEM, "%s: out of memory", op);
	for (size_t i = 0; i < n; i++) {
		if (list[i] == NULL)
			return slip_set_error(SLIP_EINVAL,
			                      "%s: prefix %zu of %zu "
			                      "is NULL",
			                      op, i + 1, n);
		if (slip_prefix_validate(list[i]) != SLIP_OK)
			return slip__with_op(SLIP_EINVAL, op);
		s->items[i] = strdup(list[i]);
		if (s->items[i] == NULL)
			return slip_set_error(SLIP_ENOMEM, "%s: out of memory",
			                      op);
		s->count = i + 1;
		if (list[i][0] == '\0')
			return SLIP_OK; /* "" covers every key */
	}
	return SLIP_OK;
}

int slip__prefix_set_init(slip_prefix_set *s, const char *single,
                          const char *const *list, size_t n, const char *op)
{
	const char *one = single != NULL ? single : "";
	int rc;

	memset(s, 0, sizeof(*s));
	if (n == 0) {
		list = &one;
		n = 1;
	} else if (single != NULL) {
		return slip_set_error(SLIP_EINVAL,
		                      "%s: set either one prefix or "
		                      "a list of prefixes, not both",
		                      op);
	} else if (list == NULL) {
		return slip_set_error(
		        SLIP_EINVAL, "%s: %zu prefixes but a NULL list", op, n);
	} else if (n > SLIP_PREFIXES_MAX) {
		return slip_set_error(SLIP_EINVAL,
		                      "%s: %zu prefixes (at most %d)", op, n,
		                      SLIP_PREFIXES_MAX);
	}
	rc = copy_in(s, list, n, op);
	if (rc != SLIP_OK) {
		slip__prefix_set_free(s);
		return rc;
	}
	qsort(s->items, s->count, sizeof(*s->items), by_string);
	drop_covered(s);
	return SLIP_OK;
}

bool slip__prefix_set_match(const slip_prefix_set *s, const char *key)
{
	return slip__prefixes_match((const char *const *)s->items, s->count,
	                            key);
}

bool slip__prefix_set_all(const slip_prefix_set *s)
{
	return s->count == 1 && s->items[0][0] == '\0';
}

void slip__prefix_set_free(slip_prefix_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->items[i]);
	free(s->items);
	s->items = NULL;
	s->count = 0;
}
