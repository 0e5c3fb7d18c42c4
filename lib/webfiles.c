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

/* shell_part: the part name[0..name_len) of shell ("<!--part:NAME-->" to
 * the next "<!--part:" or the end) in [*at, *at + *n). Returns 0 when
 * absent. */
static int shell_part(const char *shell, const char *name, size_t name_len,
		      const char **at, size_t *n)
{
	char mark[WEBFILES_PART_NAME_MAX + 16];
	const char *p, *end;

	if (name_len == 0 || name_len > WEBFILES_PART_NAME_MAX)
		return 0;
	snprintf(mark, sizeof(mark), "<!--part:%.*s-->\n", (int)name_len,
		 name);
	p = strstr(shell, mark);
	if (!p)
		return 0;
	p += strlen(mark);
	end = strstr(p, "<!--part:");
	*at = p;
	*n = end ? (size_t)(end - p) : strlen(p);
	return 1;
}

/* One page being assembled: the shell and how deep the page is. */
struct assembly {
	const char *shell;
	int depth;                  /* directories below root: a "../" each */
};

/* relative: whether the attribute value starting at v (before end) is a
 * link relative to its page: not "/...", "#...", nor with a scheme. */
static int relative(const char *v, const char *end)
{
	if (v == end || *v == '/' || *v == '#' || *v == '"')
		return 0;
	for (; v < end && *v != '"' && *v != '/' && *v != '#' && *v != '?';
	     v++)
		if (*v == ':')
			return 0;
	return 1;
}

/* put_shell_text: o gets the shell's text s[0..n) with each relative
 * link (href or src) prefixed by "../" a directory the page is deep. */
static void put_shell_text(struct json_out *o, const struct assembly *a,
			   const char *s, size_t n)
{
	static const char *const attrs[] = { " href=\"", " src=\"" };
	const char *end = s + n;

	while (a->depth > 0 && s < end) {
		const char *next = NULL, *v;
		size_t next_len = 0;

		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
			const char *p = memmem(s, (size_t)(end - s), attrs[i],
					       strlen(attrs[i]));

			if (p && (!next || p < next)) {
				next = p;
				next_len = strlen(attrs[i]);
			}
		}
		if (!next)
			break;
		v = next + next_len;
		json_out_raw(o, s, (size_t)(v - s));
		for (int d = 0; relative(v, end) && d < a->depth; d++)
			json_out_lit(o, "../");
		s = v;
	}
	json_out_raw(o, s, (size_t)(end - s));
}

/* put_marked: o gets text[0..n) with its first link to file[0..len)
 * (the navigation's "<a href=", else any other) marked
 * aria-current="page"; as it is when it has none. */
static void put_marked(struct json_out *o, const char *text, size_t n,
		       const char *file, size_t len)
{
	char attr[WEBFILES_CURRENT_MAX + 16], nav[WEBFILES_CURRENT_MAX + 20];
	const char *link = NULL;

	if (len <= WEBFILES_CURRENT_MAX) {
		snprintf(attr, sizeof(attr), " href=\"%.*s\"", (int)len, file);
		snprintf(nav, sizeof(nav), "<a%s", attr);
		if ((link = memmem(text, n, nav, strlen(nav))) != NULL)
			link += strlen(nav);
		else if ((link = memmem(text, n, attr, strlen(attr))) != NULL)
			link += strlen(attr);
	}
	if (!link) {
		json_out_raw(o, text, n);
		return;
	}
	json_out_raw(o, text, (size_t)(link - text));
	json_out_lit(o, " aria-current=\"page\"");
	json_out_raw(o, link, n - (size_t)(link - text));
}

static void fill(struct json_out *o, const struct assembly *a,
		 const char *s, size_t n, const char *inner, size_t inner_len,
		 int nest);

/* put_part: o gets the part [part, part + len) filled in (its markers,
 * inner where it has WEBFILES_INNER), its link to file marked current
 * when file is not NULL. */
