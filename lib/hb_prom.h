/* hb_prom — counters in the Prometheus text format, written to a file
 * atomically (for node_exporter's textfile collector).
 *
 *   hb_prom_begin(&p);
 *   hb_prom_family(&p, "hbmon_pgload_rows_stored_total", "counter", "Rows new in the database.");
 *   hb_prom_sample(&p, "hbmon_pgload_rows_stored_total", "", 123);
 *   hb_prom_write(&p, "/var/lib/node_exporter/hbpgload.prom", err, sizeof err);
 *
 * Each sample carries the labels given to hb_prom_begin (e.g.
 * hbmon_instance="host:pid"), so that several processes can each write a
 * file into one collector directory without clashing.
 */
#ifndef HB_PROM_H
#define HB_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_hist.h"

struct hb_prom {
	struct hb_buf b;
	char labels[1024];	/* name="value",... for every sample */
	const char *path;	/* where hb_prom_flush() writes; NULL: nowhere */
	int64_t interval_us;	/* how often hb_prom_due() says yes */
	int64_t next, warned;
};

/* Start a new exposition; labels: 'name="value"' pairs, comma separated, or "". */
void hb_prom_begin(struct hb_prom *p, const char *labels);
void hb_prom_family(struct hb_prom *p, const char *name, const char *type, const char *help);
/* A family with one sample: HELP, TYPE and the value. */
void hb_prom_one(struct hb_prom *p, const char *name, const char *type, const char *help, double v);
/* One sample; extra: more labels ('status="NORMAL"') or "". */
void hb_prom_sample(struct hb_prom *p, const char *name, const char *extra, double v);
/* A histogram of microseconds, exposed in seconds with the buckets given (seconds, ascending). */
void hb_prom_histogram_us(struct hb_prom *p, const char *name, const char *help,
			  const struct hb_hist *h, const double *le, int nle);
/*
 * 1 when an exposition is due (a path is set, and interval_us has passed
 * since the last one, or force): the caller builds it, then hb_prom_flush().
 */
int hb_prom_due(struct hb_prom *p, int force);
/*
 * hb_prom_write() to p->path.  Returns 1 when it failed and the caller should
 * say so (the reason is in err): at the first failure, then at most once a
 * minute while it keeps failing; else 0.
 */
int hb_prom_flush(struct hb_prom *p, char *err, size_t errsz);

/*
 * Write the exposition to path through path.tmp-PID and rename(2), so a
 * scraper never sees half a file.  Returns 0, or -1 with a reason in err.
 */
int hb_prom_write(struct hb_prom *p, const char *path, char *err, size_t errsz);
void hb_prom_release(struct hb_prom *p);

/* A label value quoted for the format (backslash, quote, newline escaped) into dst. */
void hb_prom_label(char *dst, size_t dn, const char *name, const char *value);

#endif
