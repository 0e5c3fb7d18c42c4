/* console.c: the manager console's sessions and its own endpoints, on the
 * node's public port next to the manager endpoints (manager.c).
 *
 *   GET    /api/v1/session       the session of the cookie: 200
 *                                {"csrf_token","community","name","idle_s"}
 *                                or 401
 *   POST   /api/v1/session       {"password"} (application/json): 201,
 *                                the same body and a session cookie
 *   DELETE /api/v1/session       logout: 204, the cookie cleared
 *   GET    /api/v1/manager/sync  the node's sync state with the hub
 *                                (the manager: cookie or Basic)
 *
 * A login runs the password through auth.c like HTTP Basic: the same
 * per-address limit (429), the same KDF worker. A session is 32 random
 * bytes, sent as a cookie (hex) that is HttpOnly, SameSite=Strict, Path=/
 * and, under HTTPS (this port's, or a trusted proxy's that says
 * X-Forwarded-Proto: https), Secure with the __Host- prefix; its CSRF
 * token (32 more random bytes) goes to the page in the JSON body only,
 * and every change authenticated by the cookie must repeat it in
 * X-CSRF-Token (403 otherwise). Sessions live here, on the service
 * thread, in a table of LIMIT_CONSOLE_SESSIONS: a login beyond that evicts
 * the session used least recently. A session ends after [limits]
 * session_idle_s without a change (the console's polling reads do not
 * keep it alive), LIMIT_SESSION_MAX_S after its login, at logout, and for
 * every session when SIGHUP brings a new password hash.
 *
 * Parts: the table; cookies and tokens; authentication; endpoints; the
 * route. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "mediatype.h"
#include "password.h"

#define CONSOLE_ID_BYTES 32
#define CONSOLE_HEX (2 * CONSOLE_ID_BYTES)
/* Under HTTPS the cookie takes the __Host- prefix: the browser then keeps
 * it only if it is Secure, for Path=/ and for this host alone. */
#define CONSOLE_COOKIE "alliance-session"
#define CONSOLE_COOKIE_TLS "__Host-alliance-session"
/* The header a console request carries its CSRF token in. */
#define CONSOLE_CSRF_HEADER "x-csrf-token:"
/* Longest Cookie header read (other cookies of the host included). */
#define CONSOLE_COOKIE_HEADER_MAX 4096

/* ---- the table ------------------------------------------------------------ */

struct console_session {
	unsigned char id[CONSOLE_ID_BYTES]; /* the cookie's value, decoded */
	char csrf[CONSOLE_HEX + 1]; /* the CSRF token (hex) */
	int64_t created;            /* login time; 0: free slot */
	int64_t used;               /* last request */
};

struct console {
	struct console_session s[LIMIT_CONSOLE_SESSIONS];
};

int console_new(struct console **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? ERR_OK : ERR_NOMEM;
}

void console_free(struct console **c)
{
	if (!*c)
		return;
	OPENSSL_cleanse(*c, sizeof(**c));
	free(*c);
	*c = NULL;
}

void console_logout_all(struct node *n)
{
	struct console *c = n->mgr ? n->mgr->console : NULL;

	if (!c)
		return;
	OPENSSL_cleanse(c->s, sizeof(c->s));
	log_info("manager: every console session ended");
}

static int live(const struct node *n, const struct console_session *s,
		int64_t now)
{
	return s->created && now - s->used < (int64_t)n->cfg.session_idle_s &&
	       now - s->created < LIMIT_SESSION_MAX_S;
}

/* find: the live session with id, or NULL; an expired one is freed. */
static struct console_session *find(struct node *n,
				    const unsigned char id[CONSOLE_ID_BYTES],
				    int64_t now)
{
	struct console *c = n->mgr->console;

	for (size_t i = 0; i < LIMIT_CONSOLE_SESSIONS; i++) {
		struct console_session *s = &c->s[i];

		if (!s->created ||
		    CRYPTO_memcmp(s->id, id, CONSOLE_ID_BYTES) != 0)
			continue;
		if (live(n, s, now))
			return s;
		OPENSSL_cleanse(s, sizeof(*s));
		return NULL;
	}
	return NULL;
}

/* create: a new session in a free slot, or the least recently used
 * one's. NULL when no random bytes. */
static struct console_session *create(struct node *n, int64_t now)
{
	struct console *c = n->mgr->console;
	struct console_session *slot = NULL;
	unsigned char csrf[CONSOLE_ID_BYTES];