static void put_part(struct json_out *o, const struct assembly *a,
		     const char *part, size_t len, const char *file,
		     size_t file_len, const char *inner, size_t inner_len,
		     int nest)
{
	struct json_out t = { 0 };

	if (!file) {
		fill(o, a, part, len, inner, inner_len, nest);
		return;
	}
	fill(&t, a, part, len, inner, inner_len, nest);
	if (t.failed)
		o->failed = 1;
	else
		put_marked(o, t.p ? t.p : "", t.len, file, file_len);
	json_out_free(&t);
}

/* fill: o gets s[0..n) with each marker whose part the shell has filled
 * in. nest 0 is the page itself: its text goes as it is and a marker may
 * enclose text up to its closing mark (for the part's WEBFILES_INNER);
 * in a part (nest > 0) the shell's links are made relative to the page,
 * WEBFILES_INNER gets inner, and parts go no deeper than
 * WEBFILES_NEST_MAX. */
static void fill(struct json_out *o, const struct assembly *a,
		 const char *s, size_t n, const char *inner, size_t inner_len,
		 int nest)
{
	static const char open_mark[] = "<!--alliance:";
	const char *at = s, *end = s + n, *m;

	while ((m = memmem(at, (size_t)(end - at), open_mark,
			   sizeof(open_mark) - 1)) != NULL) {
		const char *name = m + sizeof(open_mark) - 1, *close, *arg;
		const char *part, *enclosed = NULL, *after;
		size_t name_len, part_len, enclosed_len = 0;
		char closing[WEBFILES_PART_NAME_MAX + 24];

		close = memmem(name, (size_t)(end - name), "-->", 3);
		if (!close)
			break;
		arg = memchr(name, ':', (size_t)(close - name));
		name_len = (size_t)((arg ? arg : close) - name);
		if (nest)
			put_shell_text(o, a, at, (size_t)(m - at));
		else
			json_out_raw(o, at, (size_t)(m - at));
		after = close + 3;
		if (nest && !arg && name_len == strlen(WEBFILES_INNER) &&
		    memcmp(name, WEBFILES_INNER, name_len) == 0) {
			if (inner_len)
				json_out_raw(o, inner, inner_len);
		} else if (nest < WEBFILES_NEST_MAX &&
			   shell_part(a->shell, name, name_len, &part,
				      &part_len)) {
			snprintf(closing, sizeof(closing), "<!--/alliance:%.*s-->",
				 (int)name_len, name);
			if (!nest && memmem(part, part_len, "<!--alliance:"
					    WEBFILES_INNER "-->",
					    sizeof("<!--alliance:"
						   WEBFILES_INNER "-->") - 1) &&
			    (enclosed = memmem(after, (size_t)(end - after),
					       closing, strlen(closing)))) {
				enclosed_len = (size_t)(enclosed - after);
				enclosed = after;
				after += enclosed_len + strlen(closing);
			}
			put_part(o, a, part, part_len, arg ? arg + 1 : NULL,
				 arg ? (size_t)(close - arg - 1) : 0, enclosed,
				 enclosed_len, nest + 1);
			if (after < end && *after == '\n')
				after++;        /* the part ends its own line */
		} else {        /* another marker (lib/pages.h): kept */
			json_out_raw(o, m, (size_t)(after - m));
		}
		at = after;
	}
	if (nest)
		put_shell_text(o, a, at, (size_t)(end - at));
	else
		json_out_raw(o, at, (size_t)(end - at));
}

int webfiles_assemble(const char *root, const char *path, const char *page,
		      size_t len, char **out, size_t *outlen)
{
	struct json_out o = { 0 };
	char *shell = shell_read(root);
	struct assembly a = { .shell = shell, .depth = 0 };

	for (const char *p = path + (*path == '/'); (p = strchr(p, '/'));
	     p++)
		a.depth++;
	if (shell)
		fill(&o, &a, page, len, NULL, 0, 0);
	else
		json_out_raw(&o, page, len);
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
		if (webfiles_assemble(root, path, body, f->len, &page,
				      &page_len) != ERR_OK) {
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
