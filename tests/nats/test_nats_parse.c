/*
 * tests/nats/test_nats_parse.c — the NATS backend's pure parsers, no
 * server: JetStream ack subjects (v1 and v2 forms, garbage), .creds text
 * (a JWT holding '-' and '_', missing blocks), prefix -> filter subjects,
 * key subjects longer than the stack buffer, the classification of a
 * message (KV-Operation, limit markers, invalid operations), the JetStream
 * API level in a $JS.API.INFO reply, and which features a server version /
 * API level has (with the SLIP_EUNSUPPORTED message a missing one produces).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/nats/nats_backend.h"
#include "test.h"

static void t_ack_meta(void)
{
	slip_nats_meta m;
	REQUIRE(slip__nats_ack_meta("$JS.ACK.KV_b.cons1.1.42.7.1700000000000"
	                            "000000.13",
	                            &m) == 0);
	CHECK(m.sseq == 42);
	CHECK(m.dseq == 7);
	CHECK(m.pending == 13);
	CHECK(m.ts == 1700000000000000000LL);
	CHECK(m.consumer_len == 5 && strncmp(m.consumer, "cons1", 5) == 0);
	/* v2: domain and account hash, then a random token */
	REQUIRE(slip__nats_ack_meta("$JS.ACK.hub.ACCHASH.KV_b.c2.1.9.3.17.0."
	                            "tok",
	                            &m) == 0);
	CHECK(m.sseq == 9 && m.pending == 0 && m.ts == 17);
	CHECK(m.dseq == 3);
	CHECK(m.consumer_len == 2 && strncmp(m.consumer, "c2", 2) == 0);
	CHECK(slip__nats_ack_meta(NULL, &m) != 0);
	CHECK(slip__nats_ack_meta("_INBOX.x", &m) != 0);
	CHECK(slip__nats_ack_meta("$JS.ACK.a.b.c", &m) != 0);
	CHECK(slip__nats_ack_meta("$JS.ACK.s.c.1.x.7.1.0", &m) != 0);
	CHECK(slip__nats_ack_meta("$JS.ACK.s.c.1.99999999999999999999.7.1."
	                          "0",
	                          &m) != 0);
}

static void t_creds(void)
{
	const char *text =
	        "-----BEGIN NATS USER JWT-----\n"
	        "eyJ0eXAi-OiJKV1Q_iLCJhbGc.eyJqdGki-Ojx_.sig-na_ture\n"
	        "------END NATS USER JWT------\n\n"
	        "************************* IMPORTANT "
	        "*************************\n"
	        "NKEY Seed printed below can be used to sign and prove "
	        "identity.\n\n"
	        "-----BEGIN USER NKEY SEED-----\n"
	        "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY\n"
	        "------END USER NKEY SEED------\n";
	char *jwt = NULL, *seed = NULL;
	REQUIRE(slip__nats_parse_creds(text, strlen(text), &jwt, &seed) ==
	        SLIP_OK);
	CHECK(strcmp(jwt, "eyJ0eXAi-OiJKV1Q_iLCJhbGc.eyJqdGki-Ojx_.sig-na_"
	                  "ture") == 0);
	CHECK(strncmp(seed, "SUAMK2", 6) == 0);
	free(jwt);
	free(seed);
	const char *no_seed = "-----BEGIN NATS USER JWT-----\nabc\n";
	CHECK(slip__nats_parse_creds(no_seed, strlen(no_seed), &jwt, &seed) ==
	      SLIP_EINVAL);
	CHECK(jwt == NULL && seed == NULL);
	CHECK(slip__nats_parse_creds("", 0, &jwt, &seed) == SLIP_EINVAL);
}

static void t_filter_and_subject(void)
{
	slip_nats_store st;
	memset(&st, 0, sizeof(st));
	st.subj = "$KV.b.";
	st.subj_len = strlen(st.subj);
	struct {
		const char *prefix, *filter;
	} f[] = {
	        {NULL, "$KV.b.>"},
	        {"", "$KV.b.>"},
	        {"node", "$KV.b.>"},
	        {"node.", "$KV.b.node.>"},
	        {"node.us-", "$KV.b.node.>"},
	        {"a.b.c", "$KV.b.a.b.>"},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		slip_nats_filters nf;
		REQUIRE(slip__nats_filters_make(&nf, &st, f[i].prefix, NULL, 0,
		                                true) == SLIP_OK);
		if (nf.count != 1 || strcmp(nf.subj[0], f[i].filter) != 0)
			slip_test_fail(__FILE__, __LINE__,
			               "prefix \"%s\": filter %s, want %s",
			               f[i].prefix ? f[i].prefix : "(null)",
			               nf.subj[0], f[i].filter);
		slip__nats_filters_free(&nf);
	}
	char buf[16], *heap = NULL;
	char *s = slip__nats_subject(&st, "k", buf, sizeof(buf), &heap);
	CHECK(s == buf && heap == NULL && strcmp(s, "$KV.b.k") == 0);
	s = slip__nats_subject(&st, "a.much.longer.key", buf, sizeof(buf),
	                       &heap);
	CHECK(s != NULL && s == heap &&
	      strcmp(s, "$KV.b.a.much.longer.key") == 0);
	free(heap);
}

