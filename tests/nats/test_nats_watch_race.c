/*
 * tests/nats/test_nats_watch_race.c — watches started while a writer
 * overwrites keys (issue 16 §1): each watch, from the beginning or from a
 * cursor, delivers revisions strictly increasing (each at most once) and
 * catches up, whatever the server redelivers. What the watcher dropped is
 * visible in slip_store_info.watch_dropped (printed, not asserted: it is
 * the server's behaviour, not ours).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"

enum { NKEYS = 200, WATCHES = 12, AFTER_MARKER = 300 };

/*
 * One watch started mid-write: revisions strictly increase up to the
 * caught-up marker and for AFTER_MARKER live updates after it.
 */
static void one_watch(slip_watcher *wt, const slip_cursor *from, int i)
{
	nu_watch nw;
	uint64_t last = 0, rev = 0;
	int after = -1, out_of_order = 0;
	REQUIRE_OK(
	        nu_watch_start(&nw, wt, "wr.", from, SLIP_WATCH_MARKERS, 64));
	while (after < AFTER_MARKER) {
		slip_entry *e = NULL;
		int rc = slip_chan_recv(nw.ch, &e, 10000);
		CHECK_OK(rc);
		if (rc != SLIP_OK)
			break;
		if (e->op == SLIP_OP_CAUGHT_UP) {
			after = 0;
		} else {
			CHECK_OK(slip_version_to_u64(&e->version, &rev));
			if (rev <= last) {
				fprintf(stderr,
				        "watch %d: revision %llu after "
				        "%llu\n",
				        i, (unsigned long long)rev,
				        (unsigned long long)last);
				out_of_order++;
			}
			last = rev;
			if (after >= 0)
				after++;
		}
		slip_entry_free(e);
	}
	CHECK(out_of_order == 0);
	CHECK(after >= 0); /* the marker came */
	CHECK_OK(nu_watch_stop(&nw));
}

static void t_watch_start_under_overwrites(void)
{
	nu_case c;
	nu_overwriter wr;
	REQUIRE_OK(nu_open(&c, 1));
	/* Watches start only once the writer is overwriting. */
	REQUIRE_OK(nu_overwriter_start(&wr, c.w, "wr.", NKEYS));
	for (int i = 0; i < WATCHES; i++) {
		/* Every other watch resumes from the bucket's last revision
		 * (history 1 holds only ~NKEYS behind it), the rest start
		 * from the beginning. */
		slip_cursor from;
		slip_store_info info;
		char text[32];
		CHECK_OK(slip_store_get_info(c.store, &info));
		snprintf(text, sizeof(text), "%016llx",
		         (unsigned long long)info.last_seq);
		CHECK_OK(slip_cursor_from_string(&from, text));
		one_watch(c.wt, i % 2 == 1 ? &from : NULL, i);
	}
	CHECK_OK(nu_overwriter_stop(&wr));
	slip_store_info info;
	CHECK_OK(slip_store_get_info(c.store, &info));
	fprintf(stderr, "%ld overwrites; %llu redeliveries dropped\n",
	        atomic_load(&wr.writes),
	        (unsigned long long)info.watch_dropped);
	nu_close(&c);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_watch_start_under_overwrites), {0}};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
