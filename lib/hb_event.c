/* hb_event — one NDJSON line to a reading: a fast path for flat objects and
 * a strict validator plus json-c for everything else. */
#include "hb_event.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_json.h"
#include "hb_time.h"

const char *const hb_reserved_keys[] = {
	"status", "reason", "raw", "raw_base64", "raw_length", NULL,
};

struct hb_parser {
	json_tokener *tok;
	json_object *obj;          /* the last line's object (json-c path) */
	struct hb_jflat flat;      /* the last line's members (fast path) */
	struct hb_jspans spans;    /* the last line's members (slow path) */
	int path;                  /* 1 fast, 2 slow, 0 not an object */
	unsigned time_flags;       /* HB_TIME_ASSUME_UTC */
	struct hb_buf scratch;
};

struct hb_parser *hb_parser_new(void)
{
	struct hb_parser *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->tok = json_tokener_new_ex(HB_JSON_MAX_DEPTH + 1);
	if (!p->tok) {
		free(p);
		return NULL;
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
	return p;
}

void hb_parser_free(struct hb_parser *p)
{
	if (!p)
		return;
	json_object_put(p->obj);
	json_tokener_free(p->tok);
	hb_jspans_release(&p->spans);
	hb_buf_release(&p->scratch);
	free(p);
}

void hb_parser_assume_utc(struct hb_parser *p, int on)
{
	p->time_flags = on ? HB_TIME_ASSUME_UTC : 0;
}

int hb_cid_from_int(const char *s, size_t n, const char **out, size_t *outn)
{
	/* JSON has no leading zeros, so -0 is the only other spelling of a value */
	if (n == 2 && s[0] == '-' && s[1] == '0')
		s = "0", n = 1;
	if (!hb_cid_valid(s, n))
		return 0;
	*out = s;
	*outn = n;
	return 1;
}

int hb_cid_valid(const char *s, size_t n)
{
	if (n < 1 || n > HB_CID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static void why(struct hb_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one more reason, "; "-separated, truncating what does not fit. */
static void why(struct hb_event *ev, const char *fmt, ...)
{
	size_t len = strlen(ev->why);
	va_list ap;

	if (len && len + 2 < sizeof ev->why) {
		memcpy(ev->why + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof ev->why)
		return;
	va_start(ap, fmt);
	vsnprintf(ev->why + len, sizeof ev->why - len, fmt, ap);
	va_end(ap);
}

/* A member value in a form both paths can give. */
enum vkind { K_STRING, K_INT, K_NUMBER, K_BOOL, K_NULL, K_OBJECT, K_ARRAY };

struct val {
	enum vkind kind;
	const char *s;      /* K_STRING: contents; K_INT/K_NUMBER: literal text */
	size_t n;
	int64_t i;          /* K_INT, saturated */
};

static const char *kind_name(enum vkind k)
{
	static const char *const names[] = {
		"string", "integer", "number", "boolean", "null", "object", "array",
	};
	return names[k];
}

/* Decimal integer literal to int64, saturating. */
static int64_t int_literal(const char *s, size_t n)
{
	int neg = n && s[0] == '-';
	uint64_t v = 0;

	for (size_t i = neg; i < n; i++) {
		if (v > (UINT64_MAX - 9) / 10) {
			v = UINT64_MAX;
			break;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg)
		return v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int key_is(const char *k, size_t kn, const char *name)
{
	size_t n = strlen(name);

	return kn == n && memcmp(k, name, n) == 0;
}

/* What the three reading fields looked like while the members went by. */
struct seen {
	int cid, ts, hr;                 /* present */
	enum vkind cid_k, ts_k, hr_k;    /* their kinds */
	const char *cid_text;            /* a number's text (integer or not), if known */
	size_t cid_len;
	const char *hr_text;             /* a non-integer number's text, if known */
	size_t hr_len;
};

/* Record one member; later members override earlier ones, as in json-c. */
static void take(struct hb_event *ev, struct seen *sn, const char *k, size_t kn,
		 const struct val *v)
{
	if (k[0] == 'c' && key_is(k, kn, "customer_id")) {
		sn->cid = 1;
		sn->cid_k = v->kind;
		sn->cid_text = v->kind == K_INT || v->kind == K_NUMBER ? v->s : NULL;
		sn->cid_len = sn->cid_text ? v->n : 0;
		ev->cid.p = v->s;
		ev->cid.n = v->n;
	} else if (k[0] == 't' && key_is(k, kn, "timestamp")) {
		sn->ts = 1;
		sn->ts_k = v->kind;
		ev->ts.p = v->s;
		ev->ts.n = v->n;
	} else if (k[0] == 'h' && key_is(k, kn, "heart_rate")) {
		sn->hr = 1;
		sn->hr_k = v->kind;
		sn->hr_text = v->kind == K_NUMBER ? v->s : NULL;
		sn->hr_len = v->kind == K_NUMBER ? v->n : 0;
		ev->hr = v->i;
		ev->hr_text.p = v->kind == K_INT ? v->s : NULL;
		ev->hr_text.n = v->kind == K_INT ? v->n : 0;
	} else if (k[0] == 's' && key_is(k, kn, "status")) {
		ev->reserved++;
		ev->has_status = v->kind == K_STRING &&
				 hb_status_parse(v->s, v->n, &ev->status) == 0;
	} else if (k[0] == 'r' && key_is(k, kn, "reason")) {
		ev->reserved++;
		ev->reason.p = v->kind == K_STRING ? v->s : NULL;
		ev->reason.n = v->kind == K_STRING ? v->n : 0;
	} else if (k[0] == 'r' && key_is(k, kn, "raw")) {
		ev->reserved++;
		ev->has_raw = v->kind == K_STRING;
		ev->raw.p = v->s;
		ev->raw.n = v->n;
	} else if (k[0] == 'r' && key_is(k, kn, "raw_base64")) {
		ev->reserved++;
		ev->raw_b64.p = v->kind == K_STRING ? v->s : NULL;
		ev->raw_b64.n = v->kind == K_STRING ? v->n : 0;
	} else if (k[0] == 'r' && key_is(k, kn, "raw_length")) {
		ev->reserved++;
		ev->raw_length = v->kind == K_INT && v->i >= 0 ? v->i : -1;
	}
}

/* After all members are seen: check the three fields, say what is wrong. */
static int check_fields(const struct hb_parser *p, struct hb_event *ev, const struct seen *sn)
{
	char err[160];
	int rc;

	if (!sn->cid)
		why(ev, "missing customer_id");
	else if (sn->cid_k == K_INT && sn->cid_text) {
		if (!(ev->cid_ok = ev->cid_int = hb_cid_from_int(sn->cid_text, sn->cid_len,
								 &ev->cid.p, &ev->cid.n)))
			why(ev, "customer_id as an integer must have at most 64 characters (got %zu)",
			    sn->cid_len);
	} else if (sn->cid_k == K_NUMBER && sn->cid_text && sn->cid_len <= 40)
		why(ev, "customer_id must be a string or an integer (got %.*s)", (int)sn->cid_len,
		    sn->cid_text);
	else if (sn->cid_k != K_STRING)
		why(ev, "customer_id must be a string or an integer (got %s)", kind_name(sn->cid_k));
	else if (!(ev->cid_ok = hb_cid_valid(ev->cid.p, ev->cid.n)))
		why(ev, "customer_id must be 1-64 characters of [A-Za-z0-9_.:-] (got %zu bytes)",
		    ev->cid.n);
	if (!sn->ts)
		why(ev, "missing timestamp");
	else if (sn->ts_k != K_STRING)
		why(ev, "timestamp must be a string (got %s)", kind_name(sn->ts_k));
	else if ((rc = hb_time_parse_opt(ev->ts.p, ev->ts.n, p->time_flags, &ev->ts_us, err,
					 sizeof err)) < 0)
		why(ev, "bad timestamp: %s", err);
	else
		ev->ts_ok = 1, ev->ts_zoneless = rc == 1;
	if (!sn->hr)
		why(ev, "missing heart_rate");
	else if (sn->hr_k == K_NUMBER && sn->hr_text && sn->hr_len <= 40)
		why(ev, "heart_rate must be an integer (got %.*s)", (int)sn->hr_len, sn->hr_text);
	else if (sn->hr_k != K_INT)
		why(ev, "heart_rate must be an integer (got %s)", kind_name(sn->hr_k));
	else
		ev->hr_ok = 1;
	if (!ev->cid_ok)
		ev->cid.p = NULL, ev->cid.n = 0, ev->cid_int = 0;
	if (!ev->ts_ok)
		ev->ts.p = NULL, ev->ts.n = 0;
	return ev->cid_ok && ev->ts_ok && ev->hr_ok ? 0 : -1;
}

static int parse_flat(struct hb_parser *p, struct hb_event *ev)
{
	struct seen sn = {0};

	ev->members = p->flat.n;
	for (int i = 0; i < p->flat.n; i++) {
		const struct hb_jmember *m = &p->flat.m[i];
		struct val v = { .s = m->val, .n = m->val_len };

		switch (m->type) {
		case HB_J_STRING: v.kind = K_STRING; break;
		case HB_J_NUMBER:
			v.kind = m->num_int ? K_INT : K_NUMBER;
			if (m->num_int)
				v.i = int_literal(m->val, m->val_len);
			break;
		case HB_J_TRUE:
		case HB_J_FALSE: v.kind = K_BOOL; break;
		case HB_J_NULL: v.kind = K_NULL; break;
		}
		take(ev, &sn, m->key, m->key_len, &v);
	}
	return check_fields(p, ev, &sn);
}

static void jval(json_object *o, struct val *v)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		v->kind = K_STRING;
		v->s = json_object_get_string(o);
		v->n = (size_t)json_object_get_string_len(o);
		break;
	case json_type_int:
		v->kind = K_INT;
		v->i = json_object_get_int64(o);
		break;
	case json_type_double:
		v->kind = K_NUMBER;
		break;
	case json_type_boolean: v->kind = K_BOOL; break;
	case json_type_object: v->kind = K_OBJECT; break;
	case json_type_array: v->kind = K_ARRAY; break;
	default: v->kind = K_NULL; break;
	}
}

static const char *type_word(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	case json_type_int:
	case json_type_double: return "a number";
	case json_type_boolean: return "a boolean";
	default: return "null";
	}
}

static int raw_key_is(const char *k, size_t kn, const char *name);

/* Where a member's value starts: after the key's closing quote, blanks and ':'. */
static const char *value_start(const char *key, size_t key_len)
{
	const char *v = key + key_len + 1;

	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == ':')
		v++;
	return v;
}

/*
 * A customer_id number on the slow path: its literal text from the line (the
 * last such member, as json-c keeps), so a 25-digit integer is an integer
 * there too (json-c makes it a double).
 */
static void number_text(struct hb_parser *p, json_object *jv, struct val *v)
{
	for (int i = p->spans.n - 1; i >= 0; i--) {
		const char *s;

		if (!raw_key_is(p->spans.m[i].key, p->spans.m[i].key_len, "customer_id"))
			continue;
		s = value_start(p->spans.m[i].key, p->spans.m[i].key_len);
		v->s = s;
		v->n = (size_t)(p->spans.m[i].end - s);
		v->kind = memchr(s, '.', v->n) || memchr(s, 'e', v->n) || memchr(s, 'E', v->n) ?
			  K_NUMBER : K_INT;
		return;
	}
	if (v->kind == K_INT) {
		v->s = json_object_to_json_string_ext(jv, JSON_C_TO_STRING_PLAIN);
		v->n = strlen(v->s);
	}
}

static int parse_slow(struct hb_parser *p, struct hb_event *ev)
{
	const char *s = ev->text.p, *msg;
	size_t n = ev->text.n, col;
	struct seen sn = {0};
	json_object *o;

	if (hb_json_parse(p->tok, s, n, HB_JSON_MAX_DEPTH, &p->spans, &o, &col, &msg) < 0) {
		if (n == 0 || (msg[0] == 'b' && strcmp(msg, "blank line") == 0))
			why(ev, "not JSON: %s", n || ev->blank ? "blank line" : "empty line");
		else
			why(ev, "not JSON: %s at column %zu", msg, col);
		return -1;
	}
	p->obj = o;
	if (!o || !json_object_is_type(o, json_type_object)) {
		why(ev, "not a JSON object (got %s)", o ? type_word(o) : "null");
		return -1;
	}
	if (p->spans.oom) {
		/* its members' bytes cannot all be kept, and they are never re-serialised */
		why(ev, "out of memory holding the object's members (%d held)", p->spans.n);
		ev->oom = 1;	/* a shortage of memory, not a fault of the line */
		return -1;
	}
	p->path = 2;
	ev->is_object = 1;
	ev->members = json_object_object_length(o);
	json_object_object_foreach(o, key, jv) {
		struct val v = {0};

		jval(jv, &v);
		if (v.kind == K_NUMBER) {
			v.s = json_object_to_json_string_ext(jv, JSON_C_TO_STRING_PLAIN);
			v.n = strlen(v.s);
		}
		if ((v.kind == K_INT || v.kind == K_NUMBER) && key[0] == 'c' &&
		    strcmp(key, "customer_id") == 0)
			number_text(p, jv, &v);
		take(ev, &sn, key, strlen(key), &v);
	}
	return check_fields(p, ev, &sn);
}

int hb_event_parse(struct hb_parser *p, const char *line, size_t n, struct hb_event *ev)
{
	const char *val;
	size_t vlen;

	memset(ev, 0, offsetof(struct hb_event, why));
	ev->why[0] = '\0';
	ev->raw_length = -1;
	json_object_put(p->obj);
	p->obj = NULL;
	p->path = 0;

	ev->blank = n > 0;
	ev->orig.p = line;
	ev->orig.n = n;
	/*
	 * Coordinates after leading blanks count too: otherwise such a line's
	 * "_kafka" member would come out first on our output, where the next
	 * reader takes it for coordinates, and classifying twice would differ.
	 */
	{
		size_t lead = 0;

		while (lead < n && (line[lead] == ' ' || line[lead] == '\t' || line[lead] == '\r'))
			lead++;
		if (n - lead >= 10 && line[lead] == '{' && line[lead + 2] == '_' &&
		    hb_coord_unwrap(line + lead, n - lead, &ev->coord, &p->scratch, &val, &vlen)) {
			ev->has_coord = 1;
			ev->orig.p = line = val;
			ev->orig.n = n = vlen;
		}
	}
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	ev->text.p = line;
	ev->text.n = n;
	if (hb_json_scan_flat(line, n, &p->flat)) {
		p->path = 1;
		ev->is_object = 1;
		return parse_flat(p, ev);
	}
	return parse_slow(p, ev);
}

/*
 * Does the raw key text (escapes as written) spell name?  Escapes are decoded
 * as far as ASCII goes, so "st\u0061tus" is "status" as json-c sees it.
 */
static int raw_key_is(const char *k, size_t kn, const char *name)
{
	size_t i = 0;

	for (; *name; name++) {
		int ch;

		if (i >= kn)
			return 0;
		if (k[i] != '\\') {
			ch = (unsigned char)k[i++];
		} else if (i + 1 < kn && k[i + 1] == 'u' && i + 6 <= kn) {
			char hex[5] = {k[i + 2], k[i + 3], k[i + 4], k[i + 5], 0};
			char *end;
			long v = strtol(hex, &end, 16);

			if (*end)
				return 0;
			ch = (int)v;
			i += 6;
		} else if (i + 1 < kn) {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *f = memchr(from, k[i + 1], sizeof from - 1);

			if (!f)
				return 0;
			ch = (unsigned char)to[f - from];
			i += 2;
		} else {
			return 0;
		}
		if (ch != (unsigned char)*name)
			return 0;
	}
	return i == kn;
}

static int skipped(const char *k, size_t kn, const char *const *skip, int raw)
{
	for (; skip && *skip; skip++)
		if (raw ? raw_key_is(k, kn, *skip) : key_is(k, kn, *skip))
			return 1;
	return 0;
}

/* A value written anew: "s[0..n)" plus an optional 'Z', for the last member key. */
struct subst {
	const char *key;
	const char *s;
	size_t n;
	int z;
	int at;          /* the member's index, or -1 */
};

static void put_subst(struct hb_buf *out, const struct subst *u)
{
	hb_buf_putc(out, '"');
	hb_buf_put(out, u->s, u->n);	/* digits, or a timestamp: nothing to escape */
	if (u->z)
		hb_buf_putc(out, 'Z');
	hb_buf_putc(out, '"');
}

/*
 * The object's inner text with the skipped members cut out, and with them
 * the comma before (or, for leading ones, after) them, and the substituted
 * values written anew: everything else stays byte for byte, so rewriting a
 * rewritten line changes nothing more.
 */
static int put_without(struct hb_buf *out, const char *open, const char *close,
		       const struct hb_jspan *m, int n, const char *const *skip, int raw,
		       struct subst *sub, int nsub)
{
	int first = -1, kept = 0;
	const char *pos;

	for (int j = 0; j < nsub; j++) {
		sub[j].at = -1;
		for (int i = n - 1; i >= 0; i--) {
			if (raw ? raw_key_is(m[i].key, m[i].key_len, sub[j].key) :
			    key_is(m[i].key, m[i].key_len, sub[j].key)) {
				sub[j].at = i;
				break;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (!skipped(m[i].key, m[i].key_len, skip, raw)) {
			if (first < 0)
				first = i;
			kept++;
		}
	}
	if (!kept)
		return 0;
	hb_buf_put(out, open + 1, (size_t)(m[0].start - (open + 1)));	/* leading blanks */
	pos = m[first].start;
	for (int i = first; i < n; i++) {
		const char *comma;

		if (!skipped(m[i].key, m[i].key_len, skip, raw)) {
			for (int j = 0; j < nsub; j++) {
				const char *v;

				if (sub[j].at != i)
					continue;
				v = value_start(m[i].key, m[i].key_len);
				hb_buf_put(out, pos, (size_t)(v - pos));
				put_subst(out, &sub[j]);
				pos = m[i].end;
			}
			continue;
		}
		comma = memchr(m[i - 1].end, ',', (size_t)(m[i].start - m[i - 1].end));
		if (!comma)
			comma = m[i - 1].end;
		if (comma > pos)
			hb_buf_put(out, pos, (size_t)(comma - pos));
		pos = m[i].end;
	}
	hb_buf_put(out, pos, (size_t)(close - pos));
	return kept;
}

int hb_event_put_members(struct hb_parser *p, const struct hb_event *ev,
			 struct hb_buf *out, const char *const *skip)
{
	struct hb_jspan m[HB_JFLAT_MAX];
	struct subst sub[2];
	int nsub = 0;

	if (ev->cid_ok && ev->cid_int)
		sub[nsub++] = (struct subst){ "customer_id", ev->cid.p, ev->cid.n, 0, -1 };
	if (ev->ts_ok && ev->ts_zoneless)
		sub[nsub++] = (struct subst){ "timestamp", ev->ts.p, ev->ts.n, 1, -1 };
	if (p->path == 1) {
		for (int i = 0; i < p->flat.n; i++) {
			m[i].start = p->flat.m[i].start;
			m[i].end = p->flat.m[i].end;
			m[i].key = p->flat.m[i].key;
			m[i].key_len = p->flat.m[i].key_len;
		}
		return p->flat.n ? put_without(out, p->flat.open, p->flat.close, m, p->flat.n, skip, 0,
					       sub, nsub) : 0;
	}
	if (p->path == 2 && !p->spans.oom && p->spans.n)
		return put_without(out, p->spans.open, p->spans.close, p->spans.m, p->spans.n, skip,
				   1, sub, nsub);
	return 0;
}
