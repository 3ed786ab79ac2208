/*
 * tests/unit/test_entry.c — entries (new, dup, free, the one-block
 * allocator), lists, op names, base64 decoding and wiping (unit-entry).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test.h"

static void t_entry_new(void)
{
	slip_version v = slip_version_from_u64(7);
	slip_entry *e = NULL;

	REQUIRE_OK(slip_entry_new(&e, "node.a", "hello", 5, &v, SLIP_OP_PUT));
	CHECK(strcmp(e->key, "node.a") == 0);
	CHECK(e->value_len == 5);
	CHECK(memcmp(e->value, "hello", 5) == 0);
	CHECK(e->value[5] == '\0');
	CHECK(slip_version_eq(&e->version, &v));
	CHECK(e->op == SLIP_OP_PUT);
	CHECK(e->flags == 0 && e->pending == 0);
	CHECK(slip_cursor_is_none(&e->cursor));
	slip_entry_free(e);
}

static void t_entry_empty_value(void)
{
	slip_entry *e = NULL;

	REQUIRE_OK(slip_entry_new(&e, "k", NULL, 0, NULL, SLIP_OP_DELETE));
	CHECK(e->value != NULL);
	CHECK(e->value_len == 0 && e->value[0] == '\0');
	CHECK(e->version.len == 0);
	CHECK(e->op == SLIP_OP_DELETE);
	slip_entry_free(e);
	slip_entry_free(NULL);
}

static void t_entry_rejects(void)
{
	slip_entry *e = (slip_entry *)1;
	slip_version big = {0};

	CHECK_RC(slip_entry_new(&e, NULL, "x", 1, NULL, SLIP_OP_PUT),
	         SLIP_EINVAL);
	CHECK(e == NULL);
	CHECK_RC(slip_entry_new(&e, "k", NULL, 3, NULL, SLIP_OP_PUT),
	         SLIP_EINVAL);
	CHECK(strstr(slip_last_error(), "NULL value") != NULL);
	big.len = SLIP_VERSION_MAX + 1;
	CHECK_RC(slip_entry_new(&e, "k", "", 0, &big, SLIP_OP_PUT),
	         SLIP_EINVAL);
	CHECK_RC(slip_entry_new(NULL, "k", "", 0, NULL, SLIP_OP_PUT),
	         SLIP_EINVAL);
}

static void t_entry_dup(void)
{
	slip_version v = slip_version_from_u64(99);
	slip_entry *e = NULL, *d = NULL;
	uint8_t bin[4] = {0, 1, 0, 2};

	REQUIRE_OK(slip_entry_new(&e, "a/b", bin, 4, &v, SLIP_OP_PURGE));
	e->flags = SLIP_ENTRY_SYNTHETIC;
	e->cursor = slip_cursor_seq_make(5, 6);
	e->pending = 3;
	e->created_ns = 1234;
	REQUIRE_OK(slip_entry_dup(&d, e));
	CHECK(d != e && d->key != e->key && d->value != e->value);
	CHECK(strcmp(d->key, "a/b") == 0);
	CHECK(d->value_len == 4 && memcmp(d->value, bin, 4) == 0);
	CHECK(slip_version_eq(&d->version, &v));
	CHECK(d->op == SLIP_OP_PURGE && d->flags == SLIP_ENTRY_SYNTHETIC);
	CHECK(d->cursor.len == 16 &&
	      memcmp(d->cursor.bytes, e->cursor.bytes, 16) == 0);
	CHECK(d->pending == 3 && d->created_ns == 1234);
	slip_entry_free(e);
	/* The copy is independent of the original. */
	CHECK(strcmp(d->key, "a/b") == 0);
	slip_entry_free(d);
	CHECK_RC(slip_entry_dup(&d, NULL), SLIP_EINVAL);
}

static void t_entry_alloc(void)
{
	slip_entry *e = NULL;
	uint8_t *v = NULL;

	REQUIRE_OK(slip_entry_alloc(&e, "keyXXX", 3, 6, &v));
	CHECK(strcmp(e->key, "key") == 0);
	CHECK(v == e->value && e->value_len == 6 && v[6] == '\0');
	memcpy(v, "abcdef", 6);
	CHECK(memcmp(e->value, "abcdef", 6) == 0);
	CHECK(strcmp(e->key, "key") == 0);
	slip_entry_free(e);
	CHECK_RC(slip_entry_alloc(&e, "k", 1, SIZE_MAX - 8, &v), SLIP_ENOMEM);
	CHECK(e == NULL);
}

