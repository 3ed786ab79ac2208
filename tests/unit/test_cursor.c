/*
 * tests/unit/test_cursor.c — version tokens and cursors: byte order, the
 * cursor text form and its parser's rejections, the seq+identity layout
 * (unit-cursor).
 */
#include <string.h>

#include "internal.h"
#include "test.h"

static void t_version_u64(void)
{
	slip_version v = slip_version_from_u64(0x0102030405060708ull);
	uint64_t x = 0;

	CHECK(v.len == 8);
	CHECK(v.bytes[0] == 1 && v.bytes[7] == 8);
	CHECK_OK(slip_version_to_u64(&v, &x));
	CHECK(x == 0x0102030405060708ull);
	v.len = 4;
	CHECK_RC(slip_version_to_u64(&v, &x), SLIP_EINVAL);
	CHECK_RC(slip_version_to_u64(NULL, &x), SLIP_EINVAL);
}

/* memcmp order of big-endian tokens is numeric order. */
static void t_version_order(void)
{
	static const uint64_t revs[] = {0,     1,          255,       256,
	                                65535, 1ull << 40, UINT64_MAX};
	size_t n = sizeof(revs) / sizeof(revs[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			slip_version a = slip_version_from_u64(revs[i]);
			slip_version b = slip_version_from_u64(revs[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;

			CHECK(slip_version_cmp(&a, &b) == want);
			CHECK(slip_version_eq(&a, &b) == (i == j));
		}
}

static void t_version_lengths(void)
{
	slip_version a = {0}, b = {0};

	CHECK(slip_version_cmp(&a, &b) == 0);
	CHECK(slip_version_eq(&a, &b));
	b.len = 1;
	b.bytes[0] = 0;
	CHECK(slip_version_cmp(&a, &b) < 0);
	CHECK(!slip_version_eq(&a, &b));
	a.len = 10;
	memset(a.bytes, 0xff, 10);
	b.len = 9;
	memset(b.bytes, 0xff, 9);
	CHECK(slip_version_cmp(&a, &b) > 0);
	/* NULL behaves as the empty token instead of crashing. */
	CHECK(slip_version_cmp(NULL, &a) < 0);
	CHECK(slip_version_cmp(&a, NULL) > 0);
	CHECK(slip_version_cmp(NULL, NULL) == 0);
	CHECK(!slip_version_eq(NULL, &a));
	CHECK(slip_version_eq(NULL, NULL));
}

static void t_cursor_none(void)
{
	slip_cursor c = slip_cursor_none();
	char buf[SLIP_CURSOR_STRLEN];

	CHECK(c.len == 0);
	CHECK(slip_cursor_is_none(&c));
	CHECK(slip_cursor_is_none(NULL));
	CHECK_OK(slip_cursor_to_string(&c, buf, sizeof(buf)));
	CHECK(strcmp(buf, "none") == 0);
	c.len = 3;
	CHECK_OK(slip_cursor_from_string(&c, "none"));
	CHECK(c.len == 0);
	c.len = 3;
	CHECK_OK(slip_cursor_from_string(&c, ""));
	CHECK(c.len == 0);
}

static void t_cursor_roundtrip(void)
{
	slip_cursor c = slip_cursor_seq_make(0x1122334455667788ull,
	                                     0x0123456789abcdefll);
	slip_cursor back;
	char buf[SLIP_CURSOR_STRLEN];

	CHECK_OK(slip_cursor_to_string(&c, buf, sizeof(buf)));
	CHECK(strcmp(buf, "11223344556677880123456789abcdef") == 0);
	CHECK_OK(slip_cursor_from_string(&back, buf));
	CHECK(back.len == 16);
	CHECK(memcmp(back.bytes, c.bytes, 16) == 0);
	/* Upper case is accepted too. */
	CHECK_OK(slip_cursor_from_string(&back, "ABCDEF0a"));
	CHECK(back.len == 4 && back.bytes[0] == 0xab && back.bytes[3] == 0x0a);
	/* The longest cursor: 32 bytes, 64 digits. */
	c.len = SLIP_CURSOR_MAX;
	for (int i = 0; i < SLIP_CURSOR_MAX; i++)
		c.bytes[i] = (uint8_t)(i * 7);
	CHECK_OK(slip_cursor_to_string(&c, buf, sizeof(buf)));
	CHECK(strlen(buf) == 64);
	CHECK_OK(slip_cursor_from_string(&back, buf));
	CHECK(back.len == SLIP_CURSOR_MAX);
	CHECK(memcmp(back.bytes, c.bytes, SLIP_CURSOR_MAX) == 0);
}

static void t_cursor_rejects(void)
{
	static const struct {
		const char *text;
		const char *reason;
	} bad[] = {
	        {"abc", "odd number"},
	        {"0", "odd number"},
	        {"zz", "bad character 0x7a at offset 0"},
	        {"00g0", "bad character 0x67 at offset 2"},
	        {"NONE", "bad character 0x4e at offset 0"},
	        {"none ", "bad character"},
	        {" 00", "bad character 0x20 at offset 0"},
	        {"0x10", "bad character 0x78 at offset 1"},
	        {"-1", "bad character 0x2d"},
	        {"00\n", "bad character 0x0a at offset 2"},
	};
	char toolong[2 * SLIP_CURSOR_MAX + 3];
	slip_cursor c = slip_cursor_seq_make(7, 9);
	slip_cursor keep = c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = slip_cursor_from_string(&c, bad[i].text);
		if (rc != SLIP_EINVAL) {
			slip_test_fail(__FILE__, __LINE__, "\"%s\" accepted",
			               bad[i].text);
			continue;
		}
		if (strstr(slip_last_error(), bad[i].reason) == NULL)
			slip_test_fail(__FILE__, __LINE__,
			               "\"%s\": message \"%s\" lacks \"%s\"",
			               bad[i].text, slip_last_error(),
			               bad[i].reason);
		/* The output is untouched on error. */
		CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
	}
	memset(toolong, 'a', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	CHECK_RC(slip_cursor_from_string(&c, toolong), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "too long") != NULL);
	CHECK_RC(slip_cursor_from_string(&c, NULL), SLIP_EINVAL);
	CHECK_RC(slip_cursor_from_string(NULL, "00"), SLIP_EINVAL);
}

static void t_cursor_buffer_small(void)
{
	slip_cursor c = slip_cursor_seq_make(1, 2);
	char buf[SLIP_CURSOR_STRLEN];

	CHECK_RC(slip_cursor_to_string(&c, buf, 32), SLIP_EINVAL);
	CHECK(buf[0] == '\0');
	CHECK_OK(slip_cursor_to_string(&c, buf, 33));
	c = slip_cursor_none();
	CHECK_RC(slip_cursor_to_string(&c, buf, 4), SLIP_EINVAL);
	CHECK_RC(slip_cursor_to_string(&c, NULL, 10), SLIP_EINVAL);
	c.len = SLIP_CURSOR_MAX + 1;
	CHECK_RC(slip_cursor_to_string(&c, buf, sizeof(buf)), SLIP_EINVAL);
}

static void t_cursor_split(void)
{
	slip_cursor c = slip_cursor_seq_make(42, -5);
	uint64_t seq = 0;
	int64_t id = 0;
	bool has = false;

	CHECK(c.len == 16);
	CHECK_OK(slip_cursor_seq_split(&c, &seq, &has, &id));
	CHECK(seq == 42 && has && id == -5);
	CHECK_OK(slip_cursor_seq(&c, &seq));
	CHECK(seq == 42);
	/* An 8-byte cursor (sequence only), as the reference writes. */
	c.len = 8;
	CHECK_OK(slip_cursor_seq_split(&c, &seq, &has, &id));
	CHECK(seq == 42 && !has);
	c.len = 12;
	CHECK_RC(slip_cursor_seq_split(&c, &seq, &has, &id), SLIP_EINVAL);
	c.len = 4;
	CHECK_RC(slip_cursor_seq(&c, &seq), SLIP_EINVAL);
}

/* Every cursor survives the text form; every text is parsed or refused. */
static void t_random_cursors(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int round = 0; round < 20000; round++) {
		slip_cursor c = {0}, back;
		char buf[SLIP_CURSOR_STRLEN], junk[80];
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		c.len = (uint8_t)(x % (SLIP_CURSOR_MAX + 1));
		for (size_t i = 0; i < c.len; i++)
			c.bytes[i] = (uint8_t)(x >> (i % 8 * 8)) ^ (uint8_t)i;
		REQUIRE_OK(slip_cursor_to_string(&c, buf, sizeof(buf)));
		REQUIRE_OK(slip_cursor_from_string(&back, buf));
		CHECK(back.len == c.len);
		CHECK(memcmp(back.bytes, c.bytes, c.len) == 0);
		/* Mutate one character: either still valid hex, or refused. */
		n = strlen(buf);
		memcpy(junk, buf, n + 1);
		junk[x % n] = (char)(x >> 32);
		if (junk[x % n] == '\0')
			continue;
		if (slip_cursor_from_string(&back, junk) == SLIP_OK) {
			CHECK(strlen(junk) % 2 == 0 ||
			      strcmp(junk, "none") == 0);
			for (size_t i = 0; i < n && strcmp(junk, "none") != 0;
			     i++)
				CHECK(strchr("0123456789abcdefABCDEF",
				             junk[i]) != NULL);
		}
	}
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_version_u64),         SLIP_TEST(t_version_order),
        SLIP_TEST(t_version_lengths),     SLIP_TEST(t_cursor_none),
        SLIP_TEST(t_cursor_roundtrip),    SLIP_TEST(t_cursor_rejects),
        SLIP_TEST(t_cursor_buffer_small), SLIP_TEST(t_cursor_split),
        SLIP_TEST(t_random_cursors),      {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
