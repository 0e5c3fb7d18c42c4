/* pages.c: the residents' pages that carry the bulletins in force (see
 * pages.h).
 *
 * The markup is the one web/js/resident.js (renderBanner) and
 * web/js/bulletins.js (bulletinArticle) build, with the Chinese words of
 * web/js/i18n.js, resident-i18n.js and bulletins-i18n.js and data-i18n on
 * the plain labels, so the scripts adopt it and the language switch
 * rewrites it. Text is escaped as it is copied; nothing of a bulletin is
 * ever copied raw. The growing buffer is json_out.h's (its raw appends).
 *
 * The style sheets go inline too (PAGES_MARK_STYLE), one after the other
 * in one <style> named by its hash in the reply's Content-Security-Policy:
 * a linked one would block the first paint for another round trip (2 s
 * on a slow 3G link).
 *
 * A rendered page is kept (struct pages_cache, one per daemon) until its
 * file, a style sheet or the bulletins change, or one of them expires:
 * rendering costs about 0.3 ms of the service thread, serving the kept
 * page far less, and residents fetch the home page most in a crisis.
 *
 * Parts: escaping and text; the banner; the list; rendering a page; the
 * files and the tags; the cache; serving it. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "json_out.h"
#include "alliance_limits.h"
#include "log.h"
#include "pages.h"
#include "phone.h"
#include "relay.h"
#include "webfiles.h"

/* ---- escaping and text ------------------------------------------------------ */

static void lit(struct json_out *o, const char *s) { json_out_lit(o, s); }

/* esc: s[0..n) as HTML text or attribute value: the five markup characters
 * as references; control characters other than line breaks and tabs (the
 * content rules refuse them; this is the last line) dropped. */
static void esc_n(struct json_out *o, const char *s, size_t n)
{
	size_t run = 0, i;

	for (i = 0; i < n; i++) {
		const char *ref = NULL;
		unsigned char ch = (unsigned char)s[i];

		switch (ch) {
		case '<': ref = "&lt;"; break;
		case '>': ref = "&gt;"; break;
		case '&': ref = "&amp;"; break;
		case '"': ref = "&quot;"; break;
		case '\'': ref = "&#39;"; break;
		default:
			if ((ch < 0x20 && ch != '\n' && ch != '\t') ||
			    ch == 0x7f)
				ref = "";
		}
		if (!ref)
			continue;
		json_out_raw(o, s + run, i - run);
		lit(o, ref);
		run = i + 1;
	}
	json_out_raw(o, s + run, n - run);
}

static void esc(struct json_out *o, const char *s)
{
	if (s)
		esc_n(o, s, strlen(s));
}

/* text: s escaped, each phone number in it a tel: link. */
static void text(struct json_out *o, const char *s)
{
	size_t len = s ? strlen(s) : 0, at = 0, a, b;
	char tel[32];

	while (at < len && phone_next(s, len, at, &a, &b, tel,
					    sizeof(tel))) {
		esc_n(o, s + at, a - at);
		lit(o, "<a class=\"tel\" href=\"tel:");
		esc(o, tel);
		lit(o, "\">");
		esc_n(o, s + a, b - a);
		lit(o, "</a>");
		at = b;
	}
	if (at < len)
		esc_n(o, s + at, len - at);
}

/* local_time: t as "2026年12月06日 13:52 (UTC+8)" in the daemon's time
 * zone, which a resident reads without a script to convert it. */
static void local_time(struct json_out *o, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64], zone[48];
	long off;

	if (!localtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y年%m月%d日 %H:%M", &tm))
		return;
	off = tm.tm_gmtoff / 60;
	if (off % 60)
		snprintf(zone, sizeof(zone), " (UTC%+ld:%02ld)", off / 60,
			 labs(off % 60));
	else
		snprintf(zone, sizeof(zone), " (UTC%+ld)", off / 60);
	lit(o, buf);
	lit(o, zone);
}

/* ---- the banner -------------------------------------------------------------- */

static const char *const severities[] = { "extreme", "severe", "moderate",
					  "minor" };
