/* fuzz_envelope — libFuzzer: the envelope reader, and the Kafka coordinates.
 * Any line: no crash.  An envelope that reads back writes out and reads in
 * again to the same message; coordinates wrapped around any value unwrap
 * to the exact bytes, as one line of valid JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_coord.h"
#include "hb_envelope.h"
#include "hb_json.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

static struct hb_envreader *r1, *r2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void envelope(const char *s, size_t n)
{
	struct hb_envelope e, e2;
	struct hb_buf out = {0};
	char err[300];

	if (hb_envelope_read(r1, s, n, &e, err, sizeof err) < 0) {
		CHECK(err[0]);
		return;
	}
	if (e.partition < 0 || e.offset < 0)
		return;	/* writing needs coordinates */
	hb_envelope_write(&out, &e);
	CHECK(out.len && out.p[out.len - 1] == '\n');
	CHECK(hb_envelope_read(r2, out.p, out.len - 1, &e2, err, sizeof err) == 0);
	CHECK(e2.partition == e.partition && e2.offset == e.offset);
	CHECK((e.key == NULL) == (e2.key == NULL));
	CHECK(!e.key || (e.key_len == e2.key_len && memcmp(e.key, e2.key, e.key_len) == 0));
	CHECK((e.value == NULL) == (e2.value == NULL));
	CHECK(!e.value || (e.value_len == e2.value_len && memcmp(e.value, e2.value, e.value_len) == 0));
	hb_buf_release(&out);
}

static void coords(const char *s, size_t n)
{
	struct hb_coord c = { .partition = 7, .offset = (int64_t)n * 31, .lag = (int64_t)(n % 3) - 1 }, c2;
	struct hb_buf w = {0}, scratch = {0};
	const char *v;
	size_t vn, col;
	const char *msg;

	hb_coord_wrap(&w, &c, s, n);
	CHECK(!memchr(w.p, '\n', w.len) && !memchr(w.p, '\r', w.len));
	CHECK(hb_json_validate(w.p, w.len, 256, NULL, &col, &msg) == 0);
	CHECK(hb_coord_unwrap(w.p, w.len, &c2, &scratch, &v, &vn) == 1);
	CHECK(c2.partition == c.partition && c2.offset == c.offset && c2.lag == c.lag);
	CHECK(vn == n && (n == 0 || memcmp(v, s, n) == 0));
	hb_buf_release(&w);
	hb_buf_release(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!r1) {
		r1 = hb_envreader_new();
		r2 = hb_envreader_new();
	}
	envelope((const char *)data, size);
	coords((const char *)data, size);
	return 0;
}
