/* fuzz_json_diff — libFuzzer: hb_json_validate and json-c's strict parser
 * agree on every input (the whole input, and each of its lines), except as
 * documented in json_diff.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *s, size_t n)
{
	char why[200];

	if (json_diff(s, n, why, sizeof why) < 0) {
		fprintf(stderr, "check failed: %s on %zu bytes: '%.*s'\n", why, n, (int)(n > 200 ? 200 : n), s);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *e = s + size, *p = s;

	one(s, size);
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		one(p, n);
		p += n + 1;
	}
	return 0;
}
