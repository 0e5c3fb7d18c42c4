/* bulletin_store.c: bulletins in sqlite and the public bulletin endpoints
 * (see bulletin_store.h).
 *
 * The tables are a numbered migration of each daemon's store
 * (bulletin_schema_v1); IF NOT EXISTS keeps stores made before that safe.
 *
 * What is shown is always decoded from the signed bytes, so a reader sees
 * exactly what the issuer signed. Prepared statements only; those of
 * storing are prepared once per connection (struct bulletin_store).
 *
 * Parts: schema; storing; reading; JSON; the list; the public endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "text.h"

/* ---- schema ----------------------------------------------------------- */

const char bulletin_schema_v1[] =
	"CREATE TABLE IF NOT EXISTS bulletin ("
	"  id TEXT PRIMARY KEY,"
	"  signed BLOB NOT NULL,"          /* BulletinContent as signed */
	"  signature BLOB NOT NULL,"
	"  key_id TEXT NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  urgency TEXT NOT NULL,"
	"  certainty TEXT NOT NULL,"
	"  category TEXT NOT NULL,"
	"  headline TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  cause TEXT NOT NULL,"
	"  response TEXT NOT NULL,"
	"  instructions TEXT NOT NULL,"
	"  area TEXT NOT NULL,"            /* JSON list; [] = every community */
	"  sent INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  received_ms INTEGER NOT NULL,"  /* stored here, unix ms */
	"  posted_by TEXT"                 /* hub: operator CN; node: NULL */
	");"
	"CREATE TABLE IF NOT EXISTS bulletin_ref ("
	"  ref TEXT NOT NULL,"             /* the bulletin replaced */
	"  id TEXT NOT NULL,"              /* the update or cancel */
	"  type TEXT NOT NULL,"
	"  PRIMARY KEY (ref, id)"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS bulletin_by_sent ON bulletin (sent);";

/* The status of bulletin b at ?1 (now), as SQL. */
#define STATUS_SQL \
	"CASE WHEN EXISTS (SELECT 1 FROM bulletin_ref r WHERE r.ref = b.id" \
	" AND r.type = 'cancel') THEN 'cancelled'" \
	" WHEN EXISTS (SELECT 1 FROM bulletin_ref r WHERE r.ref = b.id" \
	" AND r.type = 'update') THEN 'updated'" \
	" WHEN b.expires <= ?1 THEN 'expired' ELSE 'current' END"

/* ---- storing ------------------------------------------------------------ */

/* area_text: the area as a JSON list (caller frees), NULL on no memory. */
static char *area_text(const BulletinContent *c)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	for (i = 0; a && i < c->n_area; i++)
		json_array_append_new(a, json_string(c->area[i]));
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

struct bulletin_store {
	sqlite3 *db;                /* the caller's connection */
	sqlite3_stmt *existing;     /* the signed bytes stored under an id */
	sqlite3_stmt *insert;       /* a new bulletin */
	sqlite3_stmt *insert_ref;   /* one of its references */
};

int bulletin_store_open(sqlite3 *db, struct bulletin_store **out)
{
	static const char *const sql[] = {
		"SELECT signed FROM bulletin WHERE id = ?",
		"INSERT INTO bulletin (id, signed, signature, key_id, sender,"
		" type, severity, urgency, certainty, category, headline,"
		" description, cause, response, instructions, area, sent,"
		" expires, received_ms, posted_by) VALUES (?, ?, ?, ?, ?, ?, ?,"
		" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"INSERT OR IGNORE INTO bulletin_ref (ref, id, type)"
		" VALUES (?, ?, ?)",
	};
	struct bulletin_store *bs;
	size_t i;

	*out = NULL;
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		return ERR_NOMEM;
	bs->db = db;
	{
		sqlite3_stmt **slots[] = {
			&bs->existing, &bs->insert, &bs->insert_ref,
		};

		for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
			if (sqlite3_prepare_v3(db, sql[i], -1,
					       SQLITE_PREPARE_PERSISTENT,
					       slots[i], NULL) != SQLITE_OK) {
				log_error("store: preparing the bulletin "
					  "statements: %s", sqlite3_errmsg(db));
				bulletin_store_close(&bs);
				return ERR_IO;
			}
	}
	*out = bs;
	return ERR_OK;
}