/* i18n.js's severity_* words, in the order above, then "unknown". */
static const char *const severity_words[] = {
	"特别严重（红色）", "严重（橙色）", "较重（黄色）", "一般（蓝色）",
	"等级未知",
};

static size_t severity_index(const char *sev)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(sev, severities[i]) == 0)
			return i;
	return 4;
}

static const char *severity_class(size_t i)
{
	return i < 4 ? severities[i] : "unknown";
}

/* severity_badge: common.js's severityBadge. */
static void severity_badge(struct json_out *o, size_t sev)
{
	lit(o, "<span class=\"sev-label sev-");
	lit(o, severity_class(sev));
	lit(o, "\"><svg class=\"icon\" aria-hidden=\"true\" focusable=\"false\">"
	    "<use href=\"img/icons.svg#");
	lit(o, sev >= 3 ? "info" : "warning");
	lit(o, "\"/></svg><span data-i18n=\"severity_");
	lit(o, severity_class(sev));
	lit(o, "\">");
	lit(o, severity_words[sev]);
	lit(o, "</span></span>");
}

/* banner_item: one bulletin of the banner, as resident.js's bannerItem. */
static void banner_item(struct json_out *o, const BulletinContent *c)
{
	size_t sev = severity_index(c->severity);
	int big = sev <= 1;

	lit(o, "<div class=\"banner sev-");
	lit(o, severity_class(sev));
	lit(o, big ? " big\" role=\"alert\"" : "\" role=\"status\"");
	lit(o, " data-bulletin=\"");
	esc(o, c->id);
	lit(o, "\" data-sent=\"");
	json_out_int(o, c->sent);
	lit(o, "\"><p class=\"banner-head\">");
	severity_badge(o, sev);
	lit(o, "<strong class=\"banner-headline\">");
	esc(o, c->headline);
	lit(o, "</strong></p><div class=\"banner-detail\" id=\"bd-");
	esc(o, c->id);
	lit(o, "\">");
	if (big && c->instructions && *c->instructions) {
		lit(o, "<p class=\"banner-do\"><span class=\"label\">"
		    "<span data-i18n=\"bulletin_instructions\">请您这样做</span>"
		    "：</span>");
		text(o, c->instructions);
		lit(o, "</p>");
	}
	lit(o, "<a class=\"banner-more\" href=\"bulletins.html#b-");
	esc(o, c->id);
	lit(o, "\" data-i18n=\"bulletin_more\">查看详情</a></div></div>");
}

/* ---- the list ------------------------------------------------------------------ */

/* part: a titled text of an article, as bulletins.js's part(). */
static void part(struct json_out *o, const char *key, const char *title,
		 const char *s, const char *cls)
{
	if (!s || !*s)
		return;
	lit(o, "<h4 data-i18n=\"");
	lit(o, key);
	lit(o, "\">");
	lit(o, title);
	lit(o, "</h4><p class=\"body-text");
	lit(o, cls);
	lit(o, "\">");
	text(o, s);
	lit(o, "</p>");
}

/* community_name: the display name of community id from the district's
 * directory (names: its statement, or NULL), escaped; the id itself when
 * the directory has none, as the pages' scripts do. */
static void community_name(struct json_out *o, sqlite3_stmt *names,
			   const char *id)
{
	Alliance__V1__Community *c = NULL;

	if (names) {
		sqlite3_bind_text(names, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(names) == SQLITE_ROW)
			c = alliance__v1__community__unpack(NULL,
				(size_t)sqlite3_column_bytes(names, 0),
				sqlite3_column_blob(names, 0));
		sqlite3_reset(names);
	}
	esc(o, c && c->name[0] ? c->name : id);
	if (c)
		alliance__v1__community__free_unpacked(c, NULL);
}

