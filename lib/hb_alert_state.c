/* hb_alert_state — the alert rules' state as text: a customer's detection
 * state written and loaded back (hbclassify --store, hbpgload), the mark
 * lines of hbkafka-sub --marks, and the _hb_alert/_hb_state wrapping. */
#include "hb_alert.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_alert_int.h"
#include "hb_json.h"
#include "hb_time.h"

/* The state of c, one JSON object on one line (hb_alerts_load reads it). */
void hb_alert_state_write(struct hb_alerts *a, struct cust *c, struct hb_buf *b)
{
	const struct part *p = &a->parts[c->part];
	char t[HB_TIME_MAX];

	hb_buf_puts(b, "{\"customer_id\":");
	hb_json_escape(b, c->cid, c->cn, NULL);
	if (p->tn) {
		hb_buf_puts(b, ",\"topic\":");
		hb_json_escape(b, p->topic, p->tn, NULL);
	} else {
		hb_buf_puts(b, ",\"topic\":null");
	}
	if (p->partition >= 0)
		{
		hb_buf_puts(b, ",\"partition\":");
		hb_buf_put_i64(b, p->partition);
	}
	else
		hb_buf_puts(b, ",\"partition\":null");
	if (c->offset >= 0)
		{
		hb_buf_puts(b, ",\"offset\":");
		hb_buf_put_i64(b, (long long)c->offset);
	}
	else
		hb_buf_puts(b, ",\"offset\":null");
	if (c->last != NONE) {
		hb_buf_puts(b, ",\"ts\":\"");
		hb_buf_put(b, t, hb_time_format(c->last, t));
		hb_buf_putc(b, '"');
	}
	hb_buf_printf(b, ",\"v\":1,\"last\":%lld,\"run\":[%d,%lld,%lld,%lld,%lld]"
		      ",\"ep\":[%d,%lld,%lld,%lld,%lld,%lld,%lld],\"silent\":[%d,%lld]"
		      ",\"base\":[%.17g,%lld,%lld,%lld,%lld],\"fast\":[%.17g,%lld]"
		      ",\"dev\":[%d,%d,%lld,%lld,%.17g,%lld,%lld,%lld]}\n",
		      (long long)c->last, (int)c->run_type, (long long)c->run_n,
		      (long long)c->run_start, (long long)c->run_peak, (long long)c->run_peak_at,
		      (int)c->ep_type, (long long)c->ep_start, (long long)c->ep_last,
		      (long long)c->ep_peak, (long long)c->ep_peak_at, (long long)c->ep_readings,
		      (long long)c->ep_back, c->silent, (long long)c->silent_at,
		      c->base, (long long)c->base_ts, (long long)c->warm, (long long)c->base_n, (long long)c->away,
		      c->fast, (long long)c->fast_ts,
		      c->dev_dir, c->dev_open, (long long)c->dev_since, (long long)c->dev_at,
		      c->dev_peak, (long long)c->dev_peak_at, (long long)c->dev_back,
		      (long long)c->dev_last);
	c->dirty = 0;
	c->state_ts = c->last;
}

/* ---- marks ---- */

int hb_alerts_mark_parse(const char *line, size_t n, enum hb_alert_mark *kind, const char **topic,
			 size_t *tn, int32_t *partition, int64_t *at_us)
{
	static const char pre[] = "{\"_hb_mark\":\"";
	const char *s = line + sizeof pre - 1, *e = line + n, *q;
	char err[64];
	long long v;

	if (n < sizeof pre - 1 || memcmp(line, pre, sizeof pre - 1) != 0)
		return 0;
	if (e - s > 10 && memcmp(s, "assigned\",", 10) == 0)
		*kind = HB_AMARK_ASSIGNED, s += 10;
	else if (e - s > 9 && memcmp(s, "revoked\",", 9) == 0)
		*kind = HB_AMARK_REVOKED, s += 9;
	else if (e - s > 11 && memcmp(s, "caught_up\",", 11) == 0)
		*kind = HB_AMARK_CAUGHT_UP, s += 11;
	else
		return 0;
	if (e - s < 10 || memcmp(s, "\"topic\":\"", 9) != 0)
		return 0;
	s += 9;
	if (!(q = memchr(s, '"', (size_t)(e - s))) || q - s > MAX_TOPIC)
		return 0;
	*topic = s;
	*tn = (size_t)(q - s);
	for (const char *t = s; t < q; t++)
		if (*t == '\\')
			return 0;
	s = q + 1;
	if (e - s < 14 || memcmp(s, ",\"partition\":", 13) != 0)
		return 0;
	s += 13;
	if (s >= e || *s < '0' || *s > '9')
		return 0;
	for (v = 0; s < e && *s >= '0' && *s <= '9'; s++)	/* the line has no NUL */
		if ((v = v * 10 + (*s - '0')) > INT32_MAX)
			return 0;
	if (s >= e)
		return 0;
	*partition = (int32_t)v;
	*at_us = 0;
	if (*kind == HB_AMARK_CAUGHT_UP) {
		if (e - s < 8 || memcmp(s, ",\"at\":\"", 7) != 0 || !(q = memchr(s + 7, '"', (size_t)(e - s - 7))))
			return 0;
		if (hb_time_parse(s + 7, (size_t)(q - s - 7), at_us, err, sizeof err) < 0)
			return 0;
		s = q + 1;
	}
	return e - s == 1 && *s == '}';
}

/* ---- stored state ---- */

static int64_t jint(json_object *arr, size_t i)
{
	json_object *v = json_object_array_get_idx(arr, i);

	return v ? json_object_get_int64(v) : 0;
}

