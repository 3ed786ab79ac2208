/*
 * tests/nats/test_nats_scan100k.c — keys and scan over a 100,000-key
 * bucket finish without a timeout over one consumer, return every key
 * exactly once, honour a prefix, and leave no consumer behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_util.h"

enum { NKEYS = 100000 };

typedef struct tally {
	int count;
	int with_value;
	unsigned char *seen;
	int dup;
} tally;

static int tally_cb(void *payload, slip_entry *e)
{
	tally *t = payload;
	int i = -1;
	if (sscanf(e->key, "k.%d", &i) == 1 && i >= 0 && i < NKEYS) {
		if (t->seen[i])
			t->dup++;
		t->seen[i] = 1;
	}
	t->count++;
	if (e->value_len > 0)
		t->with_value++;
	slip_entry_free(e);
	return 0;
}

static void t_scan_100k(void)
{
	nu_case c;
	nu_raw raw;
	char subj[128], val[32];
	tally t;
	REQUIRE_OK(nu_open(&c, 1));
	REQUIRE(nu_raw_open(&raw, nu_url()) == 0);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(subj, sizeof(subj), "$KV.%s.k.%d", c.bucket, i);
		int n = snprintf(val, sizeof(val), "value-%d", i);
		REQUIRE(js_PublishAsync(raw.js, subj, val, n, NULL) == NATS_OK);
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	REQUIRE(js_PublishAsyncComplete(raw.js, &po) == NATS_OK);

	memset(&t, 0, sizeof(t));
	t.seen = calloc(NKEYS, 1);
	REQUIRE(t.seen != NULL);
	int64_t t0 = nu_now_ms();
	CHECK_OK(slip_reader_scan_each(c.r, "", true, tally_cb, &t));
	fprintf(stderr, "keys over %d keys: %lld ms\n", NKEYS,
	        (long long)(nu_now_ms() - t0));
	CHECK(t.count == NKEYS);
	CHECK(t.dup == 0);
	CHECK(t.with_value == 0);

	memset(t.seen, 0, NKEYS);
	t.count = t.with_value = t.dup = 0;
	t0 = nu_now_ms();
	CHECK_OK(slip_reader_scan_each(c.r, "", false, tally_cb, &t));
	fprintf(stderr, "scan over %d keys: %lld ms\n", NKEYS,
	        (long long)(nu_now_ms() - t0));
	CHECK(t.count == NKEYS);
	CHECK(t.dup == 0);
	CHECK(t.with_value == NKEYS);

	/* "k.1" is a string prefix: k.1, k.10.., k.100.., ... = 11111 keys */
	memset(t.seen, 0, NKEYS);
	t.count = t.with_value = t.dup = 0;
	CHECK_OK(slip_reader_scan_each(c.r, "k.1", true, tally_cb, &t));
	CHECK(t.count == 11111);

	char stream[128];
	jsConsumerNamesList *l = NULL;
	snprintf(stream, sizeof(stream), "KV_%s", c.bucket);
	if (js_ConsumerNames(&l, raw.js, stream, NULL, NULL) == NATS_OK) {
		CHECK(l->Count == 0);
		jsConsumerNamesList_Destroy(l);
	}
	free(t.seen);
	nu_raw_close(&raw);
	nu_close(&c);
}

static const slip_test_case cases[] = {SLIP_TEST(t_scan_100k), {0}};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