/* list_item: one bulletin in full, as bulletins.js's bulletinArticle. */
static void list_item(struct json_out *o, sqlite3_stmt *names,
		      const BulletinContent *c)
{
	size_t sev = severity_index(c->severity);
	size_t i;

	lit(o, "<li class=\"bulletin\" id=\"b-");
	esc(o, c->id);
	lit(o, "\" data-bulletin=\"");
	esc(o, c->id);
	lit(o, "\"><article><div class=\"bulletin-top sev-");
	lit(o, severity_class(sev));
	lit(o, "\"><p class=\"banner-head\">");
	severity_badge(o, sev);
	if (strcmp(c->type, "update") == 0)
		lit(o, "<span class=\"state\" data-i18n=\"type_update\">更新"
		    "</span>");
	lit(o, "<span class=\"state\" data-i18n=\"status_current\">生效中"
	    "</span></p><h3>");
	esc(o, c->headline);
	lit(o, "</h3></div><div class=\"bulletin-body\">");
	part(o, "bulletin_instructions", "请您这样做", c->instructions, " do");
	part(o, "bulletin_what", "发生了什么", c->description, "");
	part(o, "bulletin_cause", "原因", c->cause, "");
	part(o, "bulletin_response", "政府正在做什么", c->response, "");
	lit(o, "<p class=\"note\">范围：");
	if (!c->n_area)
		lit(o, "全区");
	for (i = 0; i < c->n_area; i++) {
		if (i)
			lit(o, "、");
		community_name(o, names, c->area[i]);
	}
	lit(o, "</p><p class=\"note\">发布单位：");
	esc(o, c->sender);
	lit(o, "</p><p class=\"note\">发布于 ");
	local_time(o, c->sent);
	lit(o, " · 有效至 ");
	local_time(o, c->expires);
	lit(o, "</p></div></article></li>");
}

/* ---- rendering a page ------------------------------------------------------------ */

/* What is rendered while the bulletins are read. */
struct render {
	struct json_out banner, list;
	size_t banner_left, list_left;  /* bulletins over the byte bounds */
	size_t n;                       /* bulletins in force */
	sqlite3_stmt *names;            /* a community's directory record,
					 * or NULL (community_name) */
};

static int render_one(const BulletinContent *c, const char *status,
		      void *arg)
{
	struct render *r = arg;

	(void)status;           /* current only */
	if (strcmp(c->type, "cancel") == 0)
		return ERR_OK;  /* a cancellation is in force as the
				 * absence of what it cancels */
	r->n++;
	if (r->banner.len < LIMIT_PAGE_BANNER_BYTES)
		banner_item(&r->banner, c);
	else
		r->banner_left++;
	if (r->list.len < LIMIT_PAGE_LIST_BYTES)
		list_item(&r->list, r->names, c);
	else
		r->list_left++;
	return ERR_OK;
}

/* more_note: "N more" when the bounds left bulletins out. */
static void more_note(struct json_out *o, size_t left)
{
	if (!left)
		return;
	lit(o, "<p class=\"note\">还有 ");
	json_out_int(o, (int64_t)left);
	lit(o, " 条紧急通告未在此显示，请开启 JavaScript 查看。</p>");
}

/* splice_mark: o gets tpl with mark replaced by what; when the closing
 * mark ("<!--/alliance:...-->") follows, what the two enclose (the file's
 * own text for when it is served as it is) goes too. */
static void splice_mark(struct json_out *o, const char *tpl, size_t len,
			const char *mark, const char *what, size_t what_len)
{
	const char *at = memmem(tpl, len, mark, strlen(mark)), *rest, *close;
	char closing[64];

	if (!at) {
		json_out_raw(o, tpl, len);
		return;
	}
	json_out_raw(o, tpl, (size_t)(at - tpl));
	json_out_raw(o, what, what_len);
	rest = at + strlen(mark);
	/* "<!--alliance:x-->" closes as "<!--/alliance:x-->" */
	snprintf(closing, sizeof(closing), "<!--/%s", mark + 4);
	close = memmem(rest, len - (size_t)(rest - tpl), closing,
		       strlen(closing));
	if (close)
		rest = close + strlen(closing);
	json_out_raw(o, rest, len - (size_t)(rest - tpl));
}