/* A message on a key subject with one optional header. */
static slip_op op_of(const char *hdr, const char *val)
{
	natsMsg *m = NULL;
	if (natsMsg_Create(&m, "$KV.b.k", NULL, "", 0) != NATS_OK)
		return (slip_op)0;
	if (hdr != NULL && natsMsgHeader_Set(m, hdr, val) != NATS_OK) {
		natsMsg_Destroy(m);
		return (slip_op)0;
	}
	slip_op op = slip__nats_msg_op(m);
	natsMsg_Destroy(m);
	return op;
}

static void t_msg_op(void)
{
	REQUIRE(nats_Open(-1) == NATS_OK); /* messages need the library */
	CHECK(op_of(NULL, NULL) == SLIP_OP_PUT);
	CHECK(op_of("KV-Operation", "PUT") == SLIP_OP_PUT);
	CHECK(op_of("KV-Operation", "DEL") == SLIP_OP_DELETE);
	CHECK(op_of("KV-Operation", "PURGE") == SLIP_OP_PURGE);
	/* Not a valid operation: never a value. */
	CHECK(op_of("KV-Operation", "ROLLUP") == SLIP_OP_DELETE);
	CHECK(op_of("KV-Operation", "") == SLIP_OP_DELETE);
	/* Limit markers (nats-server >= 2.11) have no KV-Operation. */
	CHECK(op_of("Nats-Marker-Reason", "MaxAge") == SLIP_OP_PURGE);
	CHECK(op_of("Nats-Marker-Reason", "Purge") == SLIP_OP_PURGE);
	CHECK(op_of("Nats-Marker-Reason", "Remove") == SLIP_OP_DELETE);
	CHECK(op_of("Nats-Marker-Reason", "Later") == SLIP_OP_PURGE);
	/* A marker wins over any KV-Operation beside it. */
	natsMsg *m = NULL;
	REQUIRE(natsMsg_Create(&m, "$KV.b.k", NULL, "", 0) == NATS_OK);
	REQUIRE(natsMsgHeader_Set(m, "KV-Operation", "PUT") == NATS_OK);
	REQUIRE(natsMsgHeader_Set(m, "Nats-Marker-Reason", "MaxAge") ==
	        NATS_OK);
	CHECK(slip__nats_msg_op(m) == SLIP_OP_PURGE);
	natsMsg_Destroy(m);
	nats_Close();
}

static void t_api_level(void)
{
	/* Replies as nats-server 2.15.1, 2.10.27 and an account without
	 * JetStream give them. */
	CHECK(slip__nats_parse_api_level(
	              "{\"type\":\"io.nats.jetstream.api.v1.account_info_"
	              "response\",\"limits\":{\"max_streams\":-1},"
	              "\"api\":{\"level\":5,\"total\":0,\"errors\":0}}") == 5);
	CHECK(slip__nats_parse_api_level("{\"limits\":{\"level\":9},\"api\":{"
	                                 "\"total\":0,\"errors\":0}}") == 0);
	CHECK(slip__nats_parse_api_level("{\"error\":{\"code\":503}}") == -1);
	CHECK(slip__nats_parse_api_level("{\"api\":{\"level\":x}}") == -1);
}

static slip_nats_conn fake_server(const char *version, int api_level)
{
	slip_nats_conn c;
	memset(&c, 0, sizeof(c));
	snprintf(c.version, sizeof(c.version), "%s", version);
	c.version_known = sscanf(version, "%d.%d.%d", &c.ver_major,
	                         &c.ver_minor, &c.ver_patch) == 3;
	c.api_level = api_level;
	return c;
}

