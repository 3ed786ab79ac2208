/*
 * src/types.c — the small value types of types.h: version tokens, cursors
 * and their text form, entries, entry and key lists, operation names; the
 * check of versioned structs; and the value-type helpers sys/backend.h
 * gives backends (the sequence cursor layout, one-block entries).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "quote.h"

/* -------------------------------------------------------------- versions */

int slip__version_check(unsigned version, unsigned current, const char *what,
                        const char *init)
{
	if (version >= 1 && version <= current)
		return SLIP_OK;
	return slip_set_error(
	        SLIP_EINVAL, "%s version %u, this library accepts 1..%u%s%s%s",
	        what, version, current,
	        init != NULL ? " (initialise with " : "",
	        init != NULL ? init : "", init != NULL ? ")" : "");
}

/* ---------------------------------------------------------------- version */

SLIP_EXTERN slip_version slip_version_from_u64(uint64_t rev)
{
	slip_version v;

	memset(&v, 0, sizeof(v));
	v.len = 8;
	slip__put_u64be(v.bytes, rev);
	return v;
}

SLIP_EXTERN int slip_version_to_u64(const slip_version *v, uint64_t *out)
{
	if (v == NULL || out == NULL || v->len != 8)
		return slip_set_error(SLIP_EINVAL,
		                      "version_to_u64: expected an 8-byte "
		                      "version token, got %u bytes",
		                      v == NULL ? 0u : (unsigned)v->len);
	*out = slip__get_u64be(v->bytes);
	return SLIP_OK;
}

SLIP_EXTERN int slip_version_cmp(const slip_version *a, const slip_version *b)
{
	static const slip_version empty;
	size_t la, lb;
	int c;

	/* NULL orders as the empty token rather than crashing. */
	a = a == NULL ? &empty : a;
	b = b == NULL ? &empty : b;
	la = a->len > SLIP_VERSION_MAX ? SLIP_VERSION_MAX : a->len;
	lb = b->len > SLIP_VERSION_MAX ? SLIP_VERSION_MAX : b->len;
	c = memcmp(a->bytes, b->bytes, la < lb ? la : lb);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return la < lb ? -1 : la > lb ? 1 : 0;
}

