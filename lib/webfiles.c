/* webfiles.c: the files under [web] root served from memory (see
 * webfiles.h).
 *
 * Parts: paths and types; the page shell; reading a file; serving it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json_out.h"
#include "webfiles.h"

/* One file as last read. */
struct webfile {
	char *path;                 /* as asked, e.g. "/css/site.css" */
	struct timespec mtime;      /* what it was read from */
	off_t size;
	ino_t ino;
	struct timespec shell_mtime; /* the shell it was assembled with */
	off_t shell_size;
	ino_t shell_ino;
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

/* ---- the page shell ---------------------------------------------------------- */

void webfiles_shell_key(const char *root, struct timespec *mtime,
			off_t *size, ino_t *ino)
{
	char full[4096];
	struct stat st;

	memset(mtime, 0, sizeof(*mtime));
	*size = 0;
	*ino = 0;
	if (snprintf(full, sizeof(full), "%s/%s", root, WEBFILES_SHELL) >=
	    (int)sizeof(full) || stat(full, &st))
		return;
	*mtime = st.st_mtim;
	*size = st.st_size;
	*ino = st.st_ino;
}

/* shell_read: root/WEBFILES_SHELL, NUL-terminated (caller frees), or
 * NULL when there is none (or it is over WEBFILES_SHELL_MAX). */
static char *shell_read(const char *root)
{
	char full[4096], *buf;
	struct stat st;
	ssize_t got;
	int fd;

	if (snprintf(full, sizeof(full), "%s/%s", root, WEBFILES_SHELL) >=
	    (int)sizeof(full) ||
	    (fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	buf = NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size <= WEBFILES_SHELL_MAX &&
	    (buf = malloc((size_t)st.st_size + 1)) != NULL) {
		got = read(fd, buf, (size_t)st.st_size);
		if (got != (ssize_t)st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[got] = '\0';
		}
	}
	close(fd);
	return buf;
}

/* shell_part: the part name of shell ("<!--part:NAME-->" to the next
 * "<!--part:" or the end) in [*at, *at + *n). Returns 0 when absent. */
static int shell_part(const char *shell, const char *name, const char **at,
		      size_t *n)
{
	char mark[32];
	const char *p, *end;

	snprintf(mark, sizeof(mark), "<!--part:%s-->\n", name);
	p = strstr(shell, mark);
	if (!p)
		return 0;
	p += strlen(mark);
	end = strstr(p, "<!--part:");
	*at = p;
	*n = end ? (size_t)(end - p) : strlen(p);
	return 1;
}

/* fill_marker: o gets what replaces the marker whose text (between
 * "<!--alliance:" and "-->") is [m, m + n): the part, the header's link
 * to the page it names marked current. Returns 0 when shell lacks it. */
static int fill_marker(struct json_out *o, const char *shell, const char *m,
		       size_t n)
{
	static const char *const names[] = { "head", "header", "footer" };
	const char *part, *colon = memchr(m, ':', n), *link, *file;
	char attr[96], nav[100];
	size_t part_len, name_len = colon ? (size_t)(colon - m) : n, i;
	size_t file_len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == name_len &&
		    memcmp(names[i], m, name_len) == 0)
			break;
	if (i == sizeof(names) / sizeof(names[0]) ||
	    (colon && i != 1) || !shell_part(shell, names[i], &part,
					     &part_len))
		return 0;
	if (!colon) {
		json_out_raw(o, part, part_len);
		return 1;
	}
	/* the navigation's link to it, else any other (the account's) */
	file = colon + 1;
	file_len = n - name_len - 1;
	if (file_len > 64) {
		json_out_raw(o, part, part_len);
		return 1;
	}
	snprintf(attr, sizeof(attr), " href=\"%.*s\"", (int)file_len, file);
	snprintf(nav, sizeof(nav), "<a%s", attr);
	if ((link = memmem(part, part_len, nav, strlen(nav))) != NULL)
		link += strlen(nav);
	else if ((link = memmem(part, part_len, attr, strlen(attr))) != NULL)
		link += strlen(attr);
	if (!link) {
		json_out_raw(o, part, part_len);
		return 1;
	}
	json_out_raw(o, part, (size_t)(link - part));
	json_out_lit(o, " aria-current=\"page\"");
	json_out_raw(o, link, part_len - (size_t)(link - part));
	return 1;
}

int webfiles_assemble(const char *root, const char *page, size_t len,
		      char **out, size_t *outlen)
{
	static const char open_mark[] = "<!--alliance:";
	struct json_out o = { 0 };
	char *shell = shell_read(root);
	const char *at = page, *end = page + len, *m, *close;

	while (shell && (m = memmem(at, (size_t)(end - at), open_mark,
				    sizeof(open_mark) - 1)) != NULL) {
		const char *text = m + sizeof(open_mark) - 1;

		close = memmem(text, (size_t)(end - text), "-->", 3);
		if (!close)
			break;
		json_out_raw(&o, at, (size_t)(m - at));
		if (fill_marker(&o, shell, text, (size_t)(close - text))) {
			at = close + 3;
			if (at < end && *at == '\n')
				at++;   /* the part ends with its own line */
		} else {        /* another marker (lib/pages.h): kept */
			json_out_raw(&o, m, (size_t)(close + 3 - m));
			at = close + 3;
		}
	}
	json_out_raw(&o, at, (size_t)(end - at));
	free(shell);
	if (o.failed || !(*out = json_out_take(&o, outlen))) {
		json_out_free(&o);
		*out = NULL;
		return ERR_NOMEM;
	}
	return ERR_OK;
}

/* ---- reading a file ---------------------------------------------------------- */

static void file_clear(struct webfile *f)
{
	free(f->path);
	free(f->body);
	free(f->gz);
	memset(f, 0, sizeof(*f));
}

/* is_page: whether path names an HTML page (assembled with the shell). */
static int is_page(const char *path)
{
	size_t n = strlen(path);

	return n > 5 && strcmp(path + n - 5, ".html") == 0;
}

/* file_read: (re)read f from fd (st its stat) as path under root (a page
 * assembled with its shell). ERR_OK, ERR_IO or
 * ERR_NOMEM (f is then cleared). */
static int file_read(struct webfile *f, int fd, const struct stat *st,
		     const char *root, const char *path)
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
	if (is_page(path)) {
		char *page = NULL;
		size_t page_len = 0;

		webfiles_shell_key(root, &f->shell_mtime, &f->shell_size,
				   &f->shell_ino);
		if (webfiles_assemble(root, body, f->len, &page, &page_len) !=
		    ERR_OK) {
			file_clear(f);
			return ERR_NOMEM;
		}
		free(f->body);
		f->body = page;
		f->len = page_len;
	}
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

/* shell_same: whether f is no page, or was assembled with the shell as
 * it is now. */
static int shell_same(const struct webfile *f, const char *root)
{
	struct timespec mtime;
	off_t size;
	ino_t ino;

	if (!is_page(f->path))
		return 1;
	webfiles_shell_key(root, &mtime, &size, &ino);
	return size == f->shell_size && ino == f->shell_ino &&
	       mtime.tv_sec == f->shell_mtime.tv_sec &&
	       mtime.tv_nsec == f->shell_mtime.tv_nsec;
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
	    f->mtime.tv_nsec == st.st_mtim.tv_nsec && shell_same(f, root))
		goto out;                       /* as read */
	if (!f) {
		if (c->n == WEBFILES_MAX)
			file_clear(&c->files[--c->n]);  /* make room */
		f = &c->files[c->n++];
	}
	if (file_read(f, fd, &st, root, path) != ERR_OK) {
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

	if (!root || ex->method != HTTP_GET || !path_ok(ex->path) ||
	    strcmp(ex->path, "/" WEBFILES_SHELL) == 0)
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