void bulletin_store_close(struct bulletin_store **bs)
{
	if (!bs || !*bs)
		return;
	sqlite3_finalize((*bs)->existing);
	sqlite3_finalize((*bs)->insert);
	sqlite3_finalize((*bs)->insert_ref);
	free(*bs);
	*bs = NULL;
}

/* done: step st, which returns no row, then reset it and drop its
 * bindings (they point into the caller's buffers). ERR_OK or ERR_IO. */
static int done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* existing: whether id is stored, and whether with these signed bytes. */
static int existing(struct bulletin_store *bs, const char *id,
		    const uint8_t *content, size_t len,
		    enum bulletin_put *outcome, int *found)
{
	sqlite3_stmt *st = bs->existing;
	int rc;

	*found = 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		*found = 1;
		*outcome = n == len && (n == 0 || memcmp(b, content, n) == 0)
			   ? BULLETIN_REPLAY : BULLETIN_CONFLICT;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int bulletin_store_put(struct bulletin_store *bs,
		       const uint8_t *signed_content,
		       size_t signed_len, const uint8_t *sig, size_t sig_len,
		       const BulletinContent *c, const char *posted_by,
		       int64_t received_ms, enum bulletin_put *outcome)
{
	sqlite3_stmt *st = bs->insert;
	char *area = NULL;
	int found, rc = ERR_IO;
	size_t i;

	if (existing(bs, c->id, signed_content, signed_len, outcome, &found))
		goto out;
	if (found)
		return ERR_OK;
	area = area_text(c);
	if (!area) {
		rc = ERR_NOMEM;
		goto out;
	}
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, signed_content, (int)signed_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, sig, (int)sig_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, c->urgency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, c->certainty, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, c->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, c->headline, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, c->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, c->cause, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, c->response, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, c->instructions, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, area, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 17, c->sent);
	sqlite3_bind_int64(st, 18, c->expires);
	sqlite3_bind_int64(st, 19, received_ms);
	if (posted_by)
		sqlite3_bind_text(st, 20, posted_by, -1, SQLITE_STATIC);
	if (done(st) != ERR_OK)
		goto out;
	st = bs->insert_ref;
	for (i = 0; i < c->n_references; i++) {
		sqlite3_bind_text(st, 1, c->references[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
		if (done(st) != ERR_OK)
			goto out;
	}
	*outcome = BULLETIN_STORED;
	rc = ERR_OK;
out:
	if (rc == ERR_IO)
		log_error("store: storing bulletin %s: %s", c->id,
			  sqlite3_errmsg(bs->db));
	free(area);
	return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* blob_copy: a malloc'd copy of a blob column (at least one byte). */
static uint8_t *blob_copy(sqlite3_stmt *st, int col, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	uint8_t *p = malloc(n ? n : 1);

	if (p && n)
		memcpy(p, sqlite3_column_blob(st, col), n);
	*len = n;
	return p;
}

int bulletin_store_get(sqlite3 *db, const char *id, int64_t now,
		       struct bulletin_row *row)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	memset(row, 0, sizeof(*row));
	if (sqlite3_prepare_v2(db, "SELECT signed, signature, " STATUS_SQL
			       ", posted_by, received_ms, rowid FROM bulletin b"
			       " WHERE id = ?2", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? ERR_NOTFOUND : ERR_IO;
	}
	row->signed_content = blob_copy(st, 0, &row->signed_len);
	row->sig = blob_copy(st, 1, &row->sig_len);
	t = sqlite3_column_text(st, 2);
	snprintf(row->status, sizeof(row->status), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 3);
	snprintf(row->posted_by, sizeof(row->posted_by), "%s",
		 t ? (const char *)t : "");
	row->received_ms = sqlite3_column_int64(st, 4);
	row->seq = sqlite3_column_int64(st, 5);
	sqlite3_finalize(st);
	if (!row->signed_content || !row->sig ||
	    bulletin_decode(row->signed_content, row->signed_len, &row->c)) {
		bulletin_row_free(row);
		return ERR_IO;
	}
	return ERR_OK;
}

/* seq_query: the first column of sql's first row (and its second, the
 * id, into id when not NULL), with ?1 after, ?2 now and ?3 n bound where
 * sql has them (binding a parameter it lacks does nothing); *out 0 when
 * there is no row. ERR_OK or ERR_IO. */
static int seq_query(sqlite3 *db, const char *sql, int64_t after,
		     int64_t now, int64_t n, int64_t *out, char *id,
		     size_t idlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		if (id)
			snprintf(id, idlen, "%s",
				 (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int bulletin_store_next(sqlite3 *db, int64_t after, int64_t now,
			int64_t *seq, char *id, size_t idlen)
{
	return seq_query(db, "SELECT rowid, id FROM bulletin WHERE rowid > ?1"
			 " AND expires > ?2 ORDER BY rowid LIMIT 1",
			 after, now, 0, seq, id, idlen);
}

int bulletin_store_last_seq(sqlite3 *db, int64_t *seq)
{
	return seq_query(db, "SELECT ifnull(max(rowid), 0) FROM bulletin", 0,
			 0, 0, seq, NULL, 0);
}

int bulletin_store_replay_from(sqlite3 *db, int64_t after, int64_t now,
			       int64_t max, int64_t *from)
{
	int64_t nth = 0;
	int rc = seq_query(db, "SELECT rowid FROM bulletin WHERE rowid > ?1"
			   " AND expires > ?2 ORDER BY rowid DESC LIMIT 1"
			   " OFFSET ?3", after, now, max, &nth, NULL, 0);

	*from = nth > after ? nth : after;
	return rc;
}

void bulletin_row_free(struct bulletin_row *row)
{
	bulletin_content_free(&row->c);
	free(row->signed_content);
	free(row->sig);
	memset(row, 0, sizeof(*row));
}

/* ---- JSON ------------------------------------------------------------------- */

static json_t *string_list(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *bulletin_json(const BulletinContent *c, const char *status)
{
	char sent[CLOCK_RFC3339_LEN], expires[CLOCK_RFC3339_LEN];
	char cap[LIMIT_RECORD_ID + 32];
	json_t *obj;

	snprintf(cap, sizeof(cap), "/api/v1/bulletins/%s.cap", c->id);
	obj = json_pack(
		"{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
		" s:s, s:o, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
		"id", c->id,
		"type", c->type,
		"references", string_list(c->references, c->n_references),
		"sender", c->sender,
		"severity", c->severity,
		"urgency", c->urgency,
		"certainty", c->certainty,
		"category", c->category,
		"headline", c->headline,
		"description", c->description,
		"cause", c->cause,
		"response", c->response,
		"instructions", c->instructions,
		"area", string_list(c->area, c->n_area),
		"sent", clock_rfc3339(c->sent, sent, sizeof(sent)),
		"expires", clock_rfc3339(c->expires, expires, sizeof(expires)),
		"sent_unix", (json_int_t)c->sent,
		"expires_unix", (json_int_t)c->expires,
		"status", status,
		"key_id", c->key_id,
		"cap", cap);
	/* English text: "" in bulletins that have none */
	if (obj && (json_object_update_new(obj, json_pack(
		"{s:s, s:s, s:s, s:s, s:s}", "headline_en", c->headline_en,
		"description_en", c->description_en, "cause_en", c->cause_en,
		"response_en", c->response_en,
		"instructions_en", c->instructions_en)) != 0 ||
	    json_object_set_new(obj, "check_in",
				json_boolean(c->check_in)) != 0)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* ---- the list ---------------------------------------------------------------- */

/* The order of bulletin_store_each: in force first, then as the
 * caller asked, newest first within each. */
#define ORDER_SENT "sent DESC, r DESC"
#define ORDER_SEVERITY "CASE severity WHEN 'extreme' THEN 0" \
	" WHEN 'severe' THEN 1 WHEN 'moderate' THEN 2 WHEN 'minor' THEN 3" \
	" ELSE 4 END, sent DESC, r DESC"
#define LIST_SQL(order) \
	"SELECT signed, status FROM (SELECT b.signed, b.sent, b.severity," \
	" b.rowid AS r, " STATUS_SQL " AS status FROM bulletin b)" \
	" WHERE ?2 = 0 OR status = 'current'" \
	" ORDER BY status = 'current' DESC, " order " LIMIT ?3"

int bulletin_store_each(sqlite3 *db, int64_t now, int current_only,
			int by_severity, bulletin_each_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, out = ERR_OK;

	if (sqlite3_prepare_v2(db, by_severity ? LIST_SQL(ORDER_SEVERITY)
					       : LIST_SQL(ORDER_SENT),
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("store: listing bulletins: %s", sqlite3_errmsg(db));
		return ERR_IO;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, current_only);
	sqlite3_bind_int(st, 3, BULLETIN_LIST_MAX);
	while (out == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		BulletinContent *c = NULL;
		const unsigned char *status = sqlite3_column_text(st, 1);

		if (bulletin_decode(sqlite3_column_blob(st, 0),
				    (size_t)sqlite3_column_bytes(st, 0), &c)) {
			log_error("store: a stored bulletin does not decode");
			continue;
		}
		out = fn(c, status ? (const char *)status : "current", arg);
		bulletin_content_free(&c);
	}
	if (out == ERR_OK && rc != SQLITE_DONE)
		out = ERR_IO;
	sqlite3_finalize(st);
	return out;
}

static int add_json(const BulletinContent *c, const char *status, void *arg)
{
	json_t *item = bulletin_json(c, status);

	if (!item)
		return ERR_NOMEM;
	return json_array_append_new(arg, item) ? ERR_NOMEM : ERR_OK;
}

int bulletin_store_list(sqlite3 *db, int64_t now, int current_only,
			json_t **out)
{
	json_t *items = json_array();
	int rc;

	*out = NULL;
	if (!items)
		return ERR_NOMEM;
	rc = bulletin_store_each(db, now, current_only, 0, add_json, items);
	if (rc != ERR_OK) {
		json_decref(items);
		return rc;
	}
	*out = json_pack("{s:o}", "items", items);
	return *out ? ERR_OK : ERR_NOMEM;
}

/* ---- the public endpoints ---------------------------------------------------- */

/* The entries of an Atom feed being built (owning their content). */
struct feed {
	struct bulletin_atom_entry *e;
	BulletinContent **owned;
	size_t n;
};

static int add_entry(const BulletinContent *c, const char *status, void *arg)
{
	struct feed *f = arg;
	BulletinContent *copy = NULL;
	uint8_t *buf;
	size_t len = alliance__v1__bulletin_content__get_packed_size(c);

	/* bulletin_store_each frees c after the call: keep a decoded copy */
	buf = malloc(len ? len : 1);
	if (!buf)
		return ERR_NOMEM;
	alliance__v1__bulletin_content__pack(c, buf);
	bulletin_decode(buf, len, &copy);
	free(buf);
	if (!copy)
		return ERR_NOMEM;
	(void)status;
	f->owned[f->n] = copy;
	f->e[f->n].c = copy;
	f->e[f->n].status = "current";
	f->n++;
	return ERR_OK;
}

/* reply_xml: a rendered document (type; xml owned by the reply), or, when
 * rc is not ERR_OK, a 500 with the message failed. */
static void reply_xml(struct lws *wsi, struct http_exchange *ex, int rc,
		      const char *type, char *xml, size_t len,
		      const char *failed)
{
	if (rc != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "%s", failed);
		return;
	}
	http_reply(wsi, ex, 200, type, xml, len);
}

/* reply_missing: bulletin_store_get's failure rc for id as a reply. */
static void reply_missing(struct lws *wsi, struct http_exchange *ex, int rc,
			  const char *id)
{
	http_reply_error(wsi, ex, rc == ERR_NOTFOUND ? 404 : 500,
			 rc == ERR_NOTFOUND ? "not_found" : "internal",
			 "no bulletin %s", id);
}

void bulletin_http_atom(sqlite3 *db, struct lws *wsi,
			struct http_exchange *ex, const char *title,
			const char *base_url)
{
	struct feed f = { 0 };
	char *xml = NULL;
	size_t len = 0, i;
	int64_t now = clock_now();
	int rc = ERR_NOMEM;

	f.e = calloc(BULLETIN_LIST_MAX, sizeof(*f.e));
	f.owned = calloc(BULLETIN_LIST_MAX, sizeof(*f.owned));
	if (f.e && f.owned) {
		rc = bulletin_store_each(db, now, 1, 0, add_entry, &f);
		if (rc == ERR_OK)
			rc = bulletin_atom(title, base_url, f.e, f.n, now,
					   &xml, &len);
	}
	for (i = 0; i < f.n; i++)
		bulletin_content_free(&f.owned[i]);
	free(f.e);
	free(f.owned);
	reply_xml(wsi, ex, rc, "application/atom+xml; charset=utf-8", xml, len,
		  "cannot build the feed");
}

/* route_cap: /api/v1/bulletins/{id}.cap, with references resolved from
 * the store when they are held here. */
static void route_cap(sqlite3 *db, struct lws *wsi, struct http_exchange *ex,
		      const char *id, const char *base_url)
{
	struct bulletin_cap_ref refs[LIMIT_BULLETIN_REFS];
	struct bulletin_row row, ref_rows[LIMIT_BULLETIN_REFS];
	char *xml = NULL;
	size_t len = 0, i, n;
	int rc;

	rc = bulletin_store_get(db, id, clock_now(), &row);
	if (rc != ERR_OK) {
		reply_missing(wsi, ex, rc, id);
		return;
	}
	n = row.c->n_references < LIMIT_BULLETIN_REFS ? row.c->n_references
						      : LIMIT_BULLETIN_REFS;
	for (i = 0; i < n; i++) {
		memset(&refs[i], 0, sizeof(refs[i]));
		if (bulletin_store_get(db, row.c->references[i], clock_now(),
				       &ref_rows[i]) == ERR_OK) {
			refs[i].sender = ref_rows[i].c->sender;
			refs[i].sent = ref_rows[i].c->sent;
		}
	}
	rc = bulletin_cap_xml(row.c, refs, base_url, &xml, &len);
	for (i = 0; i < n; i++)
		bulletin_row_free(&ref_rows[i]);
	bulletin_row_free(&row);
	reply_xml(wsi, ex, rc, "application/cap+xml; charset=utf-8", xml, len,
		  "cannot render the bulletin");
}

static void route_one(sqlite3 *db, struct lws *wsi, struct http_exchange *ex,
		      const char *id)
{
	struct bulletin_row row;
	int rc = bulletin_store_get(db, id, clock_now(), &row);

	if (rc != ERR_OK) {
		reply_missing(wsi, ex, rc, id);
		return;
	}
	http_reply_json(wsi, ex, 200, bulletin_json(row.c, row.status));
	bulletin_row_free(&row);
}

void bulletin_http_list(sqlite3 *db, struct lws *wsi,
			struct http_exchange *ex)
{
	json_t *list = NULL;

	if (bulletin_store_list(db, clock_now(), 0, &list) != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal",
				 "cannot list the bulletins");
	else
		http_reply_json(wsi, ex, 200, list);
}

void bulletin_http_one(sqlite3 *db, struct lws *wsi, struct http_exchange *ex,
		       const char *id, int cap, const char *base_url)
{
	if (strlen(id) > LIMIT_RECORD_ID || !text_record_id_valid(id))
		http_reply_error(wsi, ex, 404, "not_found", "no such bulletin");
	else if (cap)
		route_cap(db, wsi, ex, id, base_url);
	else
		route_one(db, wsi, ex, id);
}