/* style_source: the CSP source naming css as an inline style. */
static void style_source(const char *css, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[64];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(css, len, md, &mdlen, EVP_sha256(), NULL) &&
	    EVP_EncodeBlock(b64, md, (int)mdlen) > 0)
		snprintf(out, n, "'sha256-%s'", b64);
}

int pages_render(sqlite3 *db, int64_t now, const char *tpl, size_t len,
		 const char *css, char **out, size_t *outlen,
		 char *style_hash, size_t hashlen)
{
	struct render r;
	struct json_out list = { 0 }, style = { 0 }, step = { 0 };
	char *text = NULL;
	size_t text_len = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	style_hash[0] = '\0';
	memset(&r, 0, sizeof(r));
	/* no directory table (an older store): ids are shown */
	if (sqlite3_prepare_v2(db, "SELECT body FROM directory WHERE origin ="
			       " ?2 AND kind = ?3 AND id = ?1 AND deleted = 0",
			       -1, &r.names, NULL) == SQLITE_OK) {
		sqlite3_bind_text(r.names, 2, RELAY_DISTRICT, -1, SQLITE_STATIC);
		sqlite3_bind_int(r.names, 3, ALLIANCE__V1__KIND__KIND_COMMUNITY);
	} else {
		r.names = NULL;
	}
	rc = bulletin_store_each(db, now, 1, 1, render_one, &r);
	if (rc != ERR_OK)
		goto done;
	more_note(&r.banner, r.banner_left);
	/* the list: its heading, the bulletins in force or "none" */
	lit(&list, "<section aria-labelledby=\"h-now\"><h2 id=\"h-now\" "
	    "data-i18n=\"current_bulletins\">正在生效</h2>");
	if (r.n) {
		lit(&list, "<ul class=\"plain\">");
		json_out_raw(&list, r.list.p ? r.list.p : "", r.list.len);
		lit(&list, "</ul>");
	} else {
		lit(&list, "<p class=\"note\" data-i18n=\"none_bulletins\">"
		    "目前没有紧急通告。</p>");
	}
	more_note(&list, r.list_left);
	lit(&list, "</section>");
	/* the style sheet inline, unless it could end the element early */
	if (css && !strcasestr(css, "</style")) {
		lit(&style, "<style>");
		lit(&style, css);
		lit(&style, "</style>");
		style_source(css, strlen(css), style_hash, hashlen);
	}
	if (list.failed || style.failed) {
		rc = ERR_NOMEM;
		goto done;
	}
	/* the marks one after the other, each step's text the next's input */
	splice_mark(&step, tpl, len, PAGES_MARK_BANNER,
		    r.banner.p ? r.banner.p : "", r.banner.len);
	text = json_out_take(&step, &text_len);
	if (text) {
		splice_mark(&step, text, text_len, PAGES_MARK_LIST,
			    list.p ? list.p : "", list.len);
		free(text);
		text = json_out_take(&step, &text_len);
	}
	if (text && style_hash[0]) {
		splice_mark(&step, text, text_len, PAGES_MARK_STYLE, style.p,
			    style.len);
		free(text);
		text = json_out_take(&step, &text_len);
	}
	if (!text) {
		rc = ERR_NOMEM;
		goto done;
	}
	*out = text;
	*outlen = text_len;
	text = NULL;
	rc = ERR_OK;
done:
	sqlite3_finalize(r.names);
	free(text);
	json_out_free(&r.banner);
	json_out_free(&r.list);
	json_out_free(&list);
	json_out_free(&style);
	json_out_free(&step);
	return rc;
}

/* ---- the files and the tags ------------------------------------------------------ */

/* page_file: the slot in the cache and the file of a rendered page, or
 * -1 for any other path. */
