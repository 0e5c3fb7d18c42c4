/* backup.c: the "backup" subcommand both daemons share (backup.h). */
#include "backup.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "store.h"

int backup_args_parse(const char *prog, int argc, char **argv,
		      struct backup_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			a->force = 1;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc &&
			   !a->config) {
			a->config = argv[++i];
		} else if (argv[i][0] != '-' && argv[i][0] && !a->dest) {
			a->dest = argv[i];
		} else {
			fprintf(stderr, "%s: backup: unexpected argument "
				"'%s'\n", prog, argv[i]);
			return BACKUP_EXIT_USAGE;
		}
	}
	if (!a->config || !a->dest) {
		fprintf(stderr, "%s: usage: %s backup [--force] -c FILE "
			"DEST\n", prog, prog);
		return BACKUP_EXIT_USAGE;
	}
	return 0;
}

int backup_run(const char *prog, const char *store_path,
	       const struct backup_args *a)
{
	char err[1024];
	struct stat st;
	int rc;

	rc = store_backup(store_path, a->dest, a->force, err, sizeof(err));
	if (rc == ERR_INVALID) {
		fprintf(stderr, "%s: backup: %s\n", prog, err);
		return BACKUP_EXIT_USAGE;
	}
	if (rc != ERR_OK) {
		fprintf(stderr, "%s: backup failed, nothing written: %s\n",
			prog, err);
		return BACKUP_EXIT_STORE;
	}
	printf("%s: store %s backed up to %s (%lld bytes, checked)\n", prog,
	       store_path, a->dest,
	       stat(a->dest, &st) == 0 ? (long long)st.st_size : -1LL);
	return BACKUP_EXIT_OK;
}
