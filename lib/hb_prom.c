/* hb_prom — the Prometheus text format, written atomically (see hb_prom.h). */
#include "hb_prom.h"
#include "hb_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void hb_prom_begin(struct hb_prom *p, const char *labels)
{
	p->b.len = 0;
	if (labels != p->labels)
		snprintf(p->labels, sizeof p->labels, "%s", labels ? labels : "");
}

void hb_prom_family(struct hb_prom *p, const char *name, const char *type, const char *help)
{
	hb_buf_printf(&p->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(struct hb_buf *b, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		hb_buf_printf(b, " %lld\n", (long long)v);
	else
		hb_buf_printf(b, " %.15g\n", v);
}

void hb_prom_sample(struct hb_prom *p, const char *name, const char *extra, double v)
{
	int a = p->labels[0] != '\0', e = extra && extra[0];

	hb_buf_puts(&p->b, name);
	if (a || e)
		hb_buf_printf(&p->b, "{%s%s%s}", a ? p->labels : "", a && e ? "," : "", e ? extra : "");
	put_value(&p->b, v);
}

void hb_prom_one(struct hb_prom *p, const char *name, const char *type, const char *help, double v)
{
	hb_prom_family(p, name, type, help);
	hb_prom_sample(p, name, "", v);
}

void hb_prom_histogram_us(struct hb_prom *p, const char *name, const char *help,
			  const struct hb_hist *h, const double *le, int nle)
{
	char metric[160], lab[48];

	hb_prom_family(p, name, "histogram", help);
	snprintf(metric, sizeof metric, "%s_bucket", name);
	for (int i = 0; i < nle; i++) {
		snprintf(lab, sizeof lab, "le=\"%g\"", le[i]);
		hb_prom_sample(p, metric, lab, (double)hb_hist_count_le(h, (uint64_t)(le[i] * 1e6)));
	}
	hb_prom_sample(p, metric, "le=\"+Inf\"", (double)h->n);
	snprintf(metric, sizeof metric, "%s_sum", name);
	hb_prom_sample(p, metric, "", (double)h->sum / 1e6);
	snprintf(metric, sizeof metric, "%s_count", name);
	hb_prom_sample(p, metric, "", (double)h->n);
}

int hb_prom_write(struct hb_prom *p, const char *path, char *err, size_t errsz)
{
	char tmp[4096];
	int fd;
	size_t off = 0;

	if (hb_buf_oom(&p->b)) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp) {
		snprintf(err, errsz, "path too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errsz, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < p->b.len) {
		ssize_t w = write(fd, p->b.p + off, p->b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errsz, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void hb_prom_release(struct hb_prom *p)
{
	hb_buf_release(&p->b);
}

void hb_prom_label(char *dst, size_t dn, const char *name, const char *value)
{
	size_t k = 0;
	int n = snprintf(dst, dn, "%s=\"", name);

	if (n < 0 || (size_t)n >= dn) {
		if (dn)
			dst[0] = '\0';
		return;
	}
	k = (size_t)n;
	for (const char *s = value; *s && k + 3 < dn; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			dst[k++] = '\\';
			dst[k++] = *s == '\n' ? 'n' : *s;
		} else {
			dst[k++] = *s;
		}
	}
	dst[k++] = '"';
	dst[k] = '\0';
}

int hb_prom_due(struct hb_prom *p, int force)
{
	int64_t now = hb_time_mono_us();

	if (!p->path || (!force && now < p->next))
		return 0;
	p->next = now + p->interval_us;
	return 1;
}

int hb_prom_flush(struct hb_prom *p, char *err, size_t errsz)
{
	int64_t now;

	if (hb_prom_write(p, p->path, err, errsz) == 0)
		return 0;
	now = hb_time_mono_us();
	if (p->warned && now - p->warned < 60000000)
		return 0;
	p->warned = now;
	return 1;
}