static int page_file(const char *uri, size_t len, const char **file)
{
	static const struct {
		const char *uri;
		const char *file;
		int slot;
	} pages[] = {
		{ "/", "index.html", 0 },
		{ "/index.html", "index.html", 0 },
		{ "/bulletins.html", "bulletins.html", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strlen(pages[i].uri) == len &&
		    memcmp(pages[i].uri, uri, len) == 0) {
			*file = pages[i].file;
			return pages[i].slot;
		}
	return -1;
}

/* read_page: web_root/name into a new buffer (caller frees), at most
 * LIMIT_PAGE_TEMPLATE bytes. ERR_OK, ERR_IO or ERR_TOOBIG. */
static int read_page(const char *web_root, const char *name, char **out,
		     size_t *len)
{
	char path[4096];
	struct stat st;
	ssize_t got = 0;
	char *buf;
	int fd;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", web_root, name) >=
	    (int)sizeof(path))
		return ERR_IO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > LIMIT_PAGE_TEMPLATE) {
		close(fd);
		return ERR_TOOBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf)
		got = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (!buf || got != (ssize_t)st.st_size) {
		free(buf);
		return ERR_IO;
	}
	buf[got] = '\0';
	*out = buf;
	*len = (size_t)got;
	return ERR_OK;
}

/* ---- the cache ---------------------------------------------------------------------- */

/* The style sheets put inline, in order. */
static const char *const style_files[] = { PAGES_STYLE_FILES };
#define STYLE_FILES (sizeof(style_files) / sizeof(style_files[0]))

/* What a rendered page was made from: its file, the page shell
 * (lib/webfiles.h), the style sheets, and the
 * bulletins (stored only ever added; the status of each changes with a
 * reference stored or an expiry passing, so the number of references and
 * the next expiry are part of it), and the directory's names of the
 * communities an area lists. Made with memset first so that equal keys
 * compare equal with memcmp. */
struct page_key {
	struct timespec tpl_mtime, css_mtime[STYLE_FILES], shell_mtime;
	off_t tpl_size, css_size[STYLE_FILES], shell_size;
	ino_t tpl_ino, css_ino[STYLE_FILES], shell_ino;
	int64_t bulletins, last_rowid, refs, next_expiry;
	int64_t names;              /* the directory's versions, summed */
};

struct pages_entry {
	const char *file;           /* one of page_file's; NULL: unused */
	struct page_key key;
	char *body;                 /* the rendered page (owned) */
	size_t len;
	char *gz;                   /* gzipped once (owned), or NULL */
	size_t gz_len;
	char etag[HTTP_ETAG_MAX];
	char style_hash[HTTP_STYLE_HASH_MAX];
};

/* The pages last rendered, one per page file. */
struct pages_cache {
	struct pages_entry entries[PAGES_FILES];
};

void pages_cache_free(struct pages_cache **cache)
{
	size_t i;

	if (!cache || !*cache)
		return;
	for (i = 0; i < PAGES_FILES; i++) {
		free((*cache)->entries[i].body);
		free((*cache)->entries[i].gz);
	}
	free(*cache);
	*cache = NULL;
}

/* file_key: mtime, size and inode of web_root/name (zeros when absent). */
static void file_key(const char *web_root, const char *name,
		     struct timespec *mtime, off_t *size, ino_t *ino)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", web_root, name) >=
	    (int)sizeof(path) || stat(path, &st))
		return;
	*mtime = st.st_mtim;
	*size = st.st_size;
	*ino = st.st_ino;
}

/* page_key_of: the key of file as things stand at now. ERR_OK or ERR_IO. */
static int page_key_of(sqlite3 *db, const char *web_root, const char *file,
		       int64_t now, struct page_key *k)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	memset(k, 0, sizeof(*k));
	file_key(web_root, file, &k->tpl_mtime, &k->tpl_size, &k->tpl_ino);
	webfiles_shell_key(web_root, &k->shell_mtime, &k->shell_size,
			   &k->shell_ino);
	for (i = 0; i < STYLE_FILES; i++)
		file_key(web_root, style_files[i], &k->css_mtime[i],
			 &k->css_size[i], &k->css_ino[i]);
	if (sqlite3_prepare_v2(db,
		"SELECT (SELECT count(*) FROM bulletin),"
		" (SELECT ifnull(max(rowid), 0) FROM bulletin),"
		" (SELECT count(*) FROM bulletin_ref),"
		" (SELECT ifnull(min(expires), 0) FROM bulletin"
		"  WHERE expires > ?1),"
		" (SELECT ifnull(sum(version), 0) FROM directory"
		"  WHERE kind = ?2)", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, ALLIANCE__V1__KIND__KIND_COMMUNITY);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		k->bulletins = sqlite3_column_int64(st, 0);
		k->last_rowid = sqlite3_column_int64(st, 1);
		k->refs = sqlite3_column_int64(st, 2);
		k->next_expiry = sqlite3_column_int64(st, 3);
		k->names = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? ERR_OK : ERR_IO;
}

