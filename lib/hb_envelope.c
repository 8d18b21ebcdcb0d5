/* hb_envelope — Kafka messages as NDJSON envelopes, exactly reversible. */
#include "hb_envelope.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_json.h"

struct hb_envreader {
	json_tokener *tok;
	json_object *obj;
	struct hb_jspans spans;
	struct hb_buf key, value;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Can the value go in as JSON, byte for byte? */
static int value_inline(const char *v, size_t n)
{
	size_t col;
	const char *msg;

	if (n == 0 || is_blank(v[0]) || is_blank(v[n - 1]) || memchr(v, '\n', n) || memchr(v, '\r', n))
		return 0;
	return hb_json_validate(v, n, 64, NULL, &col, &msg) == 0;
}

void hb_envelope_write(struct hb_buf *out, const struct hb_envelope *e)
{
	hb_buf_puts(out, "{\"topic\":");
	hb_json_escape(out, e->topic ? e->topic : "", e->topic ? strlen(e->topic) : 0, NULL);
	hb_buf_puts(out, ",\"partition\":");
	hb_buf_put_i64(out, e->partition);
	hb_buf_puts(out, ",\"offset\":");
	hb_buf_put_i64(out, e->offset);
	if (e->timestamp_ms >= 0) {
		hb_buf_puts(out, ",\"timestamp\":");
		hb_buf_put_i64(out, e->timestamp_ms);
	}
	if (!e->key) {
		hb_buf_puts(out, ",\"key\":null");
	} else if (hb_utf8_valid_prefix(e->key, e->key_len) == e->key_len) {
		hb_buf_puts(out, ",\"key\":");
		hb_json_escape(out, e->key, e->key_len, NULL);
	} else {
		hb_buf_puts(out, ",\"key_b64\":\"");
		hb_base64_encode(out, (const unsigned char *)e->key, e->key_len);
		hb_buf_putc(out, '"');
	}
	if (e->value && value_inline(e->value, e->value_len)) {
		hb_buf_puts(out, ",\"value\":");
		hb_buf_put(out, e->value, e->value_len);
	} else if (e->value) {
		hb_buf_puts(out, ",\"value_b64\":\"");
		hb_base64_encode(out, (const unsigned char *)e->value, e->value_len);
		hb_buf_putc(out, '"');
	}
	hb_buf_puts(out, "}\n");
}

struct hb_envreader *hb_envreader_new(void)
{
	struct hb_envreader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->tok = json_tokener_new_ex(65);
	if (!r->tok) {
		free(r);
		return NULL;
	}
	return r;
}

void hb_envreader_free(struct hb_envreader *r)
{
	if (!r)
		return;
	json_object_put(r->obj);
	json_tokener_free(r->tok);
	hb_jspans_release(&r->spans);
	hb_buf_release(&r->key);
	hb_buf_release(&r->value);
	free(r);
}

/* The exact text of the value of member i. */
static void member_value(const struct hb_jspans *s, int i, const char **v, size_t *n)
{
	const char *p = s->m[i].key + s->m[i].key_len + 1;	/* past the closing quote */

	while (p < s->m[i].end && (is_blank(*p) || *p == ':'))
		p++;
	*v = p;
	*n = (size_t)(s->m[i].end - p);
}

static int find(const struct hb_jspans *s, const char *name)
{
	size_t k = strlen(name);

	for (int i = s->n - 1; i >= 0; i--)
		if (s->m[i].key_len == k && memcmp(s->m[i].key, name, k) == 0)
			return i;
	return -1;
}

static int get_int(json_object *o, const char *name, int64_t *v, int64_t min, int64_t max)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) || json_object_is_type(x, json_type_null)) {
		*v = -1;
		return 0;
	}
	if (!json_object_is_type(x, json_type_int))
		return -1;
	*v = json_object_get_int64(x);
	return *v < min || *v > max ? -1 : 0;
}

#define FAIL(...) do { snprintf(err, errsz, __VA_ARGS__); return -1; } while (0)

int hb_envelope_read(struct hb_envreader *r, const char *line, size_t n, struct hb_envelope *e,
		     char *err, size_t errsz)
{
	const char *msg, *v;
	size_t col, vn;
	json_object *x;
	int64_t i64;
	int k;

	memset(e, 0, sizeof *e);
	e->partition = -1;
	e->offset = e->timestamp_ms = -1;
	json_object_put(r->obj);
	r->obj = NULL;
	if (hb_json_parse(r->tok, line, n, 64, &r->spans, &r->obj, &col, &msg) < 0)
		FAIL("not JSON: %s at column %zu", msg, col);
	if (!r->obj || !json_object_is_type(r->obj, json_type_object))
		FAIL("not an envelope: not a JSON object");
	if (r->spans.oom)
		FAIL("not an envelope: out of memory holding its members");
	if (json_object_object_get_ex(r->obj, "topic", &x) && json_object_is_type(x, json_type_string))
		e->topic = json_object_get_string(x);
	if (get_int(r->obj, "partition", &i64, -1, INT32_MAX) < 0)
		FAIL("not an envelope: \"partition\" must be an integer");
	e->partition = (int32_t)i64;
	if (get_int(r->obj, "offset", &e->offset, -1, INT64_MAX) < 0)
		FAIL("not an envelope: \"offset\" must be an integer");
	if (get_int(r->obj, "timestamp", &e->timestamp_ms, -1, INT64_MAX) < 0)
		FAIL("not an envelope: \"timestamp\" must be an integer of milliseconds");
	hb_buf_reset(&r->key);
	if (json_object_object_get_ex(r->obj, "key_b64", &x)) {
		if (!json_object_is_type(x, json_type_string) ||
		    hb_base64_decode(&r->key, json_object_get_string(x),
				     (size_t)json_object_get_string_len(x)) < 0)
			FAIL("not an envelope: \"key_b64\" is not base64");
		hb_buf_putc(&r->key, '\0');
		e->key = r->key.p;
		e->key_len = r->key.len - 1;
	} else if (json_object_object_get_ex(r->obj, "key", &x) && !json_object_is_type(x, json_type_null)) {
		if (!json_object_is_type(x, json_type_string))
			FAIL("not an envelope: \"key\" must be a string or null");
		e->key = json_object_get_string(x);
		e->key_len = (size_t)json_object_get_string_len(x);
	}
	hb_buf_reset(&r->value);
	if ((k = find(&r->spans, "value_b64")) >= 0) {
		if (!json_object_object_get_ex(r->obj, "value_b64", &x) ||
		    !json_object_is_type(x, json_type_string) ||
		    hb_base64_decode(&r->value, json_object_get_string(x),
				     (size_t)json_object_get_string_len(x)) < 0)
			FAIL("not an envelope: \"value_b64\" is not base64");
		hb_buf_putc(&r->value, '\0');
		e->value = r->value.p;
		e->value_len = r->value.len - 1;
	} else if ((k = find(&r->spans, "value")) >= 0) {
		member_value(&r->spans, k, &v, &vn);
		e->value = v;
		e->value_len = vn;
	}
	return 0;
}