static double jdbl(json_object *arr, size_t i)
{
	json_object *v = json_object_array_get_idx(arr, i);

	return v ? json_object_get_double(v) : 0;
}

static json_object *jarr(json_object *o, const char *key, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) < len)
		return NULL;
	return v;
}

static enum hb_status jstatus(int64_t v)
{
	return v == HB_BRADYCARDIA || v == HB_TACHYCARDIA ? (enum hb_status)v : HB_NORMAL;
}

int hb_alerts_load(struct hb_alerts *a, const char *json, size_t n, int64_t last_ts_us,
		   char *err, size_t errsz)
{
	json_object *o = NULL, *v, *run, *ep, *sil, *base, *fast, *dev;
	const char *cid;
	size_t cn;
	int32_t part = -1;
	int pi, rc = -1;
	struct cust *c;

	{
		/* the same strict reading as every line: validate, then json-c */
		json_tokener *tok = json_tokener_new_ex(HB_JSON_MAX_DEPTH + 1);
		const char *jerr;
		size_t col;

		if (tok && hb_json_parse(tok, json, n, HB_JSON_MAX_DEPTH, NULL, &o, &col, &jerr) < 0)
			o = NULL;
		if (tok)
			json_tokener_free(tok);
	}
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "stored alert state is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "customer_id", &v) || !json_object_is_type(v, json_type_string) ||
	    !hb_cid_valid(cid = json_object_get_string(v), cn = (size_t)json_object_get_string_len(v))) {
		snprintf(err, errsz, "stored alert state has no valid customer_id");
		goto out;
	}
	if (!(run = jarr(o, "run", 5)) || !(ep = jarr(o, "ep", 7)) || !(sil = jarr(o, "silent", 2)) ||
	    !(base = jarr(o, "base", 5)) || !(fast = jarr(o, "fast", 2)) || !(dev = jarr(o, "dev", 8))) {
		snprintf(err, errsz, "stored alert state of %.*s: not version 1", (int)cn, cid);
		goto out;
	}
	if (json_object_object_get_ex(o, "partition", &v) && json_object_is_type(v, json_type_int))
		part = (int32_t)json_object_get_int(v);
	if ((pi = hb_alert_part(a, part >= 0, part)) < 0 || !(c = hb_alert_customer(a, cid, cn, pi))) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if (json_object_object_get_ex(o, "offset", &v) && json_object_is_type(v, json_type_int) &&
	    c->part == pi && c->offset >= 0 && c->offset >= json_object_get_int64(v)) {
		rc = 0;	/* held here already, as new as the stored one or newer */
		goto out;
	}
	a->open -= (size_t)hb_alert_open_count(c);
	hb_alert_cust_reset(c);
	c->part = pi;
	if (json_object_object_get_ex(o, "offset", &v) && json_object_is_type(v, json_type_int))
		c->offset = json_object_get_int64(v);
	c->last = json_object_object_get_ex(o, "last", &v) ? json_object_get_int64(v) : NONE;
	if (last_ts_us != NONE && (c->last == NONE || last_ts_us > c->last))
		c->last = last_ts_us;
	c->run_type = jstatus(jint(run, 0));
	c->run_n = jint(run, 1);
	c->run_start = jint(run, 2);
	c->run_peak = jint(run, 3);
	c->run_peak_at = jint(run, 4);
	c->ep_type = jstatus(jint(ep, 0));
	c->ep_start = jint(ep, 1);
	c->ep_last = jint(ep, 2);
	c->ep_peak = jint(ep, 3);
	c->ep_peak_at = jint(ep, 4);
	c->ep_readings = jint(ep, 5);
	c->ep_back = jint(ep, 6);
	c->silent = jint(sil, 0) != 0;
	c->silent_at = jint(sil, 1);
	c->base = jdbl(base, 0);
	c->base_ts = jint(base, 1);
	c->warm = jint(base, 2);
	c->base_n = jint(base, 3);
	c->away = jint(base, 4);
	c->fast = jdbl(fast, 0);
	c->fast_ts = jint(fast, 1);
	c->dev_dir = (int)jint(dev, 0);
	c->dev_open = jint(dev, 1) != 0;
	c->dev_since = jint(dev, 2);
	c->dev_at = jint(dev, 3);
	c->dev_peak = jdbl(dev, 4);
	c->dev_peak_at = jint(dev, 5);
	c->dev_back = jint(dev, 6);
	c->dev_last = jint(dev, 7);
	c->state_ts = c->last;
	a->open += (size_t)hb_alert_open_count(c);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int hb_alerts_finish(struct hb_alerts *a, struct hb_alert_out *out)
{
	if (!a->cfg.store || !out->states)
		return 0;
	for (size_t i = 0; i < a->ncs; i++)
		if (!a->cs[i].gone && a->cs[i].dirty)
			hb_alert_state_write(a, &a->cs[i], out->states);
	return hb_buf_oom(out->states) ? -1 : 0;
}

void hb_alerts_wrap(const struct hb_buf *lines, const char *key, struct hb_buf *out)
{
	const char *p = lines->p, *e = p + lines->len;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		hb_buf_puts(out, "{\"");
		hb_buf_puts(out, key);
		hb_buf_puts(out, "\":");
		hb_buf_put(out, p, n);
		hb_buf_puts(out, "}\n");
		p += n + 1;
	}
}

int hb_alerts_is_stored_line(const char *line, size_t n)
{
	static const char ev[] = "{\"_hb_alert\":{", st[] = "{\"_hb_state\":{";

	if (n < sizeof ev || line[n - 1] != '}' || line[n - 2] != '}')
		return 0;
	return memcmp(line, ev, sizeof ev - 1) == 0 || memcmp(line, st, sizeof st - 1) == 0;
}
