/* hb_buf — a growable byte buffer used to build output lines and COPY data. */
#ifndef HB_BUF_H
#define HB_BUF_H

#include <stddef.h>
#include <string.h>

/*
 * A buffer is a plain value: zero-initialise it (struct hb_buf b = {0}),
 * append to it, and hb_buf_release() it.  Allocation failure does not
 * abort: the buffer becomes "oom" (sticky), further appends are ignored,
 * and the caller checks hb_buf_oom() once per unit of work.
 */
struct hb_buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

/* Make room for extra more bytes.  Returns 0, or -1 (and sets oom). */
int hb_buf_reserve(struct hb_buf *b, size_t extra);
/* Free the storage; the buffer is empty and usable again afterwards. */
void hb_buf_release(struct hb_buf *b);
/* Append printf-style text.  Returns 0 or -1 (oom). */
int hb_buf_printf(struct hb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append the decimal form of v. */
void hb_buf_put_i64(struct hb_buf *b, long long v);

static inline void hb_buf_put(struct hb_buf *b, const void *s, size_t n)
{
	if (b->cap - b->len < n && hb_buf_reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void hb_buf_putc(struct hb_buf *b, char c)
{
	if (b->cap == b->len && hb_buf_reserve(b, 1) < 0)
		return;
	b->p[b->len++] = c;
}

static inline void hb_buf_puts(struct hb_buf *b, const char *s)
{
	hb_buf_put(b, s, strlen(s));
}

static inline void hb_buf_reset(struct hb_buf *b)
{
	b->len = 0;
}

static inline int hb_buf_oom(const struct hb_buf *b)
{
	return b->oom;
}

#endif
