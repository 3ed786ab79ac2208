/*
 * tests/unit/test_keys.c — key, prefix and bucket-name rules, and that
 * every rejection quotes the input safely (unit-keys).
 */
#include <string.h>

#include "test.h"

static void t_valid_keys(void)
{
	static const char *ok[] = {
	        "a",         "node.a",  "node.us-east-1.cpu", "A-Z_a=z/0.9",
	        "x/y/z",     "==",      "-leading-dash",      "_",
	        "a.b.c.d.e", "1.2.3.4",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = slip_key_validate(ok[i]);
		if (rc != SLIP_OK)
			slip_test_fail(__FILE__, __LINE__, "key \"%s\": %s",
			               ok[i], slip_last_error());
	}
}

struct bad {
	const char *input;
	const char *reason; /* substring the message must hold */
};

static void check_bad(int (*fn)(const char *), const struct bad *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		slip_clear_error();
		int rc = fn(b[i].input);
		if (rc != SLIP_EINVAL) {
			slip_test_fail(__FILE__, __LINE__,
			               "\"%s\" accepted (rc %d)", b[i].input,
			               rc);
			continue;
		}
		if (strstr(slip_last_error(), b[i].reason) == NULL)
			slip_test_fail(__FILE__, __LINE__,
			               "\"%s\": message \"%s\" lacks \"%s\"",
			               b[i].input, slip_last_error(),
			               b[i].reason);
		CHECK(slip_last_error_code() == SLIP_EINVAL);
	}
}

static void t_invalid_keys(void)
{
	static const struct bad bad[] = {
	        {"", "empty"},
	        {".a", "starts with '.'"},
	        {"a.", "ends with '.'"},
	        {".", "starts with '.'"},
	        {"a..b", "empty token"},
	        {"a b", "character 0x20 at offset 1"},
	        {"a*", "character 0x2a"},
	        {"a>", "character 0x3e"},
	        {"\xd0\xba\xd0\xbb", "character 0xd0 at offset 0"},
	        {"tab\there", "0x09"},
	        {"quote\"d", "0x22"},
	};
	check_bad(slip_key_validate, bad, sizeof(bad) / sizeof(bad[0]));
	CHECK_RC(slip_key_validate(NULL), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "NULL") != NULL);
}

static void t_key_length(void)
{
	char key[SLIP_KEY_MAX + 2];

	memset(key, 'k', sizeof(key));
	key[SLIP_KEY_MAX] = '\0';
	CHECK_OK(slip_key_validate(key));
	key[SLIP_KEY_MAX] = 'k';
	key[SLIP_KEY_MAX + 1] = '\0';
	CHECK_RC(slip_key_validate(key), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "1025 bytes") != NULL);
	/* The quoted input is cut short, not the whole 1025 bytes. */
	CHECK(strlen(slip_last_error()) < 200);
	CHECK(strstr(slip_last_error(), "...") != NULL);
}

/* Control bytes in rejected input are escaped, never printed raw. */
static void t_message_escapes(void)
{
	CHECK_RC(slip_key_validate("bad\nkey\x1b[31m"), SLIP_EINVAL);
	CHECK(strchr(slip_last_error(), '\n') == NULL);
	CHECK(strchr(slip_last_error(), '\x1b') == NULL);
	CHECK(strstr(slip_last_error(), "\\x0a") != NULL);
}

/* Long input made only of bytes that need escaping stays bounded. */
static void t_quote_bounded(void)
{
	char key[300];

	memset(key, 0x01, sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CHECK_RC(slip_key_validate(key), SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "\\x01\\x01") != NULL);
	CHECK(strstr(slip_last_error(), "...") != NULL);
	CHECK(strlen(slip_last_error()) < 400);
}

static void t_prefixes(void)
{
	static const char *ok[] = {"",         "node", "node.",
	                           "node.us-", "a/b=", "x.y.z."};
	static const struct bad bad[] = {
	        {".node", "starts with '.'"}, {"node..", "empty token"},
	        {"a..b", "empty token"},      {"no de", "0x20"},
	        {"node.*", "0x2a"},           {"node.>", "0x3e"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_OK(slip_prefix_validate(ok[i]));
	check_bad(slip_prefix_validate, bad, sizeof(bad) / sizeof(bad[0]));
	CHECK_RC(slip_prefix_validate(NULL), SLIP_EINVAL);
}

static void t_buckets(void)
{
	static const char *ok[] = {"a", "config", "CFG_2-x", "0"};
	static const struct bad bad[] = {
	        {"", "empty"},   {"a.b", "0x2e at offset 1"},
	        {"a b", "0x20"}, {"a/b", "0x2f"},
	        {"a=b", "0x3d"}, {"*", "0x2a"},
	};
	char name[SLIP_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_OK(slip_bucket_validate(ok[i]));
	check_bad(slip_bucket_validate, bad, sizeof(bad) / sizeof(bad[0]));
	CHECK_RC(slip_bucket_validate(NULL), SLIP_EINVAL);
	memset(name, 'b', sizeof(name));
	name[SLIP_NAME_MAX] = '\0';
	CHECK_OK(slip_bucket_validate(name));
	name[SLIP_NAME_MAX] = 'b';
	name[SLIP_NAME_MAX + 1] = '\0';
	CHECK_RC(slip_bucket_validate(name), SLIP_EINVAL);
}

/* The rules restated plainly, to cross-check the validator against. */
static bool reference_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > SLIP_KEY_MAX || k[0] == '.' || k[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strchr("-/_=.", k[i]) == NULL &&
		    !(k[i] >= 'a' && k[i] <= 'z') &&
		    !(k[i] >= 'A' && k[i] <= 'Z') &&
		    !(k[i] >= '0' && k[i] <= '9'))
			return false;
		if (k[i] == '.' && i > 0 && k[i - 1] == '.')
			return false;
	}
	return true;
}

/* Random short strings over a small alphabet rich in edge cases. */
static void t_random_keys(void)
{
	static const char alphabet[] = "ab.Z9-/_=. *>\x01\xff";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int accepted = 0;

	for (int round = 0; round < 100000; round++) {
		char k[12];
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (size_t)(x % sizeof(k));
		for (size_t i = 0; i < n; i++)
			k[i] = alphabet[(x >> (4 + 4 * i)) %
			                (sizeof(alphabet) - 1)];
		k[n] = '\0';
		if ((slip_key_validate(k) == SLIP_OK) != reference_key_ok(k))
			slip_test_fail(__FILE__, __LINE__,
			               "validator and rules disagree on \"%s\"",
			               k);
		accepted += reference_key_ok(k);
	}
	/* The alphabet makes both outcomes common. */
	CHECK(accepted > 1000 && accepted < 99000);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_valid_keys),
        SLIP_TEST(t_invalid_keys),
        SLIP_TEST(t_key_length),
        SLIP_TEST(t_message_escapes),
        SLIP_TEST(t_quote_bounded),
        SLIP_TEST(t_random_keys),
        SLIP_TEST(t_prefixes),
        SLIP_TEST(t_buckets),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
