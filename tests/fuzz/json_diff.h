/* json_diff.h — hb_json_validate against json-c's strict parser, for
 * tests/fuzz/fuzz_json_diff.c (run over every corpus by tests/run, and
 * fuzzed by make fuzz).
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
 *  8. Numbers: json-c strict takes a leading zero ("00", "-01"), a point
 *     without a digit after it ("1.", "2.e3") and a minus with no digit
 *     before the point ("-.5", found by the fuzzer); RFC 8259's grammar does not,
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

/* A copy of s[0..n) with every string's inside blanked to 'x' (its quotes
 * kept), so the checks below see only what is outside strings. */
static char *jd_outside(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	int in_str = 0;

	if (!o)
		abort();
	for (size_t i = 0; i < n; i++) {
		o[i] = in_str && s[i] != '"' ? 'x' : s[i];
		if (in_str && s[i] == '\\' && i + 1 < n)
			o[++i] = 'x';
		else if (s[i] == '"')
			in_str = !in_str;
	}
	o[n] = '\0';
	return o;
}

/* How deep the text (outside strings) nests. */
static int jd_nesting(const char *o, size_t n)
{
	int d = 0, max = 0;

	for (size_t i = 0; i < n; i++) {
		if (o[i] == '[' || o[i] == '{')
			max = ++d > max ? d : max;
		else if (o[i] == ']' || o[i] == '}')
			d--;
	}
	return max;
}

/* The word w in the text outside strings. */
static int jd_has_word(const char *o, size_t n, const char *w)
{
	size_t k = strlen(w);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(o + i, w, k) == 0)
			return 1;
	return 0;
}

static int jd_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number outside strings with a leading zero, a '.' without a digit after,
 * or "-." (no digit before the point). */
static int jd_lax_number(const char *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o[i] == '-' && i + 1 < n && o[i + 1] == '.')
			return 1;
		if (!jd_digit(o[i]) || (i > 0 && jd_digit(o[i - 1])))
			continue;
		if (o[i] == '0' && i + 1 < n && jd_digit(o[i + 1]))
			return 1;
		while (i + 1 < n && jd_digit(o[i + 1]))
			i++;
		if (i + 1 < n && o[i + 1] == '.' && (i + 2 == n || !jd_digit(o[i + 2])))
			return 1;
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
	int hb = hb_json_validate(s, n, JD_DEPTH, NULL, &col, &msg) == 0, jc, rc = 0;
	char *o;

	if (memchr(s, '\0', n)) {
		if (hb) {
			snprintf(why, whysz, "hb accepts a text with a NUL byte");
			return -1;
		}
		return 0;
	}
	if (!hb && (strcmp(msg, "lone surrogate in \\u escape") == 0 ||
		    strcmp(msg, "unescaped control character in string") == 0 ||
		    strcmp(msg, "invalid UTF-8") == 0))
		return 0;
	o = jd_outside(s, n);
	if (!hb && strcmp(msg, "nested too deep") == 0) {
		if (jd_nesting(o, n) <= JD_DEPTH) {
			snprintf(why, whysz, "hb says nested too deep at column %zu, nesting is %d", col,
				 jd_nesting(o, n));
			rc = -1;
		}
		free(o);
		return rc;
	}
	jc = jd_jsonc_valid(s, n);
	if (!hb && jc &&
	    (jd_has_word(o, n, "\v") || jd_has_word(o, n, "\f") || jd_has_word(o, n, "NaN") ||
	     jd_has_word(o, n, "Infinity") || jd_has_word(o, n, "'") || jd_lax_number(o, n))) {
		free(o);
		return 0;
	}
	free(o);
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
