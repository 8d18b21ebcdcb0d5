/* hb_ack — parse "PARTITION OFFSET" acknowledgements and keep what is still awaited. */
#include "hb_ack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 64   /* "1023 9223372036854775807" fits with room to spare */

struct hb_acks {
	int64_t first[HB_ACK_MAX_PARTS];   /* lowest offset written since the last forget, -1 */
	int64_t written[HB_ACK_MAX_PARTS]; /* highest offset written, -1 */
	int64_t acked[HB_ACK_MAX_PARTS];   /* highest offset acknowledged, -1 */
	char line[LINE_MAX_LEN];
	size_t len;
	int overlong;                      /* the line being read is too long: skip to its end */
	uint64_t count, bad, stale;
	char last_bad[LINE_MAX_LEN];
};

struct hb_acks *hb_acks_new(void)
{
	struct hb_acks *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	for (int i = 0; i < HB_ACK_MAX_PARTS; i++)
		a->first[i] = a->written[i] = a->acked[i] = -1;
	return a;
}

void hb_acks_free(struct hb_acks *a)
{
	free(a);
}

static int in_range(int32_t p)
{
	return p >= 0 && p < HB_ACK_MAX_PARTS;
}

void hb_acks_written(struct hb_acks *a, int32_t p, int64_t o)
{
	if (!in_range(p) || o < 0)
		return;
	if (a->first[p] < 0 || o < a->first[p])
		a->first[p] = o;
	if (o > a->written[p])
		a->written[p] = o;
}

/* Messages written and not acknowledged in partition i (in range). */
static int64_t awaited(const struct hb_acks *a, int i)
{
	int64_t done = a->acked[i] > a->first[i] - 1 ? a->acked[i] : a->first[i] - 1;

	return a->written[i] >= 0 && a->written[i] > done ? a->written[i] - done : 0;
}

int64_t hb_acks_forget(struct hb_acks *a, int32_t p)
{
	int64_t n;

	if (!in_range(p))
		return 0;
	n = awaited(a, p);
	a->first[p] = a->written[p] = a->acked[p] = -1;
	return n;
}

/* A whole decimal number, no sign, no blanks: its value, or -1. */
static int64_t number(const char *s, size_t n)
{
	int64_t v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void bad_line(struct hb_acks *a, const char *s, size_t n)
{
	a->bad++;
	if (n >= sizeof a->last_bad)
		n = sizeof a->last_bad - 1;
	memcpy(a->last_bad, s, n);
	a->last_bad[n] = '\0';
}

/* One line, without its newline.  Returns 1 when passed to fn. */
static int take(struct hb_acks *a, const char *s, size_t n, hb_ack_fn fn, void *arg)
{
	const char *sp = memchr(s, ' ', n);
	int64_t p, o;

	/* the range is checked on the 64-bit value: a cast first would wrap 2^32 to 0 */
	if (!sp || (p = number(s, (size_t)(sp - s))) < 0 || p >= HB_ACK_MAX_PARTS ||
	    (o = number(sp + 1, n - (size_t)(sp + 1 - s))) < 0) {
		bad_line(a, s, n);
		return 0;
	}
	if (o <= a->acked[p]) {
		a->stale++;
		return 0;
	}
	a->acked[p] = o;
	a->count++;
	if (fn)
		fn(arg, (int32_t)p, o);
	return 1;
}

size_t hb_acks_feed(struct hb_acks *a, const char *data, size_t n, hb_ack_fn fn, void *arg)
{
	size_t taken = 0;

	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t k = nl ? (size_t)(nl - data) : n;

		if (!a->overlong && a->len + k <= sizeof a->line) {
			memcpy(a->line + a->len, data, k);
			a->len += k;
		} else if (!a->overlong) {
			a->overlong = 1;
			bad_line(a, a->line, a->len);
		}
		if (nl) {
			if (!a->overlong)
				taken += (size_t)take(a, a->line, a->len, fn, arg);
			a->len = 0;
			a->overlong = 0;
			k++;
		}
		data += k;
		n -= k;
	}
	return taken;
}

int64_t hb_acks_outstanding(const struct hb_acks *a, int *nparts)
{
	int64_t total = 0;
	int np = 0;

	for (int i = 0; i < HB_ACK_MAX_PARTS; i++) {
		int64_t n = awaited(a, i);

		total += n;
		np += n > 0;
	}
	if (nparts)
		*nparts = np;
	return total;
}

uint64_t hb_acks_count(const struct hb_acks *a)
{
	return a->count;
}

uint64_t hb_acks_bad(const struct hb_acks *a)
{
	return a->bad;
}

uint64_t hb_acks_stale(const struct hb_acks *a)
{
	return a->stale;
}

const char *hb_acks_last_bad(const struct hb_acks *a)
{
	return a->last_bad;
}

/* ---- the writing side ---- */

int hb_ack_format(char *buf, size_t n, int32_t p, int64_t o)
{
	int k;

	if (p < 0 || o < 0)
		return -1;
	k = snprintf(buf, n, "%d %lld\n", p, (long long)o);
	return k > 0 && (size_t)k < n ? k : -1;
}

void hb_ack_out_init(struct hb_ack_out *w, const char *path)
{
	*w = (struct hb_ack_out){ .path = path, .fd = -1 };
}

int hb_ack_out_open(struct hb_ack_out *w)
{
	if (w->fd >= 0)
		return 0;
	/* O_APPEND: a plain file keeps the lines of earlier runs and reopens */
	w->fd = open(w->path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	return w->fd >= 0 ? 0 : -1;
}

int hb_ack_out_send(struct hb_ack_out *w, int32_t p, int64_t o)
{
	char line[LINE_MAX_LEN];
	int k = hb_ack_format(line, sizeof line, p, o), e;
	ssize_t wr;
	size_t done = 0;

	if (k < 0 || w->fd < 0) {
		errno = k < 0 ? EINVAL : EBADF;
		return -1;
	}
	/*
	 * A pipe takes a line this short (< PIPE_BUF) whole or not at all; a
	 * plain file may take part of it (a full disk): the rest is written
	 * then, or the error returned, never a torn line left for later.
	 */
	while ((wr = write(w->fd, line + done, (size_t)k - done)) > 0 && (done += (size_t)wr) < (size_t)k)
		;
	if (done == (size_t)k) {
		w->sent++;
		return 0;
	}
	if (wr == 0)
		errno = ENOSPC;
	if (done == 0 && errno == EAGAIN) {	/* the reader lags: the next acknowledgement covers this one */
		w->lagged++;
		return 0;
	}
	e = errno;
	hb_ack_out_close(w);	/* the reader is gone (EPIPE): open again next time */
	errno = e;
	return -1;
}

void hb_ack_out_close(struct hb_ack_out *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
