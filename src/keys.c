/*
 * src/keys.c — validation of keys, prefixes and bucket names (keys.h), and
 * the quoting of rejected input for error messages (quote.h).
 *
 * The rules are NATS's: keys are tokens of [-/_=a-zA-Z0-9] joined by '.',
 * bucket names are [A-Za-z0-9_-]. Every rejection quotes the input and says
 * which rule it breaks and where.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "quote.h"

/* Characters shown before a quoted value is cut short with "...". */
#define QUOTE_VISIBLE 60

const char *slip__quote(char *buf, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (s == NULL) {
		memcpy(buf, "(null)", 7);
		return buf;
	}
	for (i = 0; s[i] != '\0' && i < QUOTE_VISIBLE; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '_' ||
	       c == '=' || c == '.';
}

static bool bucket_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Checks the rules keys and prefixes share: length, alphabet, no leading
 * '.', no empty token. @p what is "key" or "prefix" for the message.
 */
static int check_common(const char *what, const char *s)
{
	char q[SLIP_QUOTE_BUF];
	size_t len;

	if (s == NULL)
		return slip_set_error(SLIP_EINVAL, "invalid %s: NULL", what);
	len = strlen(s);
	if (len > SLIP_KEY_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "invalid %s \"%s\": %zu bytes, more than "
		                      "the %d allowed",
		                      what, slip__quote(q, s), len,
		                      SLIP_KEY_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!key_char(c))
			return slip_set_error(
			        SLIP_EINVAL,
			        "invalid %s \"%s\": character 0x%02x at offset "
			        "%zu is not allowed (allowed: A-Z a-z 0-9 and "
			        "- / _ = .)",
			        what, slip__quote(q, s), c, i);
		if (c == '.' && i == 0)
			return slip_set_error(
			        SLIP_EINVAL,
			        "invalid %s \"%s\": starts with '.'", what,
			        slip__quote(q, s));
		if (c == '.' && s[i - 1] == '.')
			return slip_set_error(SLIP_EINVAL,
			                      "invalid %s \"%s\": empty token "
			                      "(\"..\") at offset %zu",
			                      what, slip__quote(q, s), i - 1);
	}
	return SLIP_OK;
}

SLIP_EXTERN int slip_key_validate(const char *key)
{
	char q[SLIP_QUOTE_BUF];
	size_t len;
	int rc = check_common("key", key);

	if (rc != SLIP_OK)
		return rc;
	len = strlen(key);
	if (len == 0)
		return slip_set_error(SLIP_EINVAL, "invalid key \"\": empty");
	if (key[len - 1] == '.')
		return slip_set_error(SLIP_EINVAL,
		                      "invalid key \"%s\": ends with '.'",
		                      slip__quote(q, key));
	return SLIP_OK;
}

SLIP_EXTERN int slip_prefix_validate(const char *prefix)
{
	return check_common("prefix", prefix);
}

SLIP_EXTERN int slip_bucket_validate(const char *name)
{
	char q[SLIP_QUOTE_BUF];
	size_t len;

	if (name == NULL)
		return slip_set_error(SLIP_EINVAL, "invalid bucket name: NULL");
	len = strlen(name);
	if (len == 0)
		return slip_set_error(SLIP_EINVAL,
		                      "invalid bucket name \"\": empty");
	if (len > SLIP_NAME_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "invalid bucket name \"%s\": %zu bytes, "
		                      "more than the %d allowed",
		                      slip__quote(q, name), len, SLIP_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!bucket_char(c))
			return slip_set_error(SLIP_EINVAL,
			                      "invalid bucket name \"%s\": "
			                      "character 0x%02x at "
			                      "offset %zu is not allowed "
			                      "(allowed: A-Z a-z 0-9 "
			                      "- _)",
			                      slip__quote(q, name), c, i);
	}
	return SLIP_OK;
}
