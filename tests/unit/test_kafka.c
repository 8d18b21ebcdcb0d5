/* test_kafka — hb_kafka's pure parts: -o WHERE, topic names, and the conf
 * built from defaults, $KAFKA_BOOTSTRAP_SERVERS, -b, -X and -F (secrets
 * refused on the command line, accepted from a file, a readable file
 * warned about).  No broker is needed: nothing here connects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_kafka.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_offset(void)
{
	int64_t off, ts;

	tap_begin("hb_kafka_parse_offset: the named places (NULL is stored)");
	check_int(hb_kafka_parse_offset(NULL, &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_STORED);
	check_int(ts, ==, -1);
	check_int(hb_kafka_parse_offset("stored", &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_STORED);
	check_int(hb_kafka_parse_offset("beginning", &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_BEGINNING);
	check_int(hb_kafka_parse_offset("end", &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_END);
	tap_end();

	tap_begin("hb_kafka_parse_offset: N, -N from the end, -0 the end");
	check_int(hb_kafka_parse_offset("42", &off, &ts), ==, 0);
	check_int(off, ==, 42);
	check_int(ts, ==, -1);
	check_int(hb_kafka_parse_offset("0", &off, &ts), ==, 0);
	check_int(off, ==, 0);
	check_int(hb_kafka_parse_offset("-5", &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_TAIL(5));
	check_int(hb_kafka_parse_offset("-0", &off, &ts), ==, 0);
	check_int(off, ==, RD_KAFKA_OFFSET_TAIL(0));
	tap_end();

	tap_begin("hb_kafka_parse_offset: s@MS sets the time, leaves the offset alone");
	off = 77;
	check_int(hb_kafka_parse_offset("s@1763892000500", &off, &ts), ==, 0);
	check_int(ts, ==, 1763892000500LL);
	check_int(off, ==, 77);
	check_int(hb_kafka_parse_offset("s@0", &off, &ts), ==, 0);
	check_int(ts, ==, 0);
	tap_end();

	tap_begin("hb_kafka_parse_offset: anything else is refused");
	{
		static const char *const bad[] = {
			"", "x", "begin", "END", "12x", "1.5", "s@", "s@-1", "s@12x", "s1",
			"99999999999999999999", "s@99999999999999999999", "--1",
		};

		for (size_t i = 0; i < NELEM(bad); i++)
			if (!check_int(hb_kafka_parse_offset(bad[i], &off, &ts), ==, -1))
				printf("# refused: '%s'\n", bad[i]);
	}
	tap_end();
}

static void test_topic(void)
{
	char name[260];

	tap_begin("hb_kafka_topic_valid: [A-Za-z0-9._-], 1 to 249 long");
	check(hb_kafka_topic_valid("heartbeat-events"));
	check(hb_kafka_topic_valid("A_b.c-9"));
	check(hb_kafka_topic_valid("x"));
	check(hb_kafka_topic_valid("..."));
	memset(name, 'a', 249);
	name[249] = '\0';
	check(hb_kafka_topic_valid(name));
	name[249] = 'a';
	name[250] = '\0';
	check(!hb_kafka_topic_valid(name));
	tap_end();

	tap_begin("hb_kafka_topic_valid: empty, . and .., other characters");
	{
		static const char *const bad[] = {"", ".", "..", "a b", "a/b", "a:b", "caf\xc3\xa9", "a\nb", "a*"};

		for (size_t i = 0; i < NELEM(bad); i++)
			check(!hb_kafka_topic_valid(bad[i]));
	}
	tap_end();
}

/* A property of a conf, or "" when unset or unknown. */
static const char *get(rd_kafka_conf_t *c, const char *name)
{
	static char v[512];
	size_t n = sizeof v;

	if (rd_kafka_conf_get(c, name, v, &n) != RD_KAFKA_CONF_OK)
		v[0] = '\0';
	return v;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) != 0)
		abort();
}

