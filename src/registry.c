/*
 * src/registry.c — which backend serves which URL scheme.
 *
 * The built-in tables (memory, and NATS when built with libnats) sit in a
 * static list and need no registration; slip_backend_register() appends
 * others at run time after checking the table's version and members. The
 * run-time list only grows and is guarded by one mutex; it holds copies of
 * the registered tables at the current version's size, so a table built
 * against an older header is never read past its end.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends.h"
#include "conn_internal.h"
#include "util/grow.h"

static const slip_backend *const builtin_backends[] = {
        &slip__backend_memory,
#ifdef SLIP_HAVE_NATS
        &slip__backend_nats,
#endif
};
#define N_BUILTIN (sizeof(builtin_backends) / sizeof(builtin_backends[0]))

/* A table registered at run time: the caller's, and the copy in use. */
struct registration {
	const slip_backend *given;
	slip_backend table;
};

/* Backends added at run time; append-only, guarded by registry_mu. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct registration **registered;
static size_t n_registered, cap_registered;

/* Bytes a table of @p version holds: version 1 ends with watch. */
static size_t table_size(unsigned version)
{
	if (version == 1)
		return offsetof(slip_backend, watch) +
		       sizeof(((slip_backend *)NULL)->watch);
	return sizeof(slip_backend);
}

/* A full-size copy of @p be: members its version lacks are NULL. */
static struct registration *table_copy(const slip_backend *be)
{
	struct registration *r = calloc(1, sizeof(*r));

	if (r != NULL) {
		r->given = be;
		memcpy(&r->table, be, table_size(be->version));
	}
	return r;
}