/* read_styles: the style sheets, one after the other, in a new
 * NUL-terminated buffer (caller frees); NULL when one cannot be read. */
static char *read_styles(const char *web_root)
{
	char *all = NULL, *css, *grown;
	size_t len = 0, n, i;

	for (i = 0; i < STYLE_FILES; i++) {
		if (read_page(web_root, style_files[i], &css, &n) != ERR_OK) {
			free(all);
			return NULL;
		}
		grown = realloc(all, len + n + 1);
		if (!grown) {
			free(css);
			free(all);
			return NULL;
		}
		all = grown;
		memcpy(all + len, css, n + 1);
		len += n;
		free(css);
	}
	return all;
}

/* render_file: a fresh rendering of file into e (its old one freed).
 * ERR_OK, or the failure (e then unused). */
static int render_file(sqlite3 *db, const char *web_root, const char *file,
		       int64_t now, struct pages_entry *e)
{
	char *raw = NULL, *tpl = NULL, *css;
	size_t raw_len = 0, tpl_len = 0;
	int rc;

	free(e->body);
	e->body = NULL;
	free(e->gz);
	e->gz = NULL;
	e->file = NULL;
	rc = read_page(web_root, file, &raw, &raw_len);
	if (rc != ERR_OK)
		return rc;
	rc = webfiles_assemble(web_root, file, raw, raw_len, &tpl, &tpl_len);
	free(raw);
	if (rc != ERR_OK)
		return rc;
	css = read_styles(web_root);    /* NULL: the page keeps its <link>s */
	rc = pages_render(db, now, tpl, tpl_len, css, &e->body, &e->len,
			  e->style_hash, sizeof(e->style_hash));
	free(tpl);
	free(css);
	if (rc != ERR_OK)
		return rc;
	http_etag_of(e->body, e->len, e->etag, sizeof(e->etag));
	if (http_gzip(e->body, e->len, 9, &e->gz, &e->gz_len) != ERR_OK)
		e->gz = NULL;       /* served plain */
	e->file = file;
	return ERR_OK;
}

/* ---- serving it ----------------------------------------------------------------- */

int pages_serve(struct lws *wsi, struct http_exchange *ex, sqlite3 *db,
		const char *web_root, struct pages_cache **cache)
{
	struct pages_entry *e = NULL;
	struct page_key key;
	const char *file;
	int64_t now = clock_now();
	int slot;

	if (!web_root || !db || !cache || ex->method != HTTP_GET)
		return 0;
	slot = page_file(ex->path, strlen(ex->path), &file);
	if (slot < 0)
		return 0;
	if (!*cache && !(*cache = calloc(1, sizeof(**cache))))
		return 0;
	e = &(*cache)->entries[slot];
	if (page_key_of(db, web_root, file, now, &key) != ERR_OK)
		memset(&key, 0xff, sizeof(key));   /* never matches: render */
	if (!e->file || memcmp(&key, &e->key, sizeof(key)) != 0) {
		int rc = render_file(db, web_root, file, now, e);

		if (rc != ERR_OK) {
			if (rc != ERR_IO && rc != ERR_TOOBIG)
				log_error("pages: cannot render %s with the "
					  "bulletins; serving the file as it "
					  "is", file);
			return 0;       /* served as a file */
		}
		e->key = key;
	}
	ex->cache_control = "no-cache";
	snprintf(ex->style_hash, sizeof(ex->style_hash), "%s", e->style_hash);
	http_reply_variants(wsi, ex, "text/html; charset=utf-8", e->body,
			    e->len, e->gz, e->gz_len, e->etag);
	return 1;
}
