/*
 * tests/install/consumer/consumer.c — the smallest real user of an
 * installed Slipstream: connect to mem://x, put a value, read it back,
 * print it; and call the memory backend's extra through its own header. Built
 * against the installed copy by install-consumers.sh.
 */
#include <stdio.h>
#include <string.h>

#include <slipstream.h>
#include <slipstream/memory.h> /* a backend's extras: not in the umbrella */

int main(void)
{
	slip_store_config cfg = SLIP_STORE_CONFIG_INIT;
	slip_conn *conn = NULL;
	slip_store *store = NULL;
	slip_entry *e = NULL;
	int rc;

	cfg.name = "demo";
	cfg.storage = SLIP_STORAGE_MEMORY;
	rc = slip_connect(&conn, "mem://x");
	if (rc == SLIP_OK)
		rc = slip_store_open_config(&store, conn, &cfg);
	if (rc == SLIP_OK)
		rc = slip_writer_put(slip_store_writer(store), "greeting",
		                     "hello", 5, NULL);
	if (rc == SLIP_OK)
		rc = slip_reader_get(slip_store_reader(store), "greeting", &e);
	if (rc == SLIP_OK && e == NULL)
		rc = SLIP_ENOTFOUND;
	/* Revision 1 is the first: nothing below it to drop. */
	if (rc == SLIP_OK)
		rc = slip_mem_drop_before(store, 1);
	if (rc != SLIP_OK) {
		fprintf(stderr, "consumer: %s: %s\n", slip_err_name(rc),
		        slip_last_error());
	} else {
		printf("%s = %.*s (slipstream %s)\n", e->key, (int)e->value_len,
		       (const char *)e->value, slip_version_string());
	}
	slip_entry_free(e);
	slip_store_free(store);
	slip_conn_free(conn);
	return rc == SLIP_OK ? 0 : 1;
}
