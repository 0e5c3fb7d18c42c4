/* fuzz_config.c: libFuzzer target for the configuration reader
 * (lib/config.c on inih) with the hub's and the node's own tables
 * (hub/config.c, node/config.c).
 *
 * The input is a config file, written to a file in a directory of its
 * own under $TMPDIR (the reader makes relative paths absolute against
 * it; removed at exit) and loaded as the daemons load theirs: against
 * the hub's table and through node_config_load, then freed. A refusal
 * must name the file; a value the reader accepts must hold to its
 * table's bounds and check. The same bytes are also read as the district's synonyms
 * file ([search] synonyms, lib/synonyms.c), whose refusal must name the
 * file and line. Leaks and overflows are what libFuzzer reports. Seeds
 * in tests/fuzz/corpus/config/ (deploy/examples and the system tests'
 * configs). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hub.h"
/* Both daemons' internal headers declare a sync_wake of their own; this
 * file calls neither, so the node's is renamed here to let both in. */
#define sync_wake node_sync_wake
#include "node.h"
#undef sync_wake
#include "synonyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char dir[256], path[300];

/* cleanup: remove the file and its directory. */
static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/* setup: the directory and the open file. */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/alliance.conf", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	atexit(cleanup);
}

/* checked: every number of table is within its bounds in cfg, and every
 * key that has a check passes it. */
static int checked(const struct config_table *table, const void *cfg)
{
	for (size_t i = 0; i < table->n_keys; i++) {
		const struct config_key *k = &table->keys[i];
		const void *field = (const char *)cfg + k->offset;

		if (k->type == CONFIG_UINT &&
		    (*(const unsigned *)field < k->min ||
		     *(const unsigned *)field > k->max))
			return 0;
		if (k->check && k->check(field))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_config hc;
	struct node_config nc;
	struct synonyms *syn;
	char err[1024];

	if (fd < 0)
		setup();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();

	memset(&hc, 0, sizeof(hc));
	err[0] = '\0';
	if (config_load(path, &hub_config_table, &hc, err, sizeof(err)) !=
	    ERR_OK) {
		if (strncmp(err, path, strlen(path)) != 0)
			abort();
	} else if (!checked(&hub_config_table, &hc)) {
		abort();
	}
	config_free(&hub_config_table, &hc);

	memset(&nc, 0, sizeof(nc));
	err[0] = '\0';
	if (node_config_load(path, &nc, err, sizeof(err)) != ERR_OK) {
		if (strncmp(err, path, strlen(path)) != 0)
			abort();
	} else if (!checked(&node_config_table, &nc)) {
		abort();
	}
	node_config_free(&nc);

	err[0] = '\0';
	syn = NULL;
	if (synonyms_parse((const char *)data, size, "synonyms", &syn, err,
			   sizeof(err)) == ERR_OK) {
		if (!syn && size)
			abort();
	} else if (strncmp(err, "synonyms", 8) != 0 || syn) {
		abort();
	}
	synonyms_free(&syn);
	return 0;
}
