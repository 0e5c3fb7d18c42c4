/* backup.h: the "backup" subcommand of alliance-hub and alliance-node:
 * "PROG backup [--force] -c FILE DEST", its messages and exit codes. The
 * copying itself is store_backup (store.h). */
#ifndef ALLIANCE_BACKUP_H
#define ALLIANCE_BACKUP_H

/* The exit codes of a backup (README lists them). */
#define BACKUP_EXIT_OK 0
#define BACKUP_EXIT_USAGE 2     /* arguments, config, DEST refused */
#define BACKUP_EXIT_STORE 3     /* store unreadable, copy failed or unsound */

struct backup_args {
	const char *config;     /* -c FILE */
	const char *dest;       /* DEST */
	int force;              /* --force: replace an existing DEST */
};

/* backup_args_parse: argv of "PROG backup [--force] -c FILE DEST"
 * (argv[1] is "backup"; options and DEST in any order). Fills *a and
 * returns 0, or prints what is wrong to stderr and returns
 * BACKUP_EXIT_USAGE. */
int backup_args_parse(const char *prog, int argc, char **argv,
		      struct backup_args *a);

/* backup_run: back up the store at store_path into a->dest (store_backup)
 * and say so on stdout, or why not on stderr. Returns BACKUP_EXIT_OK,
 * BACKUP_EXIT_USAGE (DEST refused) or BACKUP_EXIT_STORE. */
int backup_run(const char *prog, const char *store_path,
	       const struct backup_args *a);

#endif
