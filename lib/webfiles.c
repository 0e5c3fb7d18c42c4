/* webfiles.c: the files under [web] root served from memory (see
 * webfiles.h).
 *
 * Parts: paths and types; reading a file; serving it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "webfiles.h"

/* One file as last read. */
struct webfile {
	char *path;                 /* as asked, e.g. "/css/site.css" */
	struct timespec mtime;      /* what it was read from */
	off_t size;
	ino_t ino;
	char *body;
	size_t len;
	char *gz;                   /* gzipped, or NULL */
	size_t gz_len;
	char etag[HTTP_ETAG_MAX];
	const char *type;
};

struct webfiles {
	struct webfile files[WEBFILES_MAX];
	size_t n;
};

/* ---- paths and types ------------------------------------------------------ */

/* path_ok: an absolute path with no hidden or ".." segment, no
 * backslash. */
static int path_ok(const char *p)
{
	if (p[0] != '/' || strchr(p, '\\'))
		return 0;
	for (const char *s = p; (s = strchr(s, '/')) != NULL; s++)
		if (s[1] == '.')
			return 0;
	return 1;
}

static const char *type_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "application/javascript; charset=utf-8" },
		{ ".mjs", "application/javascript; charset=utf-8" },
		{ ".json", "application/json; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
		{ ".webmanifest", "application/manifest+json" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* ---- reading a file ---------------------------------------------------------- */

static void file_clear(struct webfile *f)
{
	free(f->path);
	free(f->body);
	free(f->gz);
	memset(f, 0, sizeof(*f));
}

/* file_read: (re)read f from fd (st its stat) as path. ERR_OK, ERR_IO or
 * ERR_NOMEM (f is then cleared). */
static int file_read(struct webfile *f, int fd, const struct stat *st,
		     const char *path)
{
	char *body = malloc((size_t)st->st_size + 1);
	ssize_t got = body ? read(fd, body, (size_t)st->st_size) : -1;

	file_clear(f);
	if (got != (ssize_t)st->st_size || !(f->path = strdup(path))) {
		free(body);
		file_clear(f);
		return body ? ERR_IO : ERR_NOMEM;
	}
	body[got] = '\0';
	f->body = body;
	f->len = (size_t)got;
	f->mtime = st->st_mtim;
	f->size = st->st_size;
	f->ino = st->st_ino;
	f->type = type_of(path);
	http_etag_of(f->body, f->len, f->etag, sizeof(f->etag));
	/* compressed once, at the best level: it is served many times */
	if (http_compressible(f->type) && f->len >= HTTP_GZIP_MIN &&
	    http_gzip(f->body, f->len, 9, &f->gz, &f->gz_len) == ERR_OK &&
	    f->gz_len >= f->len) {
		free(f->gz);
		f->gz = NULL;
	}
	return ERR_OK;
}

/* file_get: the entry of path, read again when the file changed; NULL
 * when it cannot be served. */
static struct webfile *file_get(struct webfiles *c, const char *root,
				const char *path)
{
	char full[4096];
	struct webfile *f = NULL;
	struct stat st;
	int fd;

	if (snprintf(full, sizeof(full), "%s%s", root, path) >=
	    (int)sizeof(full))
		return NULL;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > WEBFILES_FILE_MAX)
		goto out;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->files[i].path, path) == 0)
			f = &c->files[i];
	if (f && f->size == st.st_size && f->ino == st.st_ino &&
	    f->mtime.tv_sec == st.st_mtim.tv_sec &&
	    f->mtime.tv_nsec == st.st_mtim.tv_nsec)
		goto out;                       /* as read */
	if (!f) {
		if (c->n == WEBFILES_MAX)
			file_clear(&c->files[--c->n]);  /* make room */
		f = &c->files[c->n++];
	}
	if (file_read(f, fd, &st, path) != ERR_OK) {
		*f = c->files[--c->n];          /* the last fills its slot */
		memset(&c->files[c->n], 0, sizeof(c->files[c->n]));
		f = NULL;
	}
out:
	close(fd);
	return f;
}

/* ---- serving it ---------------------------------------------------------------- */

int webfiles_serve(struct lws *wsi, struct http_exchange *ex,
		   const char *root, const char *const *only,
		   struct webfiles **cache)
{
	char path[LIMIT_HTTP_URI + 16];
	struct webfile *f;
	size_t n = strlen(ex->path);
	int allowed = !only;

	if (!root || ex->method != HTTP_GET || !path_ok(ex->path))
		return 0;
	for (size_t i = 0; only && only[i]; i++)
		if (strncmp(ex->path, only[i], strlen(only[i])) == 0)
			allowed = 1;
	if (!allowed)
		return 0;
	snprintf(path, sizeof(path), "%s%s", ex->path,
		 ex->path[n - 1] == '/' ? "index.html" : "");
	if (!*cache && !(*cache = calloc(1, sizeof(**cache))))
		return 0;
	f = file_get(*cache, root, path);
	if (!f)
		return 0;
	ex->cache_control = WEBFILES_MAX_AGE;
	http_reply_variants(wsi, ex, f->type, f->body, f->len, f->gz,
			    f->gz_len, f->etag);
	return 1;
}

void webfiles_free(struct webfiles **cache)
{
	if (!cache || !*cache)
		return;
	for (size_t i = 0; i < (*cache)->n; i++)
		file_clear(&(*cache)->files[i]);
	free(*cache);
	*cache = NULL;
}
