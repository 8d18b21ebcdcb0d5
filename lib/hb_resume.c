/* hb_resume — how far into a file a publisher has got, kept across crashes (see hb_resume.h). */
#include "hb_resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "hbkafka-pub-resume 1"

enum { PENDING, SETTLED, FAILED };

struct hb_resume {
	char *path, *tmp, *name, *topic;
	int fd;                 /* the file published (pread only) */
	int lock_fd;            /* path.lock, flock'd: one publisher per state */
	uint64_t mark_off, mark_line;   /* settled up to here */
	uint64_t saved_off, saved_line; /* what the state file says */
	int64_t saved_at;
	int stuck;
	/* the lines read past the mark: a ring from base (= mark_line + 1) */
	uint64_t *end;
	unsigned char *state;
	size_t cap, head, count;        /* head: the ring index of base */
};

uint64_t hb_fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV-1a 64 of the file's bytes [from, from + n); -1 if they cannot all be read. */
static int hash_range(int fd, uint64_t from, size_t n, uint64_t *h)
{
	char buf[HB_RESUME_CHECK_BYTES];
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, (off_t)(from + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	*h = hb_fnv1a64(HB_FNV_INIT, buf, n);
	return 0;
}

/* The head and tail checks of offset off: the first and last (up to) 4 KiB before it. */
static int checks_at(int fd, uint64_t off, size_t *len, uint64_t *head, uint64_t *tail)
{
	*len = off < HB_RESUME_CHECK_BYTES ? (size_t)off : HB_RESUME_CHECK_BYTES;
	if (hash_range(fd, 0, *len, head) < 0)
		return -1;
	return hash_range(fd, off - *len, *len, tail);
}

static char *dup_cat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);

	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

void hb_resume_free(struct hb_resume *t)
{
	if (!t)
		return;
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	free(t->path);
	free(t->tmp);
	free(t->name);
	free(t->topic);
	free(t->end);
	free(t->state);
	free(t);
}

static struct hb_resume *fail(struct hb_resume *t, enum hb_resume_rc why, enum hb_resume_rc *rc)
{
	hb_resume_free(t);
	*rc = why;
	return NULL;
}

/* Only one publisher may go on from a state: an exclusive lock on path.lock for the run. */
static enum hb_resume_rc take_lock(struct hb_resume *t, char *err, size_t errsz)
{
	char *lock = dup_cat(t->path, ".lock");

	if (!lock)
		return HB_RESUME_NOMEM;
	t->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (t->lock_fd < 0) {
		snprintf(err, errsz, "%s: %s", lock, strerror(errno));
		free(lock);
		return HB_RESUME_IOERR;
	}
	if (flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK)
			snprintf(err, errsz, "%s is in use by another publisher (%s is locked)", t->path, lock);
		else
			snprintf(err, errsz, "%s: %s", lock, strerror(e));
		free(lock);
		return e == EWOULDBLOCK ? HB_RESUME_BUSY : HB_RESUME_IOERR;
	}
	free(lock);
	return HB_RESUME_OK;
}

struct state {
	char topic[256];
	uint64_t offset, line, head, tail;
	size_t head_len, tail_len;
	char file[1024];
};

/* Parse a state file's text; 0, or -1 with the line number at fault in *bad. */
static int parse_state(char *text, struct state *s, int *bad)
{
	int have = 0, no = 0;
	char *save = NULL;

	memset(s, 0, sizeof *s);
	for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char key[16];
		int used = 0;

		*bad = ++no;
		if (no == 1) {
			if (strcmp(ln, MAGIC) != 0)
				return -1;
			continue;
		}
		if (sscanf(ln, "%15s %n", key, &used) != 1)
			return -1;
		ln += used;
		if (strcmp(key, "topic") == 0 && strlen(ln) < sizeof s->topic) {
			strcpy(s->topic, ln);
			have |= 1;
		} else if (strcmp(key, "offset") == 0 && sscanf(ln, "%" SCNu64, &s->offset) == 1) {
			have |= 2;
		} else if (strcmp(key, "line") == 0 && sscanf(ln, "%" SCNu64, &s->line) == 1) {
			have |= 4;
		} else if (strcmp(key, "head") == 0 &&
			   sscanf(ln, "%zu %" SCNx64, &s->head_len, &s->head) == 2) {
			have |= 8;
		} else if (strcmp(key, "tail") == 0 &&
			   sscanf(ln, "%zu %" SCNx64, &s->tail_len, &s->tail) == 2) {
			have |= 16;
		} else if (strcmp(key, "file") == 0) {
			snprintf(s->file, sizeof s->file, "%s", ln);
		} else {
			return -1;
		}
	}
	*bad = no + 1;
	return have == 31 ? 0 : -1;
}

