/* json_diff.h — hb_json_validate against json-c's strict parser, for
 * tests/fuzz/fuzz_json_diff.c and tests/unit/test_json_diff.c.
 *
 * Both must agree on whether a text is one valid JSON value, except where
 * they differ by design; each such case is recognised precisely (by hb's own
 * error message, or by a property of the input) and checked on its own:
 *
 *  1. NUL bytes: json-c stops at a NUL as the end of its input; hb refuses
 *     any NUL (a raw control character, or an unexpected byte).  An input
 *     holding a NUL must be refused by hb; json-c is not asked.
 *  2. Depth: hb refuses nesting past its max_depth ("nested too deep");
 *     json-c is given a far larger limit, and must accept what hb refused
 *     only for that reason... or refuse it for another reason found inside.
 *     So: hb says "nested too deep" => the input nests deeper than
 *     JD_DEPTH (counted here), and json-c is not compared.
 *  3. Lone surrogates: json-c turns a \uD800-\uDFFF escape that is not a
 *     pair into U+FFFD and accepts; hb refuses it ("lone surrogate in \u
 *     escape", as RFC 8259 allows and I-JSON requires).  When hb says so,
 *     json-c's answer is not compared.
 *  4. Whitespace: json-c (even strict) skips any isspace() byte between
 *     tokens, \v and \f too; hb takes only RFC 8259's space, tab, LF, CR.
 *     When the input holds \v or \f outside strings and hb refuses, json-c
 *     is not compared.
 *  5. NaN and Infinity: json-c 0.16 takes NaN, Infinity and -Infinity as
 *     numbers even in strict mode; JSON has no such values and hb refuses
 *     them.  When the input holds one of those words outside strings and hb
 *     refuses, json-c is not compared.
 *  6. Control characters in strings: json-c 0.16 takes a raw tab, newline
 *     or other byte below 0x20 inside a string even in strict mode; RFC 8259
 *     wants them escaped and hb refuses them ("unescaped control character
 *     in string").  When hb says so, json-c's answer is not compared.
 *  7. UTF-8: json-c's check (JSON_TOKENER_VALIDATE_UTF8) counts continuation
 *     bytes only; it takes overlong forms (C0 AF), encoded surrogates
 *     (ED A0 80) and code points above U+10FFFF (F4 90 80 80), which RFC 3629
 *     forbids and hb refuses ("invalid UTF-8").  When hb says so, json-c's
 *     answer is not compared.
 *  8. Numbers: json-c strict takes a leading zero ("00", "-01") and a point
 *     without a digit after it ("1.", "2.e3"); RFC 8259's grammar does not,
 *     nor does hb.  When the input holds such a number outside strings and
 *     hb refuses, json-c is not compared.
 *  9. Single quotes: json-c strict takes 'text' as a string; hb refuses.
 *     When the input holds a ' outside strings and hb refuses, json-c is
 *     not compared.
 *
 * Anything else on which they disagree is a failure, named with the input.
 */
#ifndef JSON_DIFF_H
#define JSON_DIFF_H

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_json.h"

#define JD_DEPTH 64

/* How deep the input nests, brackets inside strings not counted. */
static int jd_nesting(const char *s, size_t n)
{
	int d = 0, max = 0, in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++d > max)
				max = d;
		} else if (c == ']' || c == '}') {
			d--;
		}
	}
	return max;
}

/* The word w outside strings. */
static int jd_has_word(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"') {
			in_str = 1;
		} else if (n - i >= k && memcmp(s + i, w, k) == 0) {
			return 1;
		}
	}
	return 0;
}

/* A number outside strings with a leading zero, or a '.' without a digit after. */
static int jd_lax_number(const char *s, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c >= '0' && c <= '9' && (i == 0 || !(s[i - 1] >= '0' && s[i - 1] <= '9'))) {
			if (c == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
				return 1;
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			if (i < n && s[i] == '.' && (i + 1 == n || !(s[i + 1] >= '0' && s[i + 1] <= '9')))
				return 1;
			i--;
		}
	}
	return 0;
}

/* \v or \f outside strings. */
static int jd_odd_space(const char *s, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"') {
			in_str = 1;
		} else if (s[i] == '\v' || s[i] == '\f') {
			return 1;
		}
	}
	return 0;
}

/* json-c's verdict: 1 when s[0..n) is exactly one JSON value (surrounding
 * whitespace allowed), parsed strictly with UTF-8 checked. */
static int jd_jsonc_valid(const char *s, size_t n)
{
	json_tokener *tok = json_tokener_new_ex(JD_DEPTH * 4);
	char *buf = malloc(n + 1);
	json_object *o;
	enum json_tokener_error e;
	size_t end;
	int ok;

	if (!tok || !buf)
		abort();
	memcpy(buf, s, n);
	buf[n] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* the NUL after the text ends a number or literal at the end */
	o = json_tokener_parse_ex(tok, buf, (int)n + 1);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	ok = e == json_tokener_success && end >= n;
	json_object_put(o);
	json_tokener_free(tok);
	free(buf);
	return ok;
}

/*
 * Compare the two on s[0..n).  Returns 0 when they agree (or differ only as
 * documented above), else -1 with a description in why.
 */
static int json_diff(const char *s, size_t n, char *why, size_t whysz)
{
	size_t col = 0;
	const char *msg = NULL;
	int hb = hb_json_validate(s, n, JD_DEPTH, NULL, &col, &msg) == 0, jc;

	if (memchr(s, '\0', n)) {
		if (hb) {
			snprintf(why, whysz, "hb accepts a text with a NUL byte");
			return -1;
		}
		return 0;
	}
	if (!hb && strcmp(msg, "nested too deep") == 0) {
		if (jd_nesting(s, n) <= JD_DEPTH) {
			snprintf(why, whysz, "hb says nested too deep at column %zu, nesting is %d", col,
				 jd_nesting(s, n));
			return -1;
		}
		return 0;
	}
	if (!hb && (strcmp(msg, "lone surrogate in \\u escape") == 0 ||
		    strcmp(msg, "unescaped control character in string") == 0 ||
		    strcmp(msg, "invalid UTF-8") == 0))
		return 0;
	jc = jd_jsonc_valid(s, n);
	if (!hb && jc && jd_odd_space(s, n))
		return 0;
	if (!hb && jc && (jd_has_word(s, n, "NaN") || jd_has_word(s, n, "Infinity")))
		return 0;
	if (!hb && jc && (jd_lax_number(s, n) || jd_has_word(s, n, "'")))
		return 0;
	if (hb != jc) {
		if (hb)
			snprintf(why, whysz, "hb accepts, json-c refuses");
		else
			snprintf(why, whysz, "json-c accepts, hb refuses: %s at column %zu", msg, col);
		return -1;
	}
	return 0;
}

#endif
