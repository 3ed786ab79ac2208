/*
 * src/error.c — error codes and the thread-local last-error message.
 *
 * The names and texts come from the one X-macro table in common.h, so the
 * enum, slip_strerror() and slip_err_name() can never disagree. Each thread
 * keeps the code and sentence of its last failed call; slip_set_error() is
 * how the core and the backends record it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Long enough for an operation, a quoted (truncated) key and a reason. */
#define SLIP_ERRMSG_MAX 1024

static _Thread_local char last_msg[SLIP_ERRMSG_MAX];
static _Thread_local int last_code;

SLIP_EXTERN const char *slip_strerror(int err)
{
	switch (err) {
	case SLIP_OK:
		return "success";
#define SLIP__ERR_TEXT(name, value, text)                                      \
	case value:                                                            \
		return text;
		SLIP_ERRNO_MAP(SLIP__ERR_TEXT)
#undef SLIP__ERR_TEXT
	default:
		return "unknown error";
	}
}

SLIP_EXTERN const char *slip_err_name(int err)
{
	switch (err) {
	case SLIP_OK:
		return "SLIP_OK";
#define SLIP__ERR_NAME(name, value, text)                                      \
	case value:                                                            \
		return "SLIP_E" #name;
		SLIP_ERRNO_MAP(SLIP__ERR_NAME)
#undef SLIP__ERR_NAME
	default:
		return "SLIP_EUNKNOWN";
	}
}

SLIP_EXTERN const char *slip_last_error(void)
{
	return last_msg;
}

SLIP_EXTERN int slip_last_error_code(void)
{
	return last_code;
}

SLIP_EXTERN void slip_clear_error(void)
{
	last_code = SLIP_OK;
	last_msg[0] = '\0';
}

SLIP_EXTERN int slip_set_error(int code, const char *fmt, ...)
{
	/*
	 * Format into a local buffer first: callers often wrap the previous
	 * message ("get: %s", slip_last_error()), which points into last_msg.
	 */
	char buf[SLIP_ERRMSG_MAX];
	va_list ap;
	int n = 0;

	buf[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}
	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= sizeof(buf))
		memcpy(buf + sizeof(buf) - 4, "...", 4);
	memcpy(last_msg, buf, strlen(buf) + 1);
	last_code = code;
	return code;
}

SLIP_EXTERN const char *slip_version_string(void)
{
#define SLIP__STR2(x) #x
#define SLIP__STR(x)  SLIP__STR2(x)
	return SLIP__STR(SLIP_VERSION_MAJOR) "." SLIP__STR(
	        SLIP_VERSION_MINOR) "." SLIP__STR(SLIP_VERSION_PATCH);
#undef SLIP__STR
#undef SLIP__STR2
}
