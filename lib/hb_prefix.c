/* hb_prefix — the settled prefix of a stream of numbered lines (see hb_prefix.h). */
#include "hb_prefix.h"

#include <stdlib.h>

enum { PENDING, SETTLED, FAILED };

struct hb_prefix {
	uint64_t mark_off, mark_line;
	int stuck;
	/* the lines read past the mark: a ring from the line after it */
	uint64_t *end;
	unsigned char *state;
	size_t cap, head, count;        /* head: the ring index of mark_line + 1 */
};

struct hb_prefix *hb_prefix_new(uint64_t offset, uint64_t lineno)
{
	struct hb_prefix *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->mark_off = offset;
	t->mark_line = lineno;
	t->cap = 1024;
	t->end = malloc(t->cap * sizeof *t->end);
	t->state = malloc(t->cap);
	if (!t->end || !t->state) {
		hb_prefix_free(t);
		return NULL;
	}
	return t;
}

void hb_prefix_free(struct hb_prefix *t)
{
	if (!t)
		return;
	free(t->end);
	free(t->state);
	free(t);
}

static int grow(struct hb_prefix *t)
{
	size_t cap = t->cap * 2;
	uint64_t *end = malloc(cap * sizeof *end);
	unsigned char *state = malloc(cap);

	if (!end || !state) {
		free(end);
		free(state);
		return -1;
	}
	for (size_t i = 0; i < t->count; i++) {
		end[i] = t->end[(t->head + i) % t->cap];
		state[i] = t->state[(t->head + i) % t->cap];
	}
	free(t->end);
	free(t->state);
	t->end = end;
	t->state = state;
	t->cap = cap;
	t->head = 0;
	return 0;
}

/* Move the mark over the settled lines at the ring's head. */
static void advance(struct hb_prefix *t)
{
	while (t->count > 0 && t->state[t->head] == SETTLED) {
		t->mark_off = t->end[t->head];
		t->mark_line++;
		t->head = (t->head + 1) % t->cap;
		t->count--;
	}
}

int hb_prefix_read(struct hb_prefix *t, uint64_t lineno, uint64_t end)
{
	size_t i;

	if (t->stuck)
		return 0;	/* the mark will not get there in this run */
	if (lineno != t->mark_line + 1 + t->count)
		return -2;
	if (t->count == t->cap && grow(t) < 0)
		return -1;
	i = (t->head + t->count++) % t->cap;
	t->end[i] = end;
	t->state[i] = PENDING;
	return 0;
}

/* The ring index of lineno, or -1 when it is not in the ring. */
static long slot_of(const struct hb_prefix *t, uint64_t lineno)
{
	if (lineno <= t->mark_line || lineno > t->mark_line + t->count)
		return -1;
	return (long)((t->head + (lineno - t->mark_line - 1)) % t->cap);
}

void hb_prefix_settled(struct hb_prefix *t, uint64_t lineno)
{
	long i = slot_of(t, lineno);

	if (i < 0 || t->state[i] == FAILED)
		return;
	t->state[i] = SETTLED;
	advance(t);
}

void hb_prefix_failed(struct hb_prefix *t, uint64_t lineno)
{
	long i = slot_of(t, lineno);

	t->stuck = 1;
	if (i >= 0)
		t->state[i] = FAILED;
}

int hb_prefix_stuck(const struct hb_prefix *t)
{
	return t->stuck;
}

void hb_prefix_mark(const struct hb_prefix *t, uint64_t *offset, uint64_t *lineno)
{
	*offset = t->mark_off;
	*lineno = t->mark_line;
}

uint64_t hb_prefix_pending(const struct hb_prefix *t)
{
	return t->count;
}
