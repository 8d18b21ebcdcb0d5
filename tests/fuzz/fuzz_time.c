/* fuzz_time — libFuzzer: the RFC 3339 parser.  What it accepts formats back
 * to a string it accepts again with the same instant. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hb_time.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200], buf[HB_TIME_MAX];
	int64_t us, again;
	size_t k;

	if (hb_time_parse((const char *)data, size, &us, err, sizeof err) < 0) {
		CHECK(err[0]);
		return 0;
	}
	k = hb_time_format(us, buf);
	CHECK(k > 0 && k < HB_TIME_MAX);
	CHECK(hb_time_parse(buf, k, &again, err, sizeof err) == 0);
	CHECK(again == us);
	return 0;
}