static void t_lists(void)
{
	slip_entry_list el = {0};
	slip_key_list kl = {0};

	el.count = 3;
	el.entries = calloc(3, sizeof(*el.entries));
	kl.count = 2;
	kl.keys = calloc(2, sizeof(*kl.keys));
	REQUIRE(el.entries != NULL && kl.keys != NULL);
	for (size_t i = 0; i < 3; i++)
		REQUIRE_OK(slip_entry_new(&el.entries[i], "k", "v", 1, NULL,
		                          SLIP_OP_PUT));
	kl.keys[0] = malloc(2);
	kl.keys[1] = malloc(2);
	slip_entry_list_free(&el);
	slip_key_list_free(&kl);
	CHECK(el.count == 0 && el.entries == NULL);
	CHECK(kl.count == 0 && kl.keys == NULL);
	slip_entry_list_free(&el);
	slip_key_list_free(&kl);
	slip_entry_list_free(NULL);
	slip_key_list_free(NULL);
}

static void t_op_names(void)
{
	CHECK(strcmp(slip_op_name(SLIP_OP_PUT), "put") == 0);
	CHECK(strcmp(slip_op_name(SLIP_OP_DELETE), "delete") == 0);
	CHECK(strcmp(slip_op_name(SLIP_OP_PURGE), "purge") == 0);
	CHECK(strcmp(slip_op_name(SLIP_OP_CAUGHT_UP), "caught-up") == 0);
	CHECK(strcmp(slip_op_name((slip_op)0), "unknown") == 0);
	CHECK(strcmp(slip_op_name((slip_op)77), "unknown") == 0);
}

static void check_b64(const char *in, const char *want, size_t want_len)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = slip__base64_decode(in, &out, &len);

	if (rc != SLIP_OK) {
		slip_test_fail(__FILE__, __LINE__, "base64 \"%s\": %s", in,
		               slip_last_error());
		return;
	}
	if (len != want_len || memcmp(out, want, len) != 0 || out[len] != '\0')
		slip_test_fail(__FILE__, __LINE__,
		               "base64 \"%s\" decoded "
		               "wrongly (%zu bytes)",
		               in, len);
	free(out);
}

static void t_base64(void)
{
	uint8_t *out = (uint8_t *)1;
	size_t len = 5;

	check_b64("", "", 0);
	check_b64("Zg==", "f", 1);
	check_b64("Zg", "f", 1);
	check_b64("Zm8=", "fo", 2);
	check_b64("Zm9v", "foo", 3);
	check_b64("Zm9vYmFy", "foobar", 6);
	check_b64("Zm9v\nYmFy\r\n", "foobar", 6);
	check_b64(" Zm 9v ", "foo", 3);
	check_b64("-_8=", "\xfb\xff", 2);
	check_b64("+/8=", "\xfb\xff", 2);
	check_b64("AAE=", "\0\1", 2);
	CHECK_RC(slip__base64_decode("Zm9v!", &out, &len), SLIP_EINVAL);
	CHECK(out == NULL && len == 0);
	CHECK(strstr(slip_last_error(), "offset 4") != NULL);
	CHECK_RC(slip__base64_decode("Z", &out, &len), SLIP_EINVAL);
	CHECK_RC(slip__base64_decode("Zg==Zg", &out, &len), SLIP_EINVAL);
	CHECK_RC(slip__base64_decode("Zg===", &out, &len), SLIP_EINVAL);
	CHECK_RC(slip__base64_decode(NULL, &out, &len), SLIP_EINVAL);
}

static void t_wipe_and_clocks(void)
{
	char secret[16] = "hunter2-secret!";
	int64_t a, b;

	slip__wipe(secret, sizeof(secret));
	for (size_t i = 0; i < sizeof(secret); i++)
		CHECK(secret[i] == 0);
	slip__wipe(NULL, 10);
	a = slip__now_ns();
	b = slip__now_ns();
	CHECK(a > 0 && b >= a);
	/* After 2020-01-01 in ns. */
	CHECK(slip__realtime_ns() > 1577836800LL * 1000000000LL);
}

static void t_byte_order(void)
{
	uint8_t b[8];

	slip__put_u64be(b, 0x0102030405060708ull);
	CHECK(b[0] == 1 && b[7] == 8);
	CHECK(slip__get_u64be(b) == 0x0102030405060708ull);
	slip__put_u32le(b, 0x01020304u);
	CHECK(b[0] == 4 && b[3] == 1 && slip__get_u32le(b) == 0x01020304u);
	slip__put_u16le(b, 0xbeef);
	CHECK(b[0] == 0xef && slip__get_u16le(b) == 0xbeef);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_entry_new),
        SLIP_TEST(t_entry_empty_value),
        SLIP_TEST(t_entry_rejects),
        SLIP_TEST(t_entry_dup),
        SLIP_TEST(t_entry_alloc),
        SLIP_TEST(t_lists),
        SLIP_TEST(t_op_names),
        SLIP_TEST(t_base64),
        SLIP_TEST(t_wipe_and_clocks),
        SLIP_TEST(t_byte_order),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
