/*
 * tests/unit/test_cursor_order.c — ctest unit-cursor-order: the core orders
 * cursors only through the backend table's cursor_cmp (sys/backend.h), so
 * a backend whose cursors are not in the sequence layout keeps
 * watch_applied's rule "never apply what lies at or before the resume
 * cursor".
 *
 * The backend here ("lecur") writes its position as 4 little-endian bytes,
 * a layout the core cannot decode. Its watch sends positions 1, 2, 3, 2
 * again (a resent duplicate), then 4; watch_applied resumes after 2 and
 * must apply exactly the updates at 3 and 4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slipstream/sys/backend.h>

#include "test.h"

static int cmp_calls;

/* ------------------------------------------------- a little-endian layout */

static slip_cursor le_cursor(uint32_t pos)
{
	slip_cursor c;

	memset(&c, 0, sizeof(c));
	c.len = 4;
	for (int i = 0; i < 4; i++)
		c.bytes[i] = (uint8_t)(pos >> (8 * i));
	return c;
}

static uint32_t le_pos(const slip_cursor *c)
{
	uint32_t pos = 0;

	for (int i = 0; i < 4; i++)
		pos |= (uint32_t)c->bytes[i] << (8 * i);
	return pos;
}

static int le_cmp(const slip_cursor *a, const slip_cursor *b)
{
	cmp_calls++;
	if (a->len != 4 || b->len != 4)
		return SLIP_CURSOR_UNORDERED;
	return le_pos(a) < le_pos(b) ? -1 : le_pos(a) > le_pos(b);
}

/* ---------------------------------------------------------- the backend */

static int le_conn_new(void **out, const slip_conn_options *opts)
{
	*out = calloc(1, 1);
	return *out != NULL ? SLIP_OK : SLIP_ENOMEM;
}

static int le_connect(void *conn)
{
	return SLIP_OK;
}

static void le_close(void *conn)
{
}

static void le_free(void *obj)
{
	free(obj);
}

static void le_capabilities(void *conn, slip_capabilities *out)
{
	memset(out, 0, sizeof(*out));
}

static int le_store_open(void *conn, const char *name,
                         const slip_store_config *cfg, void **out,
                         unsigned *out_roles)
{
	*out = calloc(1, 1);
	*out_roles = SLIP_ROLE_WATCH;
	return *out != NULL ? SLIP_OK : SLIP_ENOMEM;
}

static int le_get(void *store, const char *key, slip_entry **out)
{
	return SLIP_OK;
}

static int le_each(void *store, const char *prefix, slip_entry_cb cb,
                   void *payload)
{
	return SLIP_OK;
}

static const struct {
	const char *key;
	uint32_t pos;
} stream[] = {{"k1", 1}, {"k2", 2}, {"k3", 3}, {"dup2", 2}, {"k4", 4}};

/* Sends the stream whatever the cursor (the core must drop the old). */
static int le_watch(void *store, const slip_watch_options *opts, slip_chan *tx)
{
	for (size_t i = 0; i < sizeof(stream) / sizeof(stream[0]); i++) {
		slip_entry *e = NULL;
		int rc = slip_entry_new(&e, stream[i].key, "v", 1, NULL,
		                        SLIP_OP_PUT);

		if (rc != SLIP_OK)
			return rc;
		e->cursor = le_cursor(stream[i].pos);
		rc = slip_chan_send(tx, e);
		if (rc != SLIP_OK) {
			slip_entry_free(e);
			return rc == SLIP_ECLOSED ? SLIP_OK : rc;
		}
	}
	/* Stay subscribed until the receiver goes away. */
	while (!slip_chan_recv_closed(tx))
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	return SLIP_OK;
}

static const slip_backend le_backend = {
        SLIP_BACKEND_INIT,
        .name = "lecur",
        .schemes = "lecur",
        .conn_new = le_conn_new,
        .connect = le_connect,
        .close = le_close,
        .conn_free = le_free,
        .capabilities = le_capabilities,
        .store_open = le_store_open,
        .store_free = le_free,
        .get = le_get,
        .entry = le_get,
        .keys = le_each,
        .scan = le_each,
        .watch = le_watch,
        .cursor_cmp = le_cmp,
};

/* ------------------------------------------------------------- the case */

struct applied {
	char keys[8][8];
	int n;
	slip_shutdown *stop;
};

static int apply(void *payload, void *const *items, size_t count)
{
	struct applied *a = payload;

	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];

		if (a->n < 8)
			snprintf(a->keys[a->n], sizeof(a->keys[0]), "%s",
			         e->key);
		a->n++;
		if (strcmp(e->key, "k4") == 0)
			slip_shutdown_trigger(a->stop);
	}
	return SLIP_OK;
}

static void t_resume_drops_with_backend_order(void)
{
	slip_applied_options o = SLIP_APPLIED_OPTIONS_INIT;
	slip_cursor resume = le_cursor(2), final;
	struct applied a = {.n = 0};
	slip_conn *c = NULL;
	slip_store *s = NULL;

	REQUIRE_OK(slip_backend_register(&le_backend));
	REQUIRE_OK(slip_connect(&c, "lecur://x"));
	REQUIRE_OK(slip_store_open(&s, c, "b"));
	REQUIRE_OK(slip_shutdown_new(&a.stop));
	o.watcher = slip_store_watcher(s);
	o.resume = &resume;
	o.apply = apply;
	o.payload = &a;
	o.shutdown = a.stop;
	CHECK_OK(slip_watch_applied(&o, &final));
	CHECK(a.n == 2);
	CHECK(strcmp(a.keys[0], "k3") == 0);
	CHECK(strcmp(a.keys[1], "k4") == 0);
	CHECK(final.len == 4 && le_pos(&final) == 4);
	CHECK(cmp_calls > 0);
	slip_shutdown_free(a.stop);
	slip_store_free(s);
	slip_conn_free(c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_resume_drops_with_backend_order),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