	for (size_t i = 0; i < LIMIT_CONSOLE_SESSIONS; i++) {
		struct console_session *s = &c->s[i];

		if (!live(n, s, now)) {
			slot = s;
			break;
		}
		if (!slot || s->used < slot->used)
			slot = s;
	}
	if (slot->created && live(n, slot, now))
		log_info("manager: %u console sessions: the least recently "
			 "used one ends", LIMIT_CONSOLE_SESSIONS);
	OPENSSL_cleanse(slot, sizeof(*slot));
	if (RAND_bytes(slot->id, sizeof(slot->id)) != 1 ||
	    RAND_bytes(csrf, sizeof(csrf)) != 1) {
		OPENSSL_cleanse(slot, sizeof(*slot));
		return NULL;
	}
	for (size_t i = 0; i < sizeof(csrf); i++)
		snprintf(slot->csrf + 2 * i, 3, "%02x", csrf[i]);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	slot->created = slot->used = now;
	return slot;
}

/* ---- cookies and tokens --------------------------------------------------- */

/* https: the request on wsi came over HTTPS: this port's own, or a
 * trusted proxy's that says so (lib/peer.h). */
static int https(const struct node *n, struct lws *wsi)
{
	return peer_https(wsi, &n->cfg.proxies);
}

static const char *cookie_name(const struct node *n, struct lws *wsi)
{
	return https(n, wsi) ? CONSOLE_COOKIE_TLS : CONSOLE_COOKIE;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* read_cookie: our cookie's value, decoded into id. ERR_OK, ERR_NOTFOUND
 * (no such cookie) or ERR_INVALID (there, but not 64 hex digits). */
static int read_cookie(const struct node *n, struct lws *wsi,
		       unsigned char id[CONSOLE_ID_BYTES])
{
	char hdr[CONSOLE_COOKIE_HEADER_MAX];
	const char *name = cookie_name(n, wsi), *p = hdr;
	size_t nlen = strlen(name);

	if (http_header(wsi, WSI_TOKEN_HTTP_COOKIE, hdr, sizeof(hdr)) < 0)
		return ERR_NOTFOUND;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t len;

		while (*p == ' ')
			p++;
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			const char *v = p + nlen + 1;

			while (len > 0 && p[len - 1] == ' ')
				len--;
			if (len - nlen - 1 != CONSOLE_HEX)
				return ERR_INVALID;
			for (size_t i = 0; i < CONSOLE_ID_BYTES; i++) {
				int hi = hexval(v[2 * i]);
				int lo = hexval(v[2 * i + 1]);

				if (hi < 0 || lo < 0)
					return ERR_INVALID;
				id[i] = (unsigned char)(hi << 4 | lo);
			}
			return ERR_OK;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return ERR_NOTFOUND;
}

/* set_cookie: the Set-Cookie of the reply: the session s, or with s
 * NULL, an expired empty cookie that makes the browser drop it. */
static void set_cookie(const struct node *n, struct lws *wsi,
		       struct http_exchange *ex,
		       const struct console_session *s)
{
	char hex[CONSOLE_HEX + 1] = "";

	if (s)
		for (size_t i = 0; i < CONSOLE_ID_BYTES; i++)
			snprintf(hex + 2 * i, 3, "%02x", s->id[i]);
	snprintf(ex->set_cookie, sizeof(ex->set_cookie),
		 "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
		 cookie_name(n, wsi), hex, s ? "" : "; Max-Age=0",
		 https(n, wsi) ? "; Secure" : "");
	OPENSSL_cleanse(hex, sizeof(hex));
}

int console_from_page(struct lws *wsi)
{
	return lws_hdr_custom_length(wsi, CONSOLE_CSRF_HEADER,
				     (int)strlen(CONSOLE_CSRF_HEADER)) > 0;
}

/* csrf_ok: the request's X-CSRF-Token is s's token. */
static int csrf_ok(struct lws *wsi, const struct console_session *s)
{
	char got[CONSOLE_HEX + 2];
	int len = lws_hdr_custom_copy(wsi, got, (int)sizeof(got),
				      CONSOLE_CSRF_HEADER,
				      (int)strlen(CONSOLE_CSRF_HEADER));

	return len == CONSOLE_HEX &&
	       CRYPTO_memcmp(got, s->csrf, CONSOLE_HEX) == 0;
}

/* ---- authentication -------------------------------------------------------- */

int console_has_cookie(struct node *n, struct lws *wsi)
{
	unsigned char id[CONSOLE_ID_BYTES];

	return n->mgr && n->mgr->console &&
	       read_cookie(n, wsi, id) != ERR_NOTFOUND;
}

/* session_of: the live session of the request's cookie, or NULL. */
static struct console_session *session_of(struct node *n, struct lws *wsi,
					  int64_t now)
{
	unsigned char id[CONSOLE_ID_BYTES];

	if (read_cookie(n, wsi, id) != ERR_OK)
		return NULL;
	return find(n, id, now);
}

static enum auth_verdict expired(struct node *n, struct lws *wsi,
				 struct http_exchange *ex)
{
	set_cookie(n, wsi, ex, NULL);
	http_reply_error(wsi, ex, 401, "unauthorized", "the console session "
			 "has ended (logged out or idle too long); log in "
			 "again");
	return AUTH_REPLIED;
}

enum auth_verdict console_auth(struct node *n, struct lws *wsi,
			       struct http_exchange *ex,
			       struct manager_req *mr)
{
	int64_t now = clock_now();
	struct console_session *s = session_of(n, wsi, now);

	if (!s)
		return expired(n, wsi, ex);
	if (ex->method != HTTP_GET && !csrf_ok(wsi, s)) {
		log_warn("manager: refused a %s of %s from %s: the console "
			 "session's X-CSRF-Token is missing or wrong",
			 ex->method == HTTP_DELETE ? "DELETE" : "change",
			 ex->path, mr->peer);
		http_reply_error(wsi, ex, 403, "csrf", "X-CSRF-Token: missing "
				 "or not this session's token");
		return AUTH_REPLIED;
	}
	if (ex->method != HTTP_GET)
		s->used = now;  /* what the manager does, not the page's polls */
	mr->auth.method = AUTH_COOKIE;
	return AUTH_GRANTED;
}

/* ---- endpoints ------------------------------------------------------------ */

static void reply_session(struct node *n, struct lws *wsi,
			  struct http_exchange *ex, int status,
			  const struct console_session *s)
{
	http_reply_json(wsi, ex, status, json_pack(
		"{s:s, s:s, s:s?, s:i}", "csrf_token", s->csrf,
		"community", n->cfg.community, "name", n->cfg.name,
		"idle_s", (int)n->cfg.session_idle_s));
}

/* login: POST /api/v1/session. The password goes to auth.c; once it is
 * granted (at once from the cache, or when the drain re-routes the
 * request) the session is made. */
static void login(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  struct manager_req *mr)
{
	char pw[PASSWORD_INPUT_MAX + 1];
	struct console_session *s;
	const char *given;
	json_t *body, *field;
	size_t len;

	if (mr->auth.method != AUTH_LOGIN) {
		if (!mediatype_json(wsi)) {
			http_reply_error(wsi, ex, 415, "unsupported_media_type",
					 "a login needs Content-Type: "
					 "application/json");
			return;
		}
		body = http_parse_json(wsi, ex);
		if (ex->body)
			OPENSSL_cleanse(ex->body, ex->body_len);
		if (!body)
			return;
		field = json_object_get(body, "password");
		given = json_string_value(field);
		len = given ? json_string_length(field) : 0;
		if (!given || !len || len > PASSWORD_INPUT_MAX) {
			json_decref(body);
			http_reply_error(wsi, ex, 422, "invalid", "password: "
					 "1 to %d bytes of text",
					 PASSWORD_INPUT_MAX);
			return;
		}
		memcpy(pw, given, len);
		pw[len] = '\0';
		OPENSSL_cleanse((char *)given, len);
		json_decref(body);
		if (auth_login(n, wsi, ex, mr, pw, len) != AUTH_GRANTED)
			return;     /* refused, or parked for the KDF */
	}
	s = create(n, clock_now());
	if (!s) {
		http_reply_error(wsi, ex, 500, "internal", "no random bytes "
				 "for a session");
		return;
	}
	log_info("manager: console login from %s", mr->peer);
	set_cookie(n, wsi, ex, s);
	reply_session(n, wsi, ex, 201, s);
}

static void logout(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	struct console_session *s = session_of(n, wsi, clock_now());

	if (s && !csrf_ok(wsi, s)) {
		http_reply_error(wsi, ex, 403, "csrf", "X-CSRF-Token: missing "
				 "or not this session's token");
		return;
	}
	if (s) {
		OPENSSL_cleanse(s, sizeof(*s));
		log_info("manager: console logout");
	}
	set_cookie(n, wsi, ex, NULL);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* quota_state: our usage against the quota the hub announced (or the
 * defaults), as the console shows it (new reference). */
static json_t *quota_state(struct node *n)
{
	struct quota q;
	struct quota_usage u = { 0, 0 };

	records_quota_get(n->db, &q);
	catalog_usage(n->cat, n->cfg.community, &u.records, &u.bytes);
	return json_pack("{s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I}}",
		"records", "used", (json_int_t)u.records,
			   "limit", (json_int_t)q.records,
		"bytes", "used", (json_int_t)u.bytes,
			 "limit", (json_int_t)q.bytes,
		"changes_per_hour", "limit", (json_int_t)q.per_hour);
}

/* sync_state: GET /api/v1/manager/sync: how the node's session with the
 * hub is doing (hub.url: the hub URL dialled or in use), how much of our own log the hub has not committed yet
 * (up.lag; null while not connected), how often since start a Welcome
 * found our store behind the hub (up.store_behind: restored from an older
 * backup, or lost) and how many of our edits were renumbered for it
 * (up.renumbered), what we publish, our quota, the free space of the
 * store's disk, and hub.clock_offset_ms as /healthz says it. */
static void sync_state(struct node *n, struct lws *wsi,
		       struct http_exchange *ex)
{
	char since[CLOCK_RFC3339_LEN];
	int connected = n->hub_state == HUB_CONNECTED;
	uint64_t head = catalog_log_head(n->cat);
	json_t *out;

	if (connected)
		clock_rfc3339(n->hub_since, since, sizeof(since));
	out = json_pack(
		"{s:s, s:s?, s:{s:b, s:s, s:s?, s:s?, s:i, s:i, s:s?, s:o},"
		" s:{s:I, s:I, s:o, s:I, s:I}, s:{s:I}, s:{s:I, s:I}, s:o, s:o}",
		"community", n->cfg.community, "name", n->cfg.name,
		"hub", "connected", connected, "url", hub_link__url(n)->url,
		"since", connected ? since : NULL,
		"last_error", n->hub_last_error[0] ? n->hub_last_error : NULL,
		"retries", (int)n->hub_retries,
		"close_code", n->hub_close_code,
		"close_reason", n->hub_close_reason[0] ? n->hub_close_reason
						       : NULL,
		"clock_offset_ms", node_clock_json(n),
		"up", "head", (json_int_t)head, "acked", (json_int_t)n->up_acked,
		"lag", connected ? json_integer((json_int_t)sync_up_lag(n,
			head)) : json_null(),
		"store_behind", (json_int_t)n->store_behind,
		"renumbered", (json_int_t)n->renumbered,
		"down", "cursor", (json_int_t)n->down_cursor,
		"counts",
		"services", (json_int_t)catalog_count(n->cat, n->cfg.community,
				ALLIANCE__V1__KIND__KIND_SERVICE),
		"announcements", (json_int_t)catalog_count(n->cat,
				n->cfg.community,
				ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT),
		"quota", quota_state(n), "disk", node_disk_state(n));
	if (!out)
		http_reply_error(wsi, ex, 500, "internal", "cannot build the "
				 "sync state");
	else
		http_reply_json(wsi, ex, 200, out);
}

/* ---- the route ------------------------------------------------------------- */

/* ready: the console exists (503 stored otherwise). */
static int ready(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	if (n->mgr && n->mgr->console)
		return 1;
	http_reply_error(wsi, ex, 503, "busy", "not ready");
	return 0;
}

void console_session_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	struct console_session *s;

	(void)ctx;
	(void)m;
	if (!ready(n, wsi, ex))
		return;
	s = session_of(n, wsi, clock_now());
	if (!n->cfg.manager_password_hash)
		http_reply_error(wsi, ex, 403, "forbidden", "no manager "
				 "password configured on this node "
				 "([manager] password_hash)");
	else if (!s)
		expired(n, wsi, ex);
	else
		reply_session(n, wsi, ex, 200, s);
}

void console_session_login(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m)
{
	struct public_http *h = ctx;
	struct node *n = node_from_wsi(wsi);

	(void)m;
	if (!ready(n, wsi, ex))
		return;
	if (ex->body_too_big)
		http_reply_error(wsi, ex, 413, "too_large", "the body is over "
				 "%zu bytes", ex->body_limit);
	else
		login(n, wsi, ex, &h->mgr);
}

void console_session_logout(void *ctx, struct lws *wsi,
			    struct http_exchange *ex,
			    const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);

	(void)ctx;
	(void)m;
	if (ready(n, wsi, ex))
		logout(n, wsi, ex);
}

void console_sync(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  const struct route_match *m)
{
	(void)ctx;
	(void)m;
	sync_state(node_from_wsi(wsi), wsi, ex);
}
