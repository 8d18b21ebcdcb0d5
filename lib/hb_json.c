/* hb_json — JSON text helpers and the flat-object fast scanner. */
#include "hb_json.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;

		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;

		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
		       (s[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

size_t hb_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(u + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

size_t hb_utf8_cut(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t back = 0, need;
	unsigned char lead;

	/* Step back over up to three continuation bytes to a lead byte. */
	while (back < 3 && back < n && (u[n - 1 - back] & 0xC0) == 0x80)
		back++;
	if (back == n || u[n - 1 - back] < 0xC0)
		return n;	/* ASCII or stray continuation bytes: nothing is cut in two */
	lead = u[n - 1 - back];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	return back + 1 < need ? n - 1 - back : n;
}

void hb_json_escape(struct hb_buf *b, const char *s, size_t n, int *lossy)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	hb_buf_reserve(b, n + 2);
	hb_buf_putc(b, '"');
	while (i < n) {
		unsigned char c = u[i];
		size_t k;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		hb_buf_put(b, s + run, i - run);
		if (c >= 0x80) {
			k = utf8_seq(u + i, n - i);
			if (k) {
				hb_buf_put(b, s + i, k);
				i += k;
			} else {
				hb_buf_put(b, "\xEF\xBF\xBD", 3);
				if (lossy)
					*lossy = 1;
				i++;
			}
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			switch (c) {
			case '"':  hb_buf_put(b, "\\\"", 2); break;
			case '\\': hb_buf_put(b, "\\\\", 2); break;
			case '\n': hb_buf_put(b, "\\n", 2); break;
			case '\r': hb_buf_put(b, "\\r", 2); break;
			case '\t': hb_buf_put(b, "\\t", 2); break;
			case '\b': hb_buf_put(b, "\\b", 2); break;
			case '\f': hb_buf_put(b, "\\f", 2); break;
			default:   hb_buf_put(b, esc, 6); break;
			}
			i++;
		}
		run = i;
	}
	hb_buf_put(b, s + run, n - run);
	hb_buf_putc(b, '"');
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void hb_base64_encode(struct hb_buf *b, const unsigned char *s, size_t n)
{
	size_t i;

	hb_buf_reserve(b, (n + 2) / 3 * 4);
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		char q[4] = {b64[v >> 18], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63]};

		hb_buf_put(b, q, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4] = {b64[v >> 18], b64[v >> 12 & 63], '=', '='};

		hb_buf_put(b, q, 4);
	} else if (n - i == 2) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		char q[4] = {b64[v >> 18], b64[v >> 12 & 63], b64[v >> 6 & 63], '='};

		hb_buf_put(b, q, 4);
	}
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int hb_base64_decode(struct hb_buf *b, const char *s, size_t n)
{
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		unsigned w;

		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad || (v[j] = b64val(s[i + j])) < 0) {
				return -1;
			}
		}
		w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		hb_buf_putc(b, (char)(w >> 16));
		if (pad < 2)
			hb_buf_putc(b, (char)(w >> 8 & 255));
		if (pad < 1)
			hb_buf_putc(b, (char)(w & 255));
	}
	return 0;
}

static inline int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline const char *skip_ws(const char *p, const char *e)
{
	while (p < e && is_ws(*p))
		p++;
	return p;
}

/* A string without escapes, of printable ASCII; p at the opening quote. */
static const char *scan_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return NULL;
	}
	return NULL;
}

