/* tmpdir.h: a fresh directory under /tmp for a unit test's files, and its
 * removal with the files in it (one level: the tests make no
 * subdirectories); a store's files removed. Header-only, since each unit test links one module and
 * liballiance.a. */
#ifndef ALLIANCE_TEST_TMPDIR_H
#define ALLIANCE_TEST_TMPDIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* tmpdir_make: mkdtemp "/tmp/NAME.XXXXXX" and store its real path (no
 * symbolic links) in dir (len bytes). 0, or -1 when it cannot be made. */
static inline int tmpdir_make(const char *name, char *dir, size_t len)
{
	char tmpl[PATH_MAX];
	char *real;

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	if (!real)
		return -1;
	snprintf(dir, len, "%s", real);
	free(real);
	return 0;
}

/* tmpdir_remove: unlink every file in dir, then dir. 0, or -1. */
static inline int tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char file[PATH_MAX];

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
		unlink(file);
	}
	closedir(d);
	return rmdir(dir);
}

/* store_files_unlink: unlink a sqlite store at path and its WAL and
 * shared-memory files beside it. */
static inline void store_files_unlink(const char *path)
{
	char side[PATH_MAX];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

#endif
