/* hb_coord — the reserved "_kafka" member: write and recover it exactly. */
#include "hb_coord.h"

#include "hb_json.h"

#define PREFIX "{\"_kafka\":{\"p\":"

static void put_coords(struct hb_buf *out, const struct hb_coord *c)
{
	hb_buf_put(out, PREFIX, sizeof PREFIX - 1);
	hb_buf_put_i64(out, c->partition);
	hb_buf_put(out, ",\"o\":", 5);
	hb_buf_put_i64(out, c->offset);
	if (c->lag >= 0) {
		hb_buf_put(out, ",\"l\":", 5);
		hb_buf_put_i64(out, c->lag);
	}
}

void hb_coord_open(struct hb_buf *out, const struct hb_coord *c)
{
	put_coords(out, c);
	hb_buf_putc(out, '}');
}

/*
 * The inline form keeps the value's bytes exactly and is valid JSON only when
 * the value is itself one JSON object starting at its first byte, on one line,
 * with members (or exactly "{}").  Anything else travels base64-encoded.
 */
static int inline_ok(const char *val, size_t n)
{
	struct hb_jflat f;
	size_t col;
	const char *msg;

	if (n < 2 || val[0] != '{' || memchr(val, '\n', n) || memchr(val, '\r', n) ||
	    memchr(val, '\0', n))
		return 0;
	if (!hb_json_scan_flat(val, n, &f) && hb_json_validate(val, n, 64, NULL, &col, &msg) < 0)
		return 0;
	/* With members; or empty with nothing between the braces ("{}" + blanks). */
	for (size_t i = 1; i < n; i++) {
		if (val[i] == ' ' || val[i] == '\t')
			continue;
		return val[i] != '}' || i == 1;
	}
	return 0;
}

void hb_coord_wrap(struct hb_buf *out, const struct hb_coord *c, const char *val, size_t n)
{
	if (inline_ok(val, n)) {
		hb_coord_open(out, c);
		if (val[1] == '}') {
			hb_buf_put(out, val + 1, n - 1);	/* {} */
		} else {
			hb_buf_putc(out, ',');
			hb_buf_put(out, val + 1, n - 1);
		}
		return;
	}
	put_coords(out, c);
	hb_buf_put(out, ",\"b64\":\"", 8);
	hb_base64_encode(out, (const unsigned char *)val, n);
	hb_buf_put(out, "\"}}", 3);
}

/* Non-negative decimal at s[*i] (no leading zeros but "0"). */
static int read_uint(const char *s, size_t n, size_t *i, int64_t max, int64_t *v)
{
	size_t j = *i;
	int64_t x = 0;

	if (j >= n || s[j] < '0' || s[j] > '9' || (s[j] == '0' && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9'))
		return -1;
	for (; j < n && s[j] >= '0' && s[j] <= '9'; j++) {
		if (x > (max - (s[j] - '0')) / 10)
			return -1;
		x = x * 10 + (s[j] - '0');
	}
	*i = j;
	*v = x;
	return 0;
}

static int lit(const char *s, size_t n, size_t *i, const char *t, size_t k)
{
	if (*i + k > n || memcmp(s + *i, t, k) != 0)
		return -1;
	*i += k;
	return 0;
}

/* `{"_kafka":{"p":P,"o":O[,"l":L]`: the coordinates; *i is left after them. */
static int read_head(const char *line, size_t n, size_t *i, struct hb_coord *c)
{
	int64_t p, o, l = -1;
	size_t j;

	if (lit(line, n, i, PREFIX, sizeof PREFIX - 1) ||
	    read_uint(line, n, i, INT32_MAX, &p) || lit(line, n, i, ",\"o\":", 5) ||
	    read_uint(line, n, i, INT64_MAX, &o))
		return -1;
	j = *i;
	if (lit(line, n, &j, ",\"l\":", 5) == 0 && read_uint(line, n, &j, INT64_MAX, &l) == 0)
		*i = j;
	else
		l = -1;
	c->partition = (int32_t)p;
	c->offset = o;
	c->lag = l;
	return 0;
}

int hb_coord_peek(const char *line, size_t n, struct hb_coord *c, size_t *skip, int *b64)
{
	size_t i = 0;
	struct hb_coord got;

	if (read_head(line, n, &i, &got) < 0)
		return 0;
	*b64 = 0;
	if (i < n && line[i] == '}') {
		i++;
		if (i < n && line[i] == ',')
			i++;
	} else if (lit(line, n, &i, ",\"b64\":\"", 8) == 0) {
		*b64 = 1;
	} else {
		return 0;
	}
	*c = got;
	*skip = i;
	return 1;
}

int hb_coord_excerpt(const char *line, size_t n, uint64_t true_len, size_t max,
		     struct hb_coord *c, struct hb_buf *out, uint64_t *value_len)
{
	size_t skip = 0, k;
	int b64 = 0, has = hb_coord_peek(line, n, c, &skip, &b64);

	hb_buf_reset(out);
	if (!has) {
		hb_buf_put(out, line, n < max ? n : max);
		*value_len = true_len;
		return 0;
	}
	if (b64) {
		/* whole groups of four only; the closing "}} is not part of the value */
		k = (n - skip) / 4 * 4;
		if (k > (max + 2) / 3 * 4)
			k = (max + 2) / 3 * 4;
		hb_base64_decode(out, line + skip, k);
		if (out->len > max)
			out->len = max;
		*value_len = true_len > skip + 3 ? (true_len - skip - 3) / 4 * 3 : 0;
		return 1;
	}
	hb_buf_putc(out, '{');	/* the value's own brace, shared with the prefix */
	k = n - skip < max - 1 ? n - skip : max - 1;
	hb_buf_put(out, line + skip, k);
	*value_len = true_len - skip + 1;
	return 1;
}

int hb_coord_unwrap(const char *line, size_t n, struct hb_coord *c,
		    struct hb_buf *scratch, const char **val, size_t *vlen)
{
	size_t i = 0, b;

	if (read_head(line, n, &i, c) < 0)
		return 0;
	if (i < n && line[i] == '}') {
		i++;
		hb_buf_reset(scratch);
		hb_buf_putc(scratch, '{');
		if (i < n && line[i] == ',')
			i++;
		hb_buf_put(scratch, line + i, n - i);
		*val = scratch->p;
		*vlen = scratch->len;
		return 1;
	}
	if (lit(line, n, &i, ",\"b64\":\"", 8))
		return 0;
	for (b = i; i < n && line[i] != '"'; i++)
		;
	if (i + 3 != n || memcmp(line + i, "\"}}", 3) != 0)
		return 0;
	hb_buf_reset(scratch);
	if (hb_base64_decode(scratch, line + b, i - b) < 0)
		return 0;
	hb_buf_putc(scratch, '\0');	/* so an empty value still has a pointer */
	scratch->len--;
	*val = scratch->p;
	*vlen = scratch->len;
	return 1;
}