static inline int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 number grammar; sets *is_int when no fraction and no exponent. */
static const char *scan_number(const char *p, const char *e, int *is_int)
{
	*is_int = 1;
	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < e && is_digit(*p))
			p++;
	else
		return NULL;
	if (p < e && *p == '.') {
		*is_int = 0;
		if (++p >= e || !is_digit(*p))
			return NULL;
		while (p < e && is_digit(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		*is_int = 0;
		if (++p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || !is_digit(*p))
			return NULL;
		while (p < e && is_digit(*p))
			p++;
	}
	return p;
}

static const char *scan_literal(const char *p, const char *e, const char *lit, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *scan_value(const char *p, const char *e, struct hb_jmember *m)
{
	const char *q;

	switch (*p) {
	case '"':
		m->type = HB_J_STRING;
		q = scan_string(p, e);
		if (q) {
			m->val = p + 1;
			m->val_len = (size_t)(q - p - 2);
		}
		return q;
	case 't':
		m->type = HB_J_TRUE;
		q = scan_literal(p, e, "true", 4);
		break;
	case 'f':
		m->type = HB_J_FALSE;
		q = scan_literal(p, e, "false", 5);
		break;
	case 'n':
		m->type = HB_J_NULL;
		q = scan_literal(p, e, "null", 4);
		break;
	default:
		m->type = HB_J_NUMBER;
		q = scan_number(p, e, &m->num_int);
		break;
	}
	if (q) {
		m->val = p;
		m->val_len = (size_t)(q - p);
	}
	return q;
}

int hb_json_scan_flat(const char *s, size_t n, struct hb_jflat *out)
{
	const char *p = s, *e = s + n, *q;

	out->n = 0;
	p = skip_ws(p, e);
	if (p >= e || *p != '{')
		return 0;
	out->open = p++;
	p = skip_ws(p, e);
	if (p < e && *p == '}')
		goto close;
	for (;;) {
		struct hb_jmember *m;

		if (out->n == HB_JFLAT_MAX || p >= e || *p != '"')
			return 0;
		m = &out->m[out->n++];
		m->start = p;
		q = scan_string(p, e);
		if (!q)
			return 0;
		m->key = p + 1;
		m->key_len = (size_t)(q - p - 2);
		p = skip_ws(q, e);
		if (p >= e || *p != ':')
			return 0;
		p = skip_ws(p + 1, e);
		if (p >= e || !(p = scan_value(p, e, m)))
			return 0;
		m->end = p;
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p = skip_ws(p + 1, e);
			continue;
		}
		if (p < e && *p == '}')
			break;
		return 0;
	}
close:
	out->close = p++;
	return skip_ws(p, e) == e;
}

const struct hb_jmember *hb_jflat_get(const struct hb_jflat *f, const char *key)
{
	size_t kl = strlen(key);

	for (int i = f->n - 1; i >= 0; i--)
		if (f->m[i].key_len == kl && memcmp(f->m[i].key, key, kl) == 0)
			return &f->m[i];
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s[i]; -1 if not. */
static long hex4(const char *s, size_t n, size_t i)
{
	long v = 0;

	if (i + 4 > n)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = hexval(s[i + (size_t)k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* A full JSON string at s[*i] == '"'; advances *i past the closing quote. */
static const char *validate_string(const char *s, size_t n, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t p = *i + 1;

	while (p < n) {
		unsigned char c = u[p];

		if (c == '"') {
			*i = p + 1;
			return NULL;
		}
		if (c == '\\') {
			long cp, lo;

			*i = p;
			if (p + 1 >= n)
				return "unterminated escape";
			switch (s[p + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				break;
			default:
				return "invalid escape";
			}
			if ((cp = hex4(s, n, p + 2)) < 0)
				return "invalid \\u escape";
			p += 6;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return "lone surrogate in \\u escape";
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p + 6 > n || s[p] != '\\' || s[p + 1] != 'u' ||
				    (lo = hex4(s, n, p + 2)) < 0xDC00 || lo > 0xDFFF)
					return "lone surrogate in \\u escape";
				p += 6;
			}
			continue;
		}
		if (c < 0x20) {
			*i = p;
			return c ? "unescaped control character in string" : "NUL byte";
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(u + p, n - p);

			if (!k) {
				*i = p;
				return "invalid UTF-8";
			}
			p += k;
			continue;
		}
		p++;
	}
	*i = p;
	return "unterminated string";
}

enum { V_VALUE, V_KEY, V_AFTER };

void hb_jspans_release(struct hb_jspans *s)
{
	free(s->m);
	memset(s, 0, sizeof *s);
}

/* Room for one more member.  Returns 0, or -1 (and sets oom). */
static int spans_room(struct hb_jspans *s)
{
	struct hb_jspan *m;
	int cap;

	if (s->n < s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 16;
	m = s->cap < INT_MAX / 2 ? realloc(s->m, (size_t)cap * sizeof *m) : NULL;
	if (!m) {
		s->oom = 1;
		return -1;
	}
	s->m = m;
	s->cap = cap;
	return 0;
}

int hb_json_validate(const char *s, size_t n, int max_depth, struct hb_jspans *spans,
		     size_t *err_col, const char **err)
{
	char stack[256];
	int depth = 0, state = V_VALUE, open = 0;
	size_t i = 0, vend = 0;
	const char *msg = NULL;

	if (spans) {
		spans->n = 0;
		spans->oom = 0;
	}
	if (max_depth > (int)sizeof stack)
		max_depth = (int)sizeof stack;
	for (;;) {
		while (i < n && is_ws(s[i]))
			i++;
		if (state == V_AFTER && depth == 0) {
			if (i == n)
				return 0;
			msg = s[i] ? "trailing characters after the JSON value" :
			      "NUL byte after the JSON value";
			goto fail;
		}
		if (i == n) {
			msg = n == 0 ? "empty line" :
			      state == V_VALUE && depth == 0 ? "blank line" : "unexpected end of line";
			goto fail;
		}
		if (state == V_KEY) {
			size_t k = i;

			if (s[i] != '"') {
				msg = "want a quoted member name";
				goto fail;
			}
			if ((msg = validate_string(s, n, &i)))
				goto fail;
			if (spans && depth == 1 && !spans->oom && spans_room(spans) == 0) {
				spans->m[spans->n].start = s + k;
				spans->m[spans->n].key = s + k + 1;
				spans->m[spans->n].key_len = i - k - 2;
				open = 1;
			}
			while (i < n && is_ws(s[i]))
				i++;
			if (i == n || s[i] != ':') {
				msg = i == n ? "unexpected end of line" : "want ':' after member name";
				goto fail;
			}
			i++;
			state = V_VALUE;
			continue;
		}
		if (state == V_AFTER) {
			char top = stack[depth - 1];

			if (open && depth == 1) {
				spans->m[spans->n++].end = s + vend;
				open = 0;
			}
			if (s[i] == ',') {
				i++;
				state = top == '{' ? V_KEY : V_VALUE;
			} else if ((s[i] == '}' && top == '{') || (s[i] == ']' && top == '[')) {
				if (depth == 1 && spans)
					spans->close = s + i;
				i++;
				depth--;
				vend = i;
			} else {
				msg = top == '{' ? "want ',' or '}'" : "want ',' or ']'";
				goto fail;
			}
			continue;
		}
		/* V_VALUE */
		switch (s[i]) {
		case '{':
		case '[':
			if (depth >= max_depth) {
				msg = "nested too deep";
				goto fail;
			}
			if (depth == 0 && s[i] == '[' && spans)
				spans = NULL;	/* only objects' members are recorded */
			if (depth == 0 && spans)
				spans->open = spans->close = s + i;
			stack[depth++] = s[i++];
			while (i < n && is_ws(s[i]))
				i++;
			if (i < n && s[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
				if (depth == 1 && spans)
					spans->close = s + i;
				i++;
				depth--;
				break;
			}
			state = stack[depth - 1] == '{' ? V_KEY : V_VALUE;
			continue;
		case '"':
			if ((msg = validate_string(s, n, &i)))
				goto fail;
			break;
		case 't': case 'f': case 'n': {
			const char *lit = s[i] == 't' ? "true" : s[i] == 'f' ? "false" : "null";
			const char *q = scan_literal(s + i, s + n, lit, strlen(lit));

			if (!q) {
				msg = "invalid literal";
				goto fail;
			}
			i = (size_t)(q - s);
			break;
		}
		default: {
			int is_int;
			const char *q = (s[i] == '-' || is_digit(s[i])) ?
					scan_number(s + i, s + n, &is_int) : NULL;

			if (!q) {
				msg = s[i] == '-' || is_digit(s[i]) ? "invalid number" :
				      s[i] == 0 ? "NUL byte" :
				      (unsigned char)s[i] >= 0x80 ? "unexpected byte (not ASCII)" :
				      "unexpected character";
				goto fail;
			}
			i = (size_t)(q - s);
			break;
		}
		}
		state = V_AFTER;
		vend = i;
	}
fail:
	*err_col = i + 1;
	*err = msg;
	return -1;
}

int hb_json_parse(struct json_tokener *tok, const char *s, size_t n, int max_depth,
		  struct hb_jspans *spans, struct json_object **out, size_t *err_col,
		  const char **err)
{
	json_object *o;

	*out = NULL;
	if (hb_json_validate(s, n, max_depth, spans, err_col, err) < 0)
		return -1;
	if (n > INT_MAX) {
		*err_col = 1;
		*err = "too long to parse";
		return -1;
	}
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (!o && json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1);	/* end a bare number */
	if (!o && json_tokener_get_error(tok) != json_tokener_success) {
		*err_col = 1;
		*err = "out of memory";
		return -1;
	}
	*out = o;
	return 0;
}