SLIP_EXTERN bool slip_version_eq(const slip_version *a, const slip_version *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->len == b->len && a->len <= SLIP_VERSION_MAX &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* ----------------------------------------------------------------- cursor */

SLIP_EXTERN slip_cursor slip_cursor_none(void)
{
	slip_cursor c;

	memset(&c, 0, sizeof(c));
	return c;
}

SLIP_EXTERN bool slip_cursor_is_none(const slip_cursor *c)
{
	return c == NULL || c->len == 0;
}

SLIP_EXTERN int slip_cursor_to_string(const slip_cursor *c, char *buf,
                                      size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = c == NULL ? 0 : c->len;

	if (buf == NULL)
		return slip_set_error(SLIP_EINVAL, "cursor_to_string: NULL "
		                                   "buffer");
	if (len > SLIP_CURSOR_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "cursor_to_string: cursor of %zu bytes "
		                      "exceeds the %d-byte maximum",
		                      len, SLIP_CURSOR_MAX);
	if (len == 0) {
		if (bufsz < 5)
			goto too_small;
		memcpy(buf, "none", 5);
		return SLIP_OK;
	}
	if (bufsz < 2 * len + 1)
		goto too_small;
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = hex[c->bytes[i] >> 4];
		buf[2 * i + 1] = hex[c->bytes[i] & 0xf];
	}
	buf[2 * len] = '\0';
	return SLIP_OK;
too_small:
	if (bufsz > 0)
		buf[0] = '\0';
	return slip_set_error(SLIP_EINVAL,
	                      "cursor_to_string: buffer of %zu bytes is too "
	                      "small (use SLIP_CURSOR_STRLEN)",
	                      bufsz);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

SLIP_EXTERN int slip_cursor_from_string(slip_cursor *out, const char *text)
{
	slip_cursor c;
	size_t len;

	if (out == NULL || text == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "cursor_from_string: NULL argument");
	memset(&c, 0, sizeof(c));
	len = strlen(text);
	if (len == 0 || strcmp(text, "none") == 0) {
		*out = c;
		return SLIP_OK;
	}
	for (size_t i = 0; i < len && i <= 2 * SLIP_CURSOR_MAX; i++) {
		if (hex_value(text[i]) < 0) {
			char q[SLIP_QUOTE_BUF];
			return slip_set_error(
			        SLIP_EINVAL,
			        "cursor \"%s\": bad character 0x%02x at offset "
			        "%zu (expected hex digits or \"none\")",
			        slip__quote(q, text), (unsigned char)text[i],
			        i);
		}
	}
	if (len > 2 * SLIP_CURSOR_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "cursor text of %zu characters is too "
		                      "long (at most %d hex digits)",
		                      len, 2 * SLIP_CURSOR_MAX);
	if (len % 2 != 0)
		return slip_set_error(SLIP_EINVAL,
		                      "cursor \"%s\": odd number of hex digits "
		                      "(%zu)",
		                      text, len); /* hex only: safe to print */
	c.len = (uint8_t)(len / 2);
	for (size_t i = 0; i < c.len; i++)
		c.bytes[i] = (uint8_t)(hex_value(text[2 * i]) << 4 |
		                       hex_value(text[2 * i + 1]));
	*out = c;
	return SLIP_OK;
}

SLIP_EXTERN int slip_cursor_seq(const slip_cursor *c, uint64_t *out)
{
	if (c == NULL || out == NULL || c->len < 8)
		return slip_set_error(SLIP_EINVAL,
		                      "cursor_seq: cursor of %u bytes has no "
		                      "8-byte sequence",
		                      c == NULL ? 0u : (unsigned)c->len);
	*out = slip__get_u64be(c->bytes);
	return SLIP_OK;
}

/* ------------------------------------------------ sequence cursor layout */

SLIP_EXTERN slip_cursor slip_cursor_seq_make(uint64_t seq, int64_t identity)
{
	slip_cursor c;

	memset(&c, 0, sizeof(c));
	c.len = 16;
	slip__put_u64be(c.bytes, seq);
	slip__put_u64be(c.bytes + 8, (uint64_t)identity);
	return c;
}

SLIP_EXTERN int slip_cursor_seq_split(const slip_cursor *c, uint64_t *seq,
                                      bool *has_identity, int64_t *identity)
{
	if (c == NULL || (c->len != 8 && c->len != 16))
		return slip_set_error(SLIP_EINVAL,
		                      "cursor: expected 8 or 16 bytes, got %u",
		                      c == NULL ? 0u : (unsigned)c->len);
	*seq = slip__get_u64be(c->bytes);
	*has_identity = c->len == 16;
	*identity = c->len == 16 ? (int64_t)slip__get_u64be(c->bytes + 8) : 0;
	return SLIP_OK;
}

SLIP_EXTERN int slip_cursor_seq_cmp(const slip_cursor *a, const slip_cursor *b)
{
	uint64_t sa, sb;
	bool ia, ib;
	int64_t da, db;

	if (a == NULL || b == NULL || (a->len != 8 && a->len != 16) ||
	    (b->len != 8 && b->len != 16))
		return SLIP_CURSOR_UNORDERED;
	slip_cursor_seq_split(a, &sa, &ia, &da);
	slip_cursor_seq_split(b, &sb, &ib, &db);
	if (ia && ib && da != db)
		return SLIP_CURSOR_UNORDERED;
	return sa < sb ? -1 : sa > sb;
}

/* --------------------------------------------------------- entry blocks */

SLIP_EXTERN int slip_entry_alloc(slip_entry **out, const char *key,
                                 size_t key_len, size_t value_len,
                                 uint8_t **value_out)
{
	slip_entry *e;
	char *k;
	uint8_t *v;

	*out = NULL;
	if (key_len > SIZE_MAX / 2 ||
	    value_len > SIZE_MAX / 2 - key_len - sizeof(*e) - 2)
		return slip_set_error(SLIP_ENOMEM, "entry: size overflow");
	/* Entry, value, then key: the value stays suitably aligned. */
	e = malloc(sizeof(*e) + value_len + 1 + key_len + 1);
	if (e == NULL)
		return slip_set_error(SLIP_ENOMEM, "entry: out of memory");
	memset(e, 0, sizeof(*e));
	v = (uint8_t *)(e + 1);
	k = (char *)v + value_len + 1;
	v[value_len] = '\0';
	if (key_len > 0)
		memcpy(k, key, key_len);
	k[key_len] = '\0';
	e->key = k;
	e->value = v;
	e->value_len = value_len;
	e->op = SLIP_OP_PUT;
	if (value_out != NULL)
		*value_out = v;
	*out = e;
	return SLIP_OK;
}

/* ------------------------------------------------------------------ entry */

SLIP_EXTERN int slip_entry_new(slip_entry **out, const char *key,
                               const void *value, size_t value_len,
                               const slip_version *version, slip_op op)
{
	slip_entry *e;
	uint8_t *v;
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "entry_new: NULL out");
	*out = NULL;
	if (key == NULL)
		return slip_set_error(SLIP_EINVAL, "entry_new: NULL key");
	if (value == NULL && value_len > 0)
		return slip_set_error(SLIP_EINVAL,
		                      "entry_new \"%.64s\": NULL value with "
		                      "length %zu",
		                      key, value_len);
	if (version != NULL && version->len > SLIP_VERSION_MAX)
		return slip_set_error(
		        SLIP_EINVAL, "entry_new \"%.64s\": version of %u bytes",
		        key, (unsigned)version->len);
	rc = slip_entry_alloc(&e, key, strlen(key), value_len, &v);
	if (rc != SLIP_OK)
		return rc;
	if (value_len > 0)
		memcpy(v, value, value_len);
	if (version != NULL)
		e->version = *version;
	e->op = op;
	*out = e;
	return SLIP_OK;
}

