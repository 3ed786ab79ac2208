/*
 * tests/unit/test_map.c — the library's hash map, src/util/map.h
 * (unit-map): put / get / upsert / delete against a brute-force reference
 * over many random operations, growth and reserve, deletion while walking
 * the slots, and the value range.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "util/map.h"

/* The keys live in a table the map indexes by value (index + 1). */
#define NKEYS 5000

static char g_keys[NKEYS][24];

static const void *key_of(const void *ctx, uint64_t val, size_t *len)
{
	const char(*keys)[24] = ctx;

	*len = strlen(keys[val - 1]);
	return keys[val - 1];
}

static void fill_keys(void)
{
	for (size_t i = 0; i < NKEYS; i++)
		snprintf(g_keys[i], sizeof(g_keys[i]), "key.%zu", i * 7919);
}

static uint64_t get(const slip__map *m, size_t i)
{
	return slip__map_get(m, g_keys[i], strlen(g_keys[i]));
}

static void t_put_get_del(void)
{
	slip__map m;
	uint64_t old = 99;

	fill_keys();
	slip__map_init(&m, key_of, g_keys);
	CHECK(get(&m, 0) == 0);
	CHECK(slip__map_del(&m, "key.0", 5) == 0);
	CHECK_OK(slip__map_put(&m, "key.0", 5, 1, &old));
	CHECK(old == 0);
	CHECK(get(&m, 0) == 1);
	CHECK(m.count == 1);
	/* Same key, same value (the key is the value's): replaced. */
	CHECK_OK(slip__map_put(&m, "key.0", 5, 1, &old));
	CHECK(old == 1);
	CHECK(m.count == 1);
	CHECK(slip__map_get(&m, "key.", 4) == 0);
	CHECK(slip__map_get(&m, "key.00", 6) == 0);
	CHECK(slip__map_del(&m, "key.0", 5) == 1);
	CHECK(m.count == 0);
	CHECK(get(&m, 0) == 0);
	slip__map_free(&m);
}

static void t_upsert(void)
{
	slip__map m;
	uint64_t v = 0;

	fill_keys();
	slip__map_init(&m, key_of, g_keys);
	CHECK_OK(slip__map_upsert(&m, g_keys[3], strlen(g_keys[3]), 4, &v));
	CHECK(v == 4);
	/* Present: the held value comes back and fresh is not stored. */
	CHECK_OK(slip__map_upsert(&m, g_keys[3], strlen(g_keys[3]), 9, &v));
	CHECK(v == 4);
	CHECK(m.count == 1);
	slip__map_free(&m);
}

static void t_value_range(void)
{
	slip__map m;

	slip__map_init(&m, key_of, g_keys);
	CHECK_RC(slip__map_put(&m, "a", 1, 0, NULL), SLIP_EINVAL);
	CHECK_RC(slip__map_put(&m, "a", 1, SLIP__MAP_VAL_MAX + 1, NULL),
	         SLIP_EINVAL);
	CHECK(m.count == 0);
	slip__map_free(&m);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every key's presence matches the reference; the count too. */
static void check_all(const slip__map *m, const bool *in)
{
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		uint64_t v = get(m, i);

		if (v != (in[i] ? i + 1 : 0))
			slip_test_fail(__FILE__, __LINE__,
			               "key %zu: value %llu, present %d", i,
			               (unsigned long long)v, (int)in[i]);
		n += in[i];
	}
	CHECK(m->count == n);
}

/* Random puts and deletes (backward shifts of every kind) vs a bitmap. */
static void t_random_ops(void)
{
	static bool in[NKEYS];
	uint64_t s = 88172645463325252ull;
	slip__map m;

	fill_keys();
	memset(in, 0, sizeof(in));
	slip__map_init(&m, key_of, g_keys);
	for (int round = 0; round < 200000; round++) {
		/* A narrow key range early keeps the table dense. */
		size_t span = round < 100000 ? NKEYS / 4 : NKEYS;
		size_t i = (size_t)(rnd(&s) % span);
		size_t len = strlen(g_keys[i]);

		if (rnd(&s) % 3 != 0) {
			uint64_t old = 7;
			CHECK_OK(
			        slip__map_put(&m, g_keys[i], len, i + 1, &old));
			CHECK(old == (in[i] ? i + 1 : 0));
			in[i] = true;
		} else {
			CHECK(slip__map_del(&m, g_keys[i], len) ==
			      (in[i] ? i + 1 : 0));
			in[i] = false;
		}
		if (round % 20000 == 0)
			check_all(&m, in);
	}
	check_all(&m, in);
	CHECK(m.count <= m.cap / 4 * 3);
	slip__map_free(&m);
}

/* After reserve(n), n new keys go in without the slots moving. */
static void t_reserve(void)
{
	slip__map m;
	uint64_t *slots;

	fill_keys();
	slip__map_init(&m, key_of, g_keys);
	REQUIRE_OK(slip__map_reserve(&m, NKEYS));
	slots = m.slots;
	for (size_t i = 0; i < NKEYS; i++)
		CHECK_OK(slip__map_put(&m, g_keys[i], strlen(g_keys[i]), i + 1,
		                       NULL));
	CHECK(m.slots == slots);
	CHECK(m.count == NKEYS);
	CHECK(m.count <= m.cap / 4 * 3);
	slip__map_free(&m);
	CHECK(m.cap == 0 && m.count == 0);
}

/* Deleting every odd key while walking the slots, as a sweep does. */
static void t_del_while_walking(void)
{
	static bool in[NKEYS];
	slip__map m;

	fill_keys();
	slip__map_init(&m, key_of, g_keys);
	for (size_t i = 0; i < NKEYS; i++) {
		CHECK_OK(slip__map_put(&m, g_keys[i], strlen(g_keys[i]), i + 1,
		                       NULL));
		in[i] = (i % 2) == 0;
	}
	for (size_t i = 0; i < m.cap;) {
		uint64_t v = slip__map_at(&m, i);

		if (v == 0 || (v - 1) % 2 == 0) {
			i++;
			continue;
		}
		CHECK(slip__map_del_at(&m, i) == v);
	}
	check_all(&m, in);
	slip__map_free(&m);
}

static void t_hash_spreads(void)
{
	/* Keys differing in one byte anywhere hash apart. */
	char a[40], b[40];

	memset(a, 'x', sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++) {
		memcpy(b, a, sizeof(a));
		b[i] = 'y';
		CHECK(slip__map_hash(a, sizeof(a)) !=
		      slip__map_hash(b, sizeof(b)));
	}
	CHECK(slip__map_hash(a, 3) != slip__map_hash(a, 4));
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_put_get_del),  SLIP_TEST(t_upsert),
        SLIP_TEST(t_value_range),  SLIP_TEST(t_random_ops),
        SLIP_TEST(t_reserve),      SLIP_TEST(t_del_while_walking),
        SLIP_TEST(t_hash_spreads), {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
