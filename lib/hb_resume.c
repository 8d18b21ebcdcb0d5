/* hb_resume — how far into a file a publisher has got, kept across crashes (see hb_resume.h). */
#include "hb_resume.h"

#include "hb_file.h"
#include "hb_prefix.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "hbkafka-pub-resume 1"

struct hb_resume {
	char *path, *tmp, *name, *topic;
	int fd;                 /* the file published (pread only) */
	int lock_fd;            /* path.lock, flock'd: one publisher per state */
	struct hb_prefix *prefix;       /* the lines settled */
	uint64_t saved_off, saved_line; /* what the state file says */
	int64_t saved_at;
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
	hb_prefix_free(t->prefix);
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
	int k;

	if (!lock)
		return HB_RESUME_NOMEM;
	if ((k = hb_file_lock(lock, &t->lock_fd, err, errsz)) > 0)
		snprintf(err, errsz, "%s is in use by another publisher (%s is locked)", t->path, lock);
	free(lock);
	return k > 0 ? HB_RESUME_BUSY : k < 0 ? HB_RESUME_IOERR : HB_RESUME_OK;
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
	if (!t->path || !t->tmp || !t->name || !t->topic)
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
		t->saved_off = s.offset;
		t->saved_line = s.line;
	}
	t->prefix = hb_prefix_new(t->saved_off, t->saved_line);
	if (!t->prefix)
		return fail(t, HB_RESUME_NOMEM, rc);
	*offset = t->saved_off;
	*lineno = t->saved_line;
	*rc = HB_RESUME_OK;
	return t;
}

struct hb_prefix *hb_resume_prefix(struct hb_resume *t)
{
	return t->prefix;
}

int hb_resume_save(struct hb_resume *t, int64_t now_us, int force, char *err, size_t errsz)
{
	char text[2048];
	size_t len;
	uint64_t head, tail, mark_off, mark_line;
	int n;

	hb_prefix_mark(t->prefix, &mark_off, &mark_line);
	if (mark_off == t->saved_off)
		return 0;
	if (!force && now_us - t->saved_at < HB_RESUME_SAVE_US &&
	    mark_line - t->saved_line < HB_RESUME_SAVE_LINES)
		return 0;
	if (checks_at(t->fd, mark_off, &len, &head, &tail) < 0) {
		snprintf(err, errsz, "%s: cannot read it back: %s", t->name, strerror(errno ? errno : EIO));
		return HB_RESUME_IOERR;
	}
	n = snprintf(text, sizeof text, MAGIC "\ntopic %s\noffset %" PRIu64 "\nline %" PRIu64
		     "\nhead %zu %016" PRIx64 "\ntail %zu %016" PRIx64 "\nfile %.900s\n", t->topic,
		     mark_off, mark_line, len, head, len, tail, t->name);
	if (hb_file_replace(t->path, t->tmp, text, (size_t)n, err, errsz) < 0)
		return HB_RESUME_IOERR;
	t->saved_off = mark_off;
	t->saved_line = mark_line;
	t->saved_at = now_us;
	return 1;
}
