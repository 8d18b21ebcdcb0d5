/* hb_ctl — the control lines inside the pipeline (_hb_alert, _hb_state,
 * _hb_mark): recognised by exact prefix, checked before hbpgload stores
 * them (see hb_ctl.h). */
#include "hb_ctl.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_event.h"
#include "hb_json.h"
#include "hb_time.h"

static const struct {
	const char *prefix;
	const char *key;
	enum hb_ctl kind;
} prefixes[] = {
	{"{\"_hb_alert\":", "_hb_alert", HB_CTL_ALERT},
	{"{\"_hb_state\":", "_hb_state", HB_CTL_STATE},
	{"{\"_hb_mark\":", "_hb_mark", HB_CTL_MARK},
};

enum hb_ctl hb_ctl_kind(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t k = strlen(prefixes[i].prefix);

		if (n >= k && memcmp(s, prefixes[i].prefix, k) == 0)
			return prefixes[i].kind;
	}
	return HB_CTL_NONE;
}

int hb_ctl_cut(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t k = strlen(prefixes[i].prefix);

		if (memcmp(s, prefixes[i].prefix, n < k ? n : k) == 0)
			return 1;
	}
	return 0;
}

static const char *key_of(enum hb_ctl k)
{
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (prefixes[i].kind == k)
			return prefixes[i].key;
	return "?";
}

/* A customer_id as readings have it: a sound string, or a non-negative integer. */
static int cid_ok(json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return hb_cid_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v));
	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
}

/* Member key of o is an RFC 3339 time (required), or absent/null (optional). */
static int time_ok(json_object *o, const char *key, int required)
{
	json_object *v;
	int64_t us;
	char e[80];

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return !required;
	return json_object_is_type(v, json_type_string) &&
	       hb_time_parse(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			     &us, e, sizeof e) == 0;
}

/* Member key of o is an integer in [lo, hi], or absent/null. */
static int int_ok(json_object *o, const char *key, int64_t lo, int64_t hi)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 1;
	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= lo &&
	       json_object_get_int64(v) <= hi;
}

static int check_alert(json_object *o, char *why, size_t whysz)
{
	json_object *v;
	const char *state;

	if (!json_object_object_get_ex(o, "alert", &v) || !json_object_is_type(v, json_type_string) ||
	    !hb_cid_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
		snprintf(why, whysz, "_hb_alert: \"alert\" missing or not a type name");
		return -1;
	}
	if (!json_object_object_get_ex(o, "state", &v) || !json_object_is_type(v, json_type_string) ||
	    (strcmp(json_object_get_string(v), "open") != 0 &&
	     strcmp(json_object_get_string(v), "close") != 0)) {
		snprintf(why, whysz, "_hb_alert: \"state\" must be \"open\" or \"close\"");
		return -1;
	}
	state = json_object_get_string(v);
	if (!json_object_object_get_ex(o, "customer_id", &v) || !cid_ok(v)) {
		snprintf(why, whysz, "_hb_alert: \"customer_id\" missing or invalid");
		return -1;
	}
	if (!time_ok(o, "start", 1)) {
		snprintf(why, whysz, "_hb_alert: \"start\" missing or not an RFC 3339 time");
		return -1;
	}
	if (!time_ok(o, "end", strcmp(state, "close") == 0)) {
		snprintf(why, whysz, "_hb_alert: \"end\" %s", strcmp(state, "close") == 0 ?
			 "missing or not an RFC 3339 time (a close needs one)" : "not an RFC 3339 time");
		return -1;
	}
	if (!time_ok(o, "at", 0) || !time_ok(o, "peak_at", 0)) {
		snprintf(why, whysz, "_hb_alert: \"at\" or \"peak_at\" not an RFC 3339 time");
		return -1;
	}
	if (!int_ok(o, "peak_bpm", INT32_MIN, INT32_MAX) || !int_ok(o, "readings", 0, INT32_MAX)) {
		snprintf(why, whysz, "_hb_alert: \"peak_bpm\" or \"readings\" not an integer in range");
		return -1;
	}
	return 0;
}

static int check_state(json_object *o, char *why, size_t whysz)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "customer_id", &v) || !cid_ok(v)) {
		snprintf(why, whysz, "_hb_state: \"customer_id\" missing or invalid");
		return -1;
	}
	if (json_object_object_get_ex(o, "topic", &v) && v && !json_object_is_type(v, json_type_string)) {
		snprintf(why, whysz, "_hb_state: \"topic\" must be a string or null");
		return -1;
	}
	if (!int_ok(o, "partition", 0, INT32_MAX) || !int_ok(o, "offset", INT64_MIN, INT64_MAX)) {
		snprintf(why, whysz, "_hb_state: \"partition\" or \"offset\" must be an integer or null");
		return -1;
	}
	return 0;
}

/* Where the value of the one member starts: past the key, blanks and ':'. */
static const char *value_start(const char *p, const char *end)
{
	p++;				/* the key's opening quote */
	while (p < end && *p != '"')
		p++;			/* our keys have no escapes */
	for (p++; p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':'); p++)
		;
	return p;
}

int hb_ctl_check(enum hb_ctl k, const char *s, size_t n, size_t *off, size_t *len,
		 char *why, size_t whysz)
{
	struct hb_jspans *sp = calloc(1, sizeof *sp);
	const char *err, *key = key_of(k), *v;
	json_tokener *tok = json_tokener_new_ex(HB_JSON_MAX_DEPTH + 1);
	json_object *line = NULL, *o = NULL;
	size_t col;
	int rc = -1;

	if (!sp || !tok) {
		snprintf(why, whysz, "out of memory");
		goto out;
	}
	if (hb_json_parse(tok, s, n, HB_JSON_MAX_DEPTH, sp, &line, &col, &err) < 0) {
		snprintf(why, whysz, "%s: not valid JSON at column %zu: %s", key, col, err);
		goto out;
	}
	if (sp->n != 1 || sp->oom) {
		snprintf(why, whysz, "%s: the line must hold that one member only", key);
		goto out;
	}
	v = value_start(sp->m[0].start, sp->m[0].end);
	if (v >= sp->m[0].end || *v != '{') {
		snprintf(why, whysz, "%s: the value must be a JSON object", key);
		goto out;
	}
	*off = (size_t)(v - s);
	*len = (size_t)(sp->m[0].end - v);
	if (!json_object_object_get_ex(line, key, &o) || !json_object_is_type(o, json_type_object))
		snprintf(why, whysz, "%s: the value must be a JSON object", key);
	else
		rc = k == HB_CTL_ALERT ? check_alert(o, why, whysz) : check_state(o, why, whysz);
out:
	json_object_put(line);
	if (tok)
		json_tokener_free(tok);
	if (sp)
		hb_jspans_release(sp);
	free(sp);
	return rc;
}
