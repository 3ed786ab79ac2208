/*
 * tests/unit/test_kvarena.c — the compact key → value table, src/kvarena.h
 * (unit-kvarena): views carry what was put, replacements and deletes
 * against a reference through many compactions, reserve, marks and the
 * sweep, and the sorted walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvarena.h"
#include "test.h"

#define NKEYS 2000

static void key_name(char *buf, size_t i)
{
	snprintf(buf, 32, "k/%05zu", i * 7 % NKEYS);
}

static int put(slip__kvarena *t, size_t i, unsigned gen)
{
	char key[32], val[64];
	slip_version v = slip_version_from_u64(gen);

	key_name(key, i);
	snprintf(val, sizeof(val), "value %zu gen %u", i, gen);
	/* Values of varied length exercise the record padding. */
	return slip__kvarena_put(t, key, strlen(key), val,
	                         strlen(val) - gen % 7, &v, (int64_t)gen);
}

static void t_put_get(void)
{
	slip__kvarena t;
	slip_entry view;
	slip_version v = slip_version_from_u64(42);
	uint64_t rev = 0;

	slip__kvarena_init(&t);
	CHECK(!slip__kvarena_get(&t, "a", 1, &view));
	CHECK_OK(slip__kvarena_put(&t, "a", 1, "xyz", 3, &v, 7));
	CHECK_OK(slip__kvarena_put(&t, "empty", 5, NULL, 0, &v, 0));
	REQUIRE(slip__kvarena_get(&t, "a", 1, &view));
	CHECK(strcmp(view.key, "a") == 0);
	CHECK(view.value_len == 3 && memcmp(view.value, "xyz", 4) == 0);
	CHECK(slip_version_to_u64(&view.version, &rev) == SLIP_OK && rev == 42);
	CHECK(view.created_ns == 7 && view.op == SLIP_OP_PUT);
	REQUIRE(slip__kvarena_get(&t, "empty", 5, &view));
	CHECK(view.value_len == 0 && view.value[0] == '\0');
	CHECK(slip__kvarena_count(&t) == 2);
	CHECK(slip__kvarena_del(&t, "a", 1));
	CHECK(!slip__kvarena_del(&t, "a", 1));
	CHECK(slip__kvarena_count(&t) == 1);
	slip__kvarena_free(&t);
}

/* Every key's view matches the generation last put (0: absent). */
static void check_all(const slip__kvarena *t, const unsigned *gen)
{
	size_t live = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		char key[32];
		slip_entry view;
		bool found;

		key_name(key, i);
		found = slip__kvarena_get(t, key, strlen(key), &view);
		if (found != (gen[i] != 0)) {
			slip_test_fail(__FILE__, __LINE__, "%s: found %d", key,
			               (int)found);
			continue;
		}
		live += found;
		if (found && view.created_ns != (int64_t)gen[i])
			slip_test_fail(__FILE__, __LINE__,
			               "%s: gen %lld not %u", key,
			               (long long)view.created_ns, gen[i]);
	}
	CHECK(slip__kvarena_count(t) == live);
}

/* Overwrites and deletes: dead bytes pile up and get compacted away. */
static void t_churn(void)
{
	static unsigned gen[NKEYS];
	slip__kvarena t;
	uint64_t s = 12345;
	size_t peak = 0;

	memset(gen, 0, sizeof(gen));
	slip__kvarena_init(&t);
	for (unsigned g = 1; g <= 100000; g++) {
		size_t i;

		s = s * 6364136223846793005ull + 1442695040888963407ull;
		i = (size_t)(s >> 33) % NKEYS;
		if ((s >> 20) % 4 == 0) {
			char key[32];

			key_name(key, i);
			CHECK(slip__kvarena_del(&t, key, strlen(key)) ==
			      (gen[i] != 0));
			gen[i] = 0;
		} else {
			CHECK_OK(put(&t, i, g));
			gen[i] = g;
		}
		peak = t.used > peak ? t.used : peak;
		if (g % 10000 == 0)
			check_all(&t, gen);
	}
	check_all(&t, gen);
	/* Compaction kept the arena near the live bytes. */
	CHECK(t.dead * 2 <= t.used || t.dead < 64 * 1024);
	CHECK(peak < 4 * 1024 * 1024);
	slip__kvarena_free(&t);
}

static void t_reserve(void)
{
	slip__kvarena t;
	uint8_t *arena;
	size_t bytes = 0;

	slip__kvarena_init(&t);
	for (size_t i = 0; i < 100; i++)
		bytes += slip__kvarena_rec_size(7, 20, 8);
	REQUIRE_OK(slip__kvarena_reserve(&t, 100, bytes));
	arena = t.arena;
	for (size_t i = 0; i < 100; i++) {
		char key[32];
		slip_version v = slip_version_from_u64(i + 1);

		key_name(key, i);
		CHECK(strlen(key) == 7);
		CHECK_OK(slip__kvarena_put(&t, key, 7, "01234567890123456789",
		                           20, &v, 0));
	}
	CHECK(t.arena == arena);
	slip__kvarena_free(&t);
}

static void t_marks_and_sweep(void)
{
	static unsigned gen[NKEYS];
	slip__kvarena t;

	slip__kvarena_init(&t);
	for (size_t i = 0; i < NKEYS; i++)
		CHECK_OK(put(&t, i, 1));
	slip__kvarena_clear_marks(&t);
	/* A replay re-puts the even keys; the odd ones are swept. */
	for (size_t i = 0; i < NKEYS; i++) {
		gen[i] = i % 2 == 0 ? 2 : 0;
		if (gen[i] != 0)
			CHECK_OK(put(&t, i, 2));
	}
	CHECK(slip__kvarena_sweep_unmarked(&t) == NKEYS / 2);
	check_all(&t, gen);
	CHECK(slip__kvarena_sweep_unmarked(&t) == 0);
	slip__kvarena_free(&t);
}

static void t_sorted_and_walk(void)
{
	slip__kvarena t;
	const void **h = NULL;
	slip_entry view;
	size_t pos = 0, n = 0;

	slip__kvarena_init(&t);
	for (size_t i = 0; i < 500; i++)
		CHECK_OK(put(&t, i, 3));
	for (size_t i = 0; i < 500; i += 3) {
		char key[32];

		key_name(key, i);
		CHECK(slip__kvarena_del(&t, key, strlen(key)));
	}
	while (slip__kvarena_next(&t, &pos, &view))
		n++;
	CHECK(n == slip__kvarena_count(&t));
	REQUIRE_OK(slip__kvarena_sorted(&t, &h));
	for (size_t i = 1; i < slip__kvarena_count(&t); i++) {
		slip_entry a, b;

		slip__kvarena_view(h[i - 1], &a);
		slip__kvarena_view(h[i], &b);
		CHECK(strcmp(a.key, b.key) < 0);
	}
	free(h);
	slip__kvarena_free(&t);
}

static void t_limits(void)
{
	slip__kvarena t;
	slip_version v = slip_version_from_u64(1);
	char *big = calloc(70000, 1);

	REQUIRE(big != NULL);
	memset(big, 'k', 69999);
	slip__kvarena_init(&t);
	CHECK_RC(slip__kvarena_put(&t, big, 69999, "v", 1, &v, 0), SLIP_EINVAL);
	CHECK(slip__kvarena_count(&t) == 0);
	slip__kvarena_free(&t);
	free(big);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_put_get),
        SLIP_TEST(t_churn),
        SLIP_TEST(t_reserve),
        SLIP_TEST(t_marks_and_sweep),
        SLIP_TEST(t_sorted_and_walk),
        SLIP_TEST(t_limits),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