/* Read the state in t->path into s: 1 read, 0 there is none, or an error. */
static int read_state(struct hb_resume *t, struct state *s, enum hb_resume_rc *rc, char *err, size_t errsz)
{
	char text[4096];
	size_t n = 0;
	int fd = open(t->path, O_RDONLY | O_CLOEXEC), bad = 0;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", t->path, strerror(errno));
		*rc = HB_RESUME_IOERR;
		return -1;
	}
	for (;;) {
		ssize_t k = read(fd, text + n, sizeof text - 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errsz, "%s: %s", t->path, strerror(errno));
			close(fd);
			*rc = HB_RESUME_IOERR;
			return -1;
		}
		if (k == 0 || (n += (size_t)k) == sizeof text - 1)
			break;
	}
	close(fd);
	text[n] = '\0';
	if (n == sizeof text - 1 || memchr(text, '\0', n) || parse_state(text, s, &bad) < 0) {
		snprintf(err, errsz, "%s: line %d: not a state that hbkafka-pub --resume wrote "
			 "(remove it to publish from the start)", t->path, bad ? bad : 1);
		*rc = HB_RESUME_WRONG;
		return -1;
	}
	return 1;
}

/* Whether the file on t->fd is the one s records, to the offset it records. */
static int same_file(struct hb_resume *t, const struct state *s, enum hb_resume_rc *rc, char *err, size_t errsz)
{
	struct stat st;
	size_t len;
	uint64_t head, tail;

	*rc = HB_RESUME_WRONG;
	if (strcmp(s->topic, t->topic) != 0) {
		snprintf(err, errsz, "%s records publishing to topic %s, not %s (another topic "
			 "needs a state file of its own)", t->path, s->topic, t->topic);
		return 0;
	}
	if (fstat(t->fd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", t->name, strerror(errno));
		*rc = HB_RESUME_IOERR;
		return 0;
	}
	if ((uint64_t)st.st_size < s->offset) {
		snprintf(err, errsz, "%s has %lld bytes, fewer than the %" PRIu64 " that %s records "
			 "as published from %s: not the same file (remove %s to publish it from "
			 "its start)", t->name, (long long)st.st_size, s->offset, t->path, s->file,
			 t->path);
		return 0;
	}
	if (checks_at(t->fd, s->offset, &len, &head, &tail) < 0) {
		snprintf(err, errsz, "%s: cannot read it: %s", t->name, strerror(errno ? errno : EIO));
		*rc = HB_RESUME_IOERR;
		return 0;
	}
	if (len != s->head_len || len != s->tail_len || head != s->head || tail != s->tail) {
		snprintf(err, errsz, "%s is not the file %s records (%s): their bytes before "
			 "offset %" PRIu64 " differ (remove %s to publish it from its start)",
			 t->name, t->path, s->file, s->offset, t->path);
		return 0;
	}
	*rc = HB_RESUME_OK;
	return 1;
}

struct hb_resume *hb_resume_open(const char *path, int fd, const char *name, const char *topic,
				 uint64_t *offset, uint64_t *lineno, enum hb_resume_rc *rc,
				 char *err, size_t errsz)
{
	struct hb_resume *t = calloc(1, sizeof *t);
	struct state s;
	int k;

	if (!t)
		return fail(NULL, HB_RESUME_NOMEM, rc);
	t->fd = fd;
	t->lock_fd = -1;
	t->path = strdup(path);
	t->tmp = dup_cat(path, ".tmp");
	t->name = strdup(name);
	t->topic = strdup(topic);
	t->cap = 1024;
	t->end = malloc(t->cap * sizeof *t->end);
	t->state = malloc(t->cap);
	if (!t->path || !t->tmp || !t->name || !t->topic || !t->end || !t->state)
		return fail(t, HB_RESUME_NOMEM, rc);
	for (char *c = t->name; *c; c++)	/* the state is one line per item */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if ((*rc = take_lock(t, err, errsz)) != HB_RESUME_OK)
		return fail(t, *rc, rc);
	k = read_state(t, &s, rc, err, errsz);
	if (k < 0 || (k > 0 && !same_file(t, &s, rc, err, errsz)))
		return fail(t, *rc, rc);
	if (k > 0) {
		t->mark_off = t->saved_off = s.offset;
		t->mark_line = t->saved_line = s.line;
	}
	*offset = t->mark_off;
	*lineno = t->mark_line;
	*rc = HB_RESUME_OK;
	return t;
}

static int grow(struct hb_resume *t)
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
static void advance(struct hb_resume *t)
{
	while (t->count > 0 && t->state[t->head] == SETTLED) {
		t->mark_off = t->end[t->head];
		t->mark_line++;
		t->head = (t->head + 1) % t->cap;
		t->count--;
	}
}

enum hb_resume_rc hb_resume_read(struct hb_resume *t, uint64_t lineno, uint64_t end)
{
	size_t i;

	if (t->stuck)
		return HB_RESUME_OK;	/* the mark will not get there in this run */
	if (lineno != t->mark_line + 1 + t->count)
		return HB_RESUME_ORDER;
	if (t->count == t->cap && grow(t) < 0)
		return HB_RESUME_NOMEM;
	i = (t->head + t->count++) % t->cap;
	t->end[i] = end;
	t->state[i] = PENDING;
	return HB_RESUME_OK;
}

/* The ring index of lineno, or -1 when it is not in the ring. */
static long slot_of(const struct hb_resume *t, uint64_t lineno)
{
	if (lineno <= t->mark_line || lineno > t->mark_line + t->count)
		return -1;
	return (long)((t->head + (lineno - t->mark_line - 1)) % t->cap);
}

void hb_resume_settled(struct hb_resume *t, uint64_t lineno)
{
	long i = slot_of(t, lineno);

	if (i < 0 || t->state[i] == FAILED)
		return;
	t->state[i] = SETTLED;
	advance(t);
}

void hb_resume_failed(struct hb_resume *t, uint64_t lineno)
{
	long i = slot_of(t, lineno);

	t->stuck = 1;
	if (i >= 0)
		t->state[i] = FAILED;
}

int hb_resume_stuck(const struct hb_resume *t)
{
	return t->stuck;
}

void hb_resume_mark(const struct hb_resume *t, uint64_t *offset, uint64_t *lineno)
{
	*offset = t->mark_off;
	*lineno = t->mark_line;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* fsync the directory holding path, so that a rename in it is durable. */
static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int hb_resume_save(struct hb_resume *t, int64_t now_us, int force, char *err, size_t errsz)
{
	char text[2048];
	size_t len;
	uint64_t head, tail;
	int n, fd;

	if (t->mark_off == t->saved_off)
		return 0;
	if (!force && now_us - t->saved_at < HB_RESUME_SAVE_US &&
	    t->mark_line - t->saved_line < HB_RESUME_SAVE_LINES)
		return 0;
	if (checks_at(t->fd, t->mark_off, &len, &head, &tail) < 0) {
		snprintf(err, errsz, "%s: cannot read it back: %s", t->name, strerror(errno ? errno : EIO));
		return HB_RESUME_IOERR;
	}
	n = snprintf(text, sizeof text, MAGIC "\ntopic %s\noffset %" PRIu64 "\nline %" PRIu64
		     "\nhead %zu %016" PRIx64 "\ntail %zu %016" PRIx64 "\nfile %.900s\n", t->topic,
		     t->mark_off, t->mark_line, len, head, len, tail, t->name);
	fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, (size_t)n) < 0 || fsync(fd) < 0) {
		snprintf(err, errsz, "%s: %s", t->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return HB_RESUME_IOERR;
	}
	if (close(fd) < 0 || rename(t->tmp, t->path) < 0 || sync_dir(t->path) < 0) {
		snprintf(err, errsz, "%s: %s", t->path, strerror(errno));
		return HB_RESUME_IOERR;
	}
	t->saved_off = t->mark_off;
	t->saved_line = t->mark_line;
	t->saved_at = now_us;
	return 1;
}