SLIP_EXTERN int slip_entry_dup(slip_entry **out, const slip_entry *e)
{
	slip_entry *d;
	uint8_t *v;
	int rc;

	if (out == NULL || e == NULL || e->key == NULL)
		return slip_set_error(SLIP_EINVAL, "entry_dup: NULL argument");
	*out = NULL;
	rc = slip_entry_alloc(&d, e->key, strlen(e->key), e->value_len, &v);
	if (rc != SLIP_OK)
		return rc;
	if (e->value_len > 0)
		memcpy(v, e->value, e->value_len);
	d->version = e->version;
	d->op = e->op;
	d->flags = e->flags;
	d->cursor = e->cursor;
	d->pending = e->pending;
	d->created_ns = e->created_ns;
	*out = d;
	return SLIP_OK;
}

SLIP_EXTERN void slip_entry_free(slip_entry *e)
{
	/* Key and value live in the same block as the entry. */
	free(e);
}

SLIP_EXTERN const char *slip_op_name(slip_op op)
{
	switch (op) {
	case SLIP_OP_PUT:
		return "put";
	case SLIP_OP_DELETE:
		return "delete";
	case SLIP_OP_PURGE:
		return "purge";
	case SLIP_OP_CAUGHT_UP:
		return "caught-up";
	default:
		return "unknown";
	}
}

/* ------------------------------------------------------------------ lists */

SLIP_EXTERN void slip_entry_list_free(slip_entry_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		slip_entry_free(list->entries[i]);
	free(list->entries);
	list->entries = NULL;
	list->count = 0;
}

SLIP_EXTERN void slip_key_list_free(slip_key_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->keys[i]);
	free(list->keys);
	list->keys = NULL;
	list->count = 0;
}
