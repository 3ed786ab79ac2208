/*
 * tests/nats/test_nats_scan_race.c — keys and scan while a writer
 * overwrites every key in a loop (history 1, issue 16 §1): each of ten
 * alternating passes returns each of the 200 live keys exactly once, and
 * the list forms agree with the streaming ones. Before the pass ended on a
 * sequence bound and kept one entry per key, nats-server 2.9 repeated keys
 * and every version could omit one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"

enum { NKEYS = 200, PASSES = 10 };

/* Counts each key's appearances in one pass. */
typedef struct tally {
	int hits[NKEYS];
	int other;
} tally;

static void count_key(tally *t, const char *key)
{
	int i = -1;
	if (sscanf(key, "race.k%d", &i) == 1 && i >= 0 && i < NKEYS)
		t->hits[i]++;
	else
		t->other++;
}

static int tally_cb(void *payload, slip_entry *e)
{
	count_key(payload, e->key);
	slip_entry_free(e);
	return 0;
}

/* Every key exactly once; prints what went wrong. */
static void check_once(const tally *t, const char *what, int pass)
{
	int missing = 0, repeated = 0;
	for (int i = 0; i < NKEYS; i++) {
		missing += t->hits[i] == 0;
		repeated += t->hits[i] > 1;
	}
	if (missing != 0 || repeated != 0 || t->other != 0)
		fprintf(stderr,
		        "pass %d (%s): %d missing, %d repeated, %d "
		        "stray\n",
		        pass, what, missing, repeated, t->other);
	CHECK(missing == 0);
	CHECK(repeated == 0);
	CHECK(t->other == 0);
}

static void one_pass(slip_reader *r, int pass)
{
	tally t;
	memset(&t, 0, sizeof(t));
	switch (pass % 4) {
	case 0: {
		slip_entry_list l;
		CHECK_OK(slip_reader_scan(r, "race.", &l));
		for (size_t i = 0; i < l.count; i++) {
			count_key(&t, l.entries[i]->key);
			CHECK(l.entries[i]->value_len > 0);
		}
		slip_entry_list_free(&l);
		check_once(&t, "scan", pass);
		break;
	}
	case 1: {
		slip_key_list l;
		CHECK_OK(slip_reader_keys(r, "race.", &l));
		for (size_t i = 0; i < l.count; i++)
			count_key(&t, l.keys[i]);
		slip_key_list_free(&l);
		check_once(&t, "keys", pass);
		break;
	}
	default:
		CHECK_OK(slip_reader_scan_each(r, "race.", pass % 4 == 3,
		                               tally_cb, &t));
		check_once(&t, pass % 4 == 3 ? "keys_each" : "scan_each", pass);
	}
}

static void t_scan_under_overwrites(void)
{
	nu_case c;
	nu_overwriter wr;
	REQUIRE_OK(nu_open(&c, 1));
	/* Passes start only once the writer is overwriting. */
	REQUIRE_OK(nu_overwriter_start(&wr, c.w, "race.", NKEYS));
	for (int pass = 0; pass < PASSES; pass++)
		one_pass(c.r, pass);
	CHECK_OK(nu_overwriter_stop(&wr));
	fprintf(stderr, "%ld overwrites during the passes\n",
	        atomic_load(&wr.writes));
	nu_close(&c);
}

static const slip_test_case cases[] = {SLIP_TEST(t_scan_under_overwrites), {0}};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