static void t_features(void)
{
	slip_nats_conn old = fake_server("2.9.10", 0);
	slip_nats_conn trixie = fake_server("2.10.27", 0);
	slip_nats_conn v211 = fake_server("2.11.4", 1);
	slip_nats_conn sid = fake_server("2.15.1", 5);
	/* A level alone (version unreadable) still speaks for the server. */
	slip_nats_conn level2 = fake_server("", 2);

	CHECK(!slip__nats_has(&old, SLIP_NATS_FEAT_MULTI_FILTER));
	CHECK(slip__nats_has(&trixie, SLIP_NATS_FEAT_MULTI_FILTER));
	CHECK(!slip__nats_has(&trixie, SLIP_NATS_FEAT_MSG_TTL));
	CHECK(slip__nats_has(&v211, SLIP_NATS_FEAT_MSG_TTL));
	CHECK(slip__nats_has(&v211, SLIP_NATS_FEAT_BATCH_GET));
	CHECK(!slip__nats_has(&v211, SLIP_NATS_FEAT_ATOMIC_BATCH));
	CHECK(slip__nats_has(&sid, SLIP_NATS_FEAT_ATOMIC_BATCH));
	CHECK(slip__nats_has(&level2, SLIP_NATS_FEAT_MULTI_FILTER));
	CHECK(slip__nats_has(&level2, SLIP_NATS_FEAT_ATOMIC_BATCH));

	CHECK(slip__nats_require(&sid, SLIP_NATS_FEAT_MSG_TTL, "put") ==
	      SLIP_OK);
	CHECK(slip__nats_require(&old, SLIP_NATS_FEAT_MULTI_FILTER, "watch") ==
	      SLIP_EUNSUPPORTED);
	CHECK(strstr(slip_last_error(), "watch: needs multi-filter "
	                                "consumers (nats-server 2.10") != NULL);
	CHECK(strstr(slip_last_error(), "is 2.9.10") != NULL);
	CHECK(slip__nats_require(&trixie, SLIP_NATS_FEAT_ATOMIC_BATCH,
	                         "batch") == SLIP_EUNSUPPORTED);
	CHECK(strstr(slip_last_error(), "atomic batch publish") != NULL);
	CHECK(strstr(slip_last_error(), "2.10.27") != NULL);
}

/* Joins the filters of @p n normalised prefixes with spaces. */
static void filters_of(slip_nats_store *st, const char *const *p, size_t n,
                       bool multi, char *out, size_t outsz)
{
	slip_nats_filters nf;
	out[0] = '\0';
	if (slip__nats_filters_make(&nf, st, NULL, p, n, multi) != SLIP_OK)
		return;
	for (size_t i = 0; i < nf.count; i++)
		snprintf(out + strlen(out), outsz - strlen(out), "%s%s",
		         i ? " " : "", nf.subj[i]);
	slip__nats_filters_free(&nf);
}

/* Several prefixes: distinct non-overlapping filters for one multi-filter
 * consumer (>= 2.10), else one filter on their common aligned part. */
static void t_filters_of_several_prefixes(void)
{
	slip_nats_store st;
	memset(&st, 0, sizeof(st));
	st.subj = "$KV.b.";
	st.subj_len = strlen(st.subj);
	struct {
		const char *p[3];
		size_t n;
		const char *multi, *single;
	} f[] = {
	        {{"a.", "b."}, 2, "$KV.b.a.> $KV.b.b.>", "$KV.b.>"},
	        {{"node.eu-", "node.us-"}, 2, "$KV.b.node.>", "$KV.b.node.>"},
	        {{"a.x", "a.y.", "b"}, 3, "$KV.b.>", "$KV.b.>"},
	        {{"a.b.c.", "a.b.d."},
	         2,
	         "$KV.b.a.b.c.> $KV.b.a.b.d.>",
	         "$KV.b.a.b.>"},
	        {{"a.b.", "a.bc."}, 2, "$KV.b.a.b.> $KV.b.a.bc.>", "$KV.b.a.>"},
	        {{"a.", "a.b.x"}, 2, "$KV.b.a.>", "$KV.b.a.>"},
	};
	char got[256];
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		filters_of(&st, f[i].p, f[i].n, true, got, sizeof(got));
		if (strcmp(got, f[i].multi) != 0)
			slip_test_fail(__FILE__, __LINE__,
			               "case %zu: multi filters \"%s\", want "
			               "\"%s\"",
			               i, got, f[i].multi);
		filters_of(&st, f[i].p, f[i].n, false, got, sizeof(got));
		if (strcmp(got, f[i].single) != 0)
			slip_test_fail(__FILE__, __LINE__,
			               "case %zu: common filter \"%s\", want "
			               "\"%s\"",
			               i, got, f[i].single);
	}
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_ack_meta),
        SLIP_TEST(t_creds),
        SLIP_TEST(t_filter_and_subject),
        SLIP_TEST(t_msg_op),
        SLIP_TEST(t_api_level),
        SLIP_TEST(t_features),
        SLIP_TEST(t_filters_of_several_prefixes),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