/* Scheme characters as RFC 3986 allows them: ALPHA *( ALPHA DIGIT + - . ) */
bool slip__scheme_valid(const char *s, size_t len)
{
	if (len == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/*
 * Calls @p fn for each comma-separated token of @p list (spaces trimmed);
 * stops and returns true as soon as @p fn does.
 */
static bool each_scheme(const char *list,
                        bool (*fn)(const char *tok, size_t len, void *arg),
                        void *arg)
{
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *tok = p;

		while (len > 0 && *tok == ' ') {
			tok++;
			len--;
		}
		while (len > 0 && tok[len - 1] == ' ')
			len--;
		if (fn(tok, len, arg))
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

struct scheme_query {
	const char *scheme;
	size_t len;
};

static bool scheme_equal(const char *tok, size_t len, void *arg)
{
	const struct scheme_query *q = arg;

	return len == q->len && strncasecmp(tok, q->scheme, len) == 0;
}

static bool backend_accepts(const slip_backend *be, const char *scheme,
                            size_t len)
{
	struct scheme_query q = {scheme, len};

	return each_scheme(be->schemes, scheme_equal, &q);
}

const slip_backend *slip__backend_find(const char *scheme, size_t len)
{
	const slip_backend *found = NULL;

	for (size_t i = 0; i < N_BUILTIN; i++)
		if (backend_accepts(builtin_backends[i], scheme, len))
			return builtin_backends[i];
	pthread_mutex_lock(&registry_mu);
	for (size_t i = 0; i < n_registered && found == NULL; i++)
		if (backend_accepts(&registered[i]->table, scheme, len))
			found = &registered[i]->table;
	pthread_mutex_unlock(&registry_mu);
	return found;
}

bool slip__backend_is(const slip_backend *used, const slip_backend *given)
{
	bool same = used == given;

	pthread_mutex_lock(&registry_mu);
	for (size_t i = 0; i < n_registered && !same; i++)
		same = used == &registered[i]->table &&
		       registered[i]->given == given;
	pthread_mutex_unlock(&registry_mu);
	return same;
}

/* each_scheme() callback: true (stop) on a malformed or taken scheme. */
static bool scheme_unusable(const char *tok, size_t len, void *arg)
{
	const slip_backend *be = arg;
	const slip_backend *owner;

	if (!slip__scheme_valid(tok, len)) {
		slip_set_error(SLIP_EINVAL,
		               "backend_register \"%s\": malformed scheme "
		               "\"%.*s\" in \"%s\"",
		               be->name, (int)len, tok, be->schemes);
		return true;
	}
	/* Called with registry_mu held: look at both lists directly. */
	owner = NULL;
	for (size_t i = 0; i < N_BUILTIN && owner == NULL; i++)
		if (backend_accepts(builtin_backends[i], tok, len))
			owner = builtin_backends[i];
	for (size_t i = 0; i < n_registered && owner == NULL; i++)
		if (backend_accepts(&registered[i]->table, tok, len))
			owner = &registered[i]->table;
	if (owner != NULL) {
		slip_set_error(SLIP_EINVAL,
		               "backend_register \"%s\": scheme \"%.*s\" is "
		               "already taken by backend \"%s\"",
		               be->name, (int)len, tok, owner->name);
		return true;
	}
	return false;
}

/* Pipelined writes: open, send and free together, and only with writers. */
static int check_pipe(const slip_backend *be, bool writable)
{
	int n;

	if (be->version < 2) /* the table ends before these members */
		return SLIP_OK;
	n = (be->pipe_open != NULL) + (be->pipe_send != NULL) +
	    (be->pipe_free != NULL);
	if (n == 0 && be->pipe_poll == NULL)
		return SLIP_OK;
	if (n != 3 || !writable)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register \"%s\": pipe_open, "
		        "pipe_send and pipe_free must all be set "
		        "(with the writer members) or all be NULL",
		        be->name);
	return SLIP_OK;
}

/* Checks the members a table must provide; writer members all-or-none. */
static int check_table(const slip_backend *be)
{
	const char *missing = NULL;
	int writers;

	if (slip__version_check(be->version, SLIP_BACKEND_VERSION,
	                        "backend_register: table",
	                        "SLIP_BACKEND_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (be->name == NULL || be->name[0] == '\0')
		return slip_set_error(SLIP_EINVAL,
		                      "backend_register: table has no name");
	if (be->schemes == NULL || be->schemes[0] == '\0')
		return slip_set_error(SLIP_EINVAL,
		                      "backend_register \"%s\": no URL schemes",
		                      be->name);
#define REQUIRE_MEMBER(m)                                                      \
	if (missing == NULL && be->m == NULL)                                  \
		missing = #m;
	REQUIRE_MEMBER(conn_new)
	REQUIRE_MEMBER(connect)
	REQUIRE_MEMBER(close)
	REQUIRE_MEMBER(conn_free)
	REQUIRE_MEMBER(capabilities)
	REQUIRE_MEMBER(store_open)
	REQUIRE_MEMBER(store_free)
	REQUIRE_MEMBER(get)
	REQUIRE_MEMBER(entry)
	REQUIRE_MEMBER(keys)
	REQUIRE_MEMBER(scan)
#undef REQUIRE_MEMBER
	if (missing != NULL)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register \"%s\": required member "
		        "%s is NULL",
		        be->name, missing);
	if (be->version >= 2 && be->watch != NULL && be->cursor_cmp == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "backend_register \"%s\": a table of "
		                      "version %u with watch needs cursor_cmp",
		                      be->name, be->version);
	writers = (be->put != NULL) + (be->create != NULL) +
	          (be->update != NULL) + (be->del != NULL) +
	          (be->delete_version != NULL) + (be->purge != NULL);
	if (writers != 0 && writers != 6)
		return slip_set_error(
		        SLIP_EINVAL,
		        "backend_register \"%s\": writer members "
		        "(put, create, update, del, delete_version, "
		        "purge) must all be set or all be NULL",
		        be->name);
	return check_pipe(be, writers == 6);
}

SLIP_EXTERN int slip_backend_register(const slip_backend *backend)
{
	int rc;

	if (backend == NULL)
		return slip_set_error(SLIP_EINVAL, "backend_register: NULL");
	rc = check_table(backend);
	if (rc != SLIP_OK)
		return rc;
	pthread_mutex_lock(&registry_mu);
	if (each_scheme(backend->schemes, scheme_unusable, (void *)backend)) {
		rc = SLIP_EINVAL; /* message set by scheme_unusable */
		goto done;
	}
	if (slip__grow(&registered, &cap_registered, n_registered + 1,
	               sizeof(*registered)) != SLIP_OK) {
		rc = slip_set_error(SLIP_ENOMEM,
		                    "backend_register: out of memory");
		goto done;
	}
	registered[n_registered] = table_copy(backend);
	if (registered[n_registered] == NULL)
		rc = slip_set_error(SLIP_ENOMEM,
		                    "backend_register: out of memory");
	else
		n_registered++;
done:
	pthread_mutex_unlock(&registry_mu);
	return rc;
}