static void test_conf(void)
{
	char err[512], warn[512], dir[] = "/tmp/hb-test-kafka.XXXXXX", file[200], open_file[200];
	rd_kafka_conf_t *c;

	if (!mkdtemp(dir))
		abort();
	snprintf(file, sizeof file, "%s/client.properties", dir);
	snprintf(open_file, sizeof open_file, "%s/open.properties", dir);

	tap_begin("hb_kafka_conf: localhost:9092, else the environment, then -b");
	unsetenv("KAFKA_BOOTSTRAP_SERVERS");
	c = hb_kafka_conf(NULL, NULL, 0, err, sizeof err, warn, sizeof warn);
	check(c != NULL);
	if (c) {
		check_str(get(c, "bootstrap.servers"), "localhost:9092");
		rd_kafka_conf_destroy(c);
	}
	setenv("KAFKA_BOOTSTRAP_SERVERS", "envhost:1", 1);
	c = hb_kafka_conf(NULL, NULL, 0, err, sizeof err, warn, sizeof warn);
	check(c != NULL);
	if (c) {
		check_str(get(c, "bootstrap.servers"), "envhost:1");
		rd_kafka_conf_destroy(c);
	}
	{
		const struct hb_kset sets[] = {{'b', "opthost:2"}};

		c = hb_kafka_conf(NULL, sets, 1, err, sizeof err, warn, sizeof warn);
		check(c != NULL);
		if (c) {
			check_str(get(c, "bootstrap.servers"), "opthost:2");
			rd_kafka_conf_destroy(c);
		}
	}
	unsetenv("KAFKA_BOOTSTRAP_SERVERS");
	tap_end();

	tap_begin("hb_kafka_conf: defaults first, then the options in order (later wins)");
	{
		static const char *const defaults[] = {"client.id", "dflt", "linger.ms", "5", NULL};
		const struct hb_kset sets[] = {{'X', "client.id=first"}, {'X', "client.id=second"}};

		c = hb_kafka_conf(defaults, sets, 2, err, sizeof err, warn, sizeof warn);
		check(c != NULL);
		if (c) {
			check_str(get(c, "client.id"), "second");
			check_str(get(c, "linger.ms"), "5");
			rd_kafka_conf_destroy(c);
		}
	}
	tap_end();

	tap_begin("hb_kafka_conf: a secret with -X is refused, its value not repeated");
	{
		static const char *const secrets[] = {
			"sasl.password=hunter2", "ssl.key.password=hunter2", "ssl.keystore.password=hunter2",
			"sasl.oauthbearer.client.secret=hunter2", "ssl.key.pem=hunter2",
			"sasl.oauthbearer.config=hunter2",
		};

		for (size_t i = 0; i < NELEM(secrets); i++) {
			const struct hb_kset sets[] = {{'X', secrets[i]}};
			char want[300];

			err[0] = '\0';
			c = hb_kafka_conf(NULL, sets, 1, err, sizeof err, warn, sizeof warn);
			check(c == NULL);
			if (c)
				rd_kafka_conf_destroy(c);
			snprintf(want, sizeof want, "-X %.*s=...: a secret on the command line would show in ps; "
				 "put it in a -F properties file (mode 0600)",
				 (int)strcspn(secrets[i], "="), secrets[i]);
			check_str(err, want);
			check(strstr(err, "hunter2") == NULL);
		}
	}
	tap_end();

	tap_begin("hb_kafka_conf: the same secret from a -F file of mode 0600, no warning");
	write_file(file, "# a comment\n\n  sasl.mechanisms=PLAIN\nsasl.username=u\nsasl.password=hunter2\r\n", 0600);
	{
		const struct hb_kset sets[] = {{'F', file}};

		c = hb_kafka_conf(NULL, sets, 1, err, sizeof err, warn, sizeof warn);
		check(c != NULL);
		check_str(warn, "");
		if (c) {
			check_str(get(c, "sasl.username"), "u");
			check_str(get(c, "sasl.password"), "hunter2");
			rd_kafka_conf_destroy(c);
		}
	}
	tap_end();

	tap_begin("hb_kafka_conf: a -F file others may read gets one warning line");
	write_file(open_file, "client.id=x\n", 0644);
	{
		const struct hb_kset sets[] = {{'F', open_file}};
		char want[400];

		c = hb_kafka_conf(NULL, sets, 1, err, sizeof err, warn, sizeof warn);
		check(c != NULL);
		if (c)
			rd_kafka_conf_destroy(c);
		snprintf(want, sizeof want, "-F %s is readable by others (mode 644): it may hold secrets; chmod 600 it",
			 open_file);
		check_str(warn, want);
	}
	tap_end();

	tap_begin("hb_kafka_conf: bad properties, values and files, named");
	{
		const struct hb_kset nv[] = {{'X', "client.id"}};
		const struct hb_kset unknown[] = {{'X', "no.such.property=1"}};
		const struct hb_kset badval[] = {{'X', "linger.ms=soon"}};
		const struct hb_kset nofile[] = {{'F', "/nonexistent/hb.properties"}};
		const struct hb_kset badline[] = {{'F', file}};

		c = hb_kafka_conf(NULL, nv, 1, err, sizeof err, warn, sizeof warn);
		check(c == NULL);
		check_str(err, "-X: want name=value, got 'client.id'");
		c = hb_kafka_conf(NULL, unknown, 1, err, sizeof err, warn, sizeof warn);
		check(c == NULL);
		check(strncmp(err, "-X: ", 4) == 0);
		check(strstr(err, "no.such.property") != NULL);
		c = hb_kafka_conf(NULL, badval, 1, err, sizeof err, warn, sizeof warn);
		check(c == NULL);
		check(strncmp(err, "-X: ", 4) == 0);
		check(strstr(err, "Invalid value") != NULL);	/* librdkafka names linger.ms by its alias */
		c = hb_kafka_conf(NULL, nofile, 1, err, sizeof err, warn, sizeof warn);
		check(c == NULL);
		check_str(err, "-F /nonexistent/hb.properties: No such file or directory");
		write_file(file, "client.id=x\n# fine so far\nnot a property line\n", 0600);
		c = hb_kafka_conf(NULL, badline, 1, err, sizeof err, warn, sizeof warn);
		check(c == NULL);
		{
			char want[400];

			snprintf(want, sizeof want, "-F %s:3: want name=value, got 'not a property line'", file);
			check_str(err, want);
		}
	}
	tap_end();

	unlink(file);
	unlink(open_file);
	rmdir(dir);
}

int main(void)
{
	test_offset();
	test_topic();
	test_conf();
	return tap_done();
}
