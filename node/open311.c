/* open311.c: Open311 GeoReport v2 at a node: its two formats, its
 * errors, service discovery, the service list and definitions, API
 * keys, and the route of everything under /open311/.
 *
 *   GET  /open311/discovery.{json,xml}, /open311/v2/discovery.{json,xml}
 *   GET  /open311/v2/services.{json,xml}          the merged catalog
 *   GET  /open311/v2/services/{code}.{json,xml}   a service definition
 *   GET  /open311/v2/tokens/{token}.{json,xml}    404: no tokens issued
 *   POST, GET /open311/v2/requests..., requests.c and request_follow.c
 *
 * The format is the path's extension (the spec's "Format Support"): XML
 * (required by the spec) through lib/xml_out.h with the spec's element
 * names, or JSON; an error answers in the format asked for, as
 * <errors><error><code/><description/></error></errors> or
 * [{"code":...,"description":...}].
 *
 * service_code is "COMMUNITY.ID" (community ids never hold a '.', so the
 * first one splits it); the older "COMMUNITY/ID" is still read.
 *
 * Parts: formats and errors; service codes; discovery; services; API
 * keys; the rows (of public.c's route table) and their 404 and 405. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "form.h"
#include "log.h"
#include "peer.h"
#include "text.h"
#include "xml_out.h"

#define O311_ROOT "/open311/"
#define O311 "/open311/v2/"
/* The spec every endpoint of the discovery file follows. */
#define O311_SPEC "http://wiki.open311.org/GeoReport_v2"
#define O311_XML_TYPE "text/xml; charset=utf-8"
/* Longest Host header the discovery file's url takes. */
#define O311_HOST_MAX 255

/* ---- formats and errors ----------------------------------------------------- */

/* The element names of array items in the XML format: the spec's, and
 * ours for the extension fields (steps, delivery). */
static const struct xml_out_item o311_items[] = {
	{ "services", "service" }, { "service_requests", "request" },
	{ "errors", "error" }, { "attributes", "attribute" },
	{ "values", "value" }, { "endpoints", "endpoint" },
	{ "formats", "format" }, { "steps", "step" }, { "delivery", "mode" },
	{ NULL, NULL }
};

/* ends_with: whether s ends with tail. */
static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

int open311_xml(const struct http_exchange *ex)
{
	return ends_with(ex->path, ".xml");
}

void open311_reply(struct lws *wsi, struct http_exchange *ex, int status,
		   const char *root, json_t *v)
{
	char *doc = NULL;
	size_t len = 0;

	if (!v) {
		http_reply_error(wsi, ex, 500, "internal", "out of memory");
		return;
	}
	if (!open311_xml(ex)) {
		http_reply_json(wsi, ex, status, v);
		return;
	}
	if (xml_out_json(root, v, o311_items, &doc, &len) != ERR_OK) {
		json_decref(v);
		log_error("open311: no XML for %s", ex->path);
		http_reply_error(wsi, ex, 500, "internal", "cannot write XML");
		return;
	}
	json_decref(v);
	http_reply(wsi, ex, status, O311_XML_TYPE, doc, len);
}

void open311_error(struct lws *wsi, struct http_exchange *ex, int status,
		   const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	open311_reply(wsi, ex, status, "errors", json_pack(
		"[{s:i, s:s}]", "code", status, "description", msg));
}

/* ---- service codes ------------------------------------------------------------ */

Change *open311_service(struct node *n, char *code, char **id)
{
	Change *svc = NULL;

	if (open311_code_split(code, id) != ERR_OK)
		return NULL;
	if (catalog_get(n->cat, code, ALLIANCE__V1__KIND__KIND_SERVICE, *id,
			&svc) != ERR_OK || !relay_service_takes_requests(svc)) {
		catalog_change_free(&svc);
		return NULL;
	}
	return svc;
}

/* ---- discovery ------------------------------------------------------------------- */

/* base_url: the absolute URL of this node's GeoReport v2 endpoint, made
 * from [public] url, into buf. */
static void base_url(struct node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/open311/v2", n->cfg.public_url);
}

/* changeset: when the service list or a definition last changed: the
 * newest update of the catalog (epoch 0 for an empty one). */
static int64_t changeset(struct node *n)
{
	sqlite3_stmt *st = NULL;
	int64_t t = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT max(updated) FROM service", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

static void discovery(struct node *n, struct lws *wsi,
		      struct http_exchange *ex)
{
	char url[LIMIT_PUBLIC_URL + 16], when[CLOCK_RFC3339_LEN];
	const char *name = n->cfg.name ? n->cfg.name : n->cfg.community;
	char contact[LIMIT_NAME + 160];

	base_url(n, url, sizeof(url));
	clock_rfc3339(changeset(n), when, sizeof(when));
	snprintf(contact, sizeof(contact), "%s (community %s): ask at the "
		 "community's office", name, n->cfg.community);
	open311_reply(wsi, ex, 200, "discovery", json_pack(
		"{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:[s, s]}]}",
		"changeset", when, "contact", contact, "key_service",
		n->cfg.open311_api_keys
		? "Third-party apps posting requests need an api_key: ask "
		  "the community's manager for one."
		: "No api_key is needed.",
		"endpoints", "specification", O311_SPEC, "url", url,
		"changeset", when, "type", "production", "formats",
		"text/xml", "application/json"));
}

/* ---- services ---------------------------------------------------------------------- */

static void services_list(struct node *n, struct lws *wsi,
			  struct http_exchange *ex)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();

	if (!out || sqlite3_prepare_v2(n->db, "SELECT origin, id, title,"
			       " summary, category, delivery, audience FROM"
			       " service WHERE deleted = 0 AND status <>"
			       " 'inactive' ORDER BY origin, id", -1, &st,
			       NULL) != SQLITE_OK) {
		json_decref(out);
		open311_error(wsi, ex, 500, "the catalog could not be read");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		char code[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
		json_t *kw = json_loads((const char *)
					sqlite3_column_text(st, 6), 0, NULL);
		json_t *dl = json_loads((const char *)
					sqlite3_column_text(st, 5), 0, NULL);
		char words[400] = "";
		size_t i, used = 0;
		json_t *v;

		snprintf(code, sizeof(code), "%s.%s",
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		json_array_foreach(kw, i, v) {
			int w = snprintf(words + used, sizeof(words) - used,
					 "%s%s", used ? "," : "",
					 json_string_value(v));
			if (w < 0 || (size_t)w >= sizeof(words) - used)
				break;
			used += (size_t)w;
		}
		/* metadata false: no service has attributes (the spec's
		 * "GET Service List"); delivery is ours */
		json_array_append_new(out, json_pack(
			"{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:o}",
			"service_code", code,
			"service_name", (const char *)sqlite3_column_text(st, 2),
			"description", (const char *)sqlite3_column_text(st, 3),
			"metadata", 0, "type", "realtime",
			"keywords", words,
			"group", (const char *)sqlite3_column_text(st, 4),
			"delivery", json_is_array(dl) ? json_incref(dl)
						      : json_array()));
		json_decref(dl);
		json_decref(kw);
	}
	sqlite3_finalize(st);
	open311_reply(wsi, ex, 200, "services", out);
}

/* service_definition: GET services/{code}: the spec's "GET Service
 * Definition"; no service asks more than the request's own fields, so
 * the list of attributes is empty. */
static void service_definition(struct node *n, struct lws *wsi,
			       struct http_exchange *ex, char *code)
{
	char shown[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	char asked[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	char *id = NULL;
	Change *svc;

	if ((size_t)snprintf(asked, sizeof(asked), "%s", code) >=
	    sizeof(asked) || open311_code_split(asked, &id) != ERR_OK) {
		open311_error(wsi, ex, 400, "service_code: COMMUNITY.ID, not "
			      "'%.100s'", code);
		return;
	}
	memcpy(asked, code, strlen(code) + 1);
	svc = open311_service(n, code, &id);
	if (!svc) {
		open311_error(wsi, ex, 404, "service_code: no service '%s' in "
			      "the catalog", asked);
		return;
	}
	if ((size_t)snprintf(shown, sizeof(shown), "%s.%s", code, id) >=
	    sizeof(shown))
		shown[0] = '\0';   /* not reached: both were checked */
	catalog_change_free(&svc);
	open311_reply(wsi, ex, 200, "service_definition", json_pack(
		"{s:s, s:[]}", "service_code", shown, "attributes"));
}

/* ---- API keys ------------------------------------------------------------------- */

/* same_origin: whether the request comes from this node's own pages:
 * its Origin is the scheme and the Host it was sent to. */
static int same_origin(struct lws *wsi)
{
	char origin[O311_HOST_MAX + 16], host[O311_HOST_MAX + 1];
	const char *h;

	if (http_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)) < 0 ||
	    http_header(wsi, WSI_TOKEN_HOST, host, sizeof(host)) < 0)
		return 0;
	h = strstr(origin, "://");
	return h && (strncmp(origin, "http://", 7) == 0 ||
		     strncmp(origin, "https://", 8) == 0) &&
	       strcmp(h + 3, host) == 0;
}

int open311_key_ok(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	const char *keys = n->cfg.open311_api_keys, *p;
	char key[LIMIT_OPEN311_KEY + 2], ct[128];
	size_t klen;
	int ok = 0;

	if (!keys || same_origin(wsi))
		return 1;
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct)) < 0 ||
	    !form_content_type(ct) || !ex->body ||
	    form_get(ex->body, ex->body_len, "api_key", key, sizeof(key)) <= 0)
		key[0] = '\0';
	klen = strlen(key);
	/* every listed key compared in full, in constant time */
	for (p = keys; *p; ) {
		size_t n311 = strcspn(p, ",");

		if (klen && n311 == klen && CRYPTO_memcmp(p, key, klen) == 0)
			ok = 1;
		p += n311;
		if (*p == ',')
			p++;
	}
	if (!ok)
		open311_error(wsi, ex, 403, "api_key: %s", klen
			      ? "not a key of this node" : "required for "
			      "apps other than this node's own pages");
	return ok;
}

/* ---- the rows ------------------------------------------------------------ */

void open311_on_discovery(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	(void)ctx;
	(void)m;
	discovery(node_from_wsi(wsi), wsi, ex);
}

void open311_on_services(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	(void)m;
	services_list(node_from_wsi(wsi), wsi, ex);
}

void open311_on_service(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	char code[LIMIT_HTTP_URI + 1];

	(void)ctx;
	snprintf(code, sizeof(code), "%s", m->param[0]);
	service_definition(node_from_wsi(wsi), wsi, ex, code);
}

void open311_on_token(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	(void)m;
	open311_error(wsi, ex, 404, "token: this node issues none; a POST "
		      "answers its service_request_id at once");
}

void open311_on_requests(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	(void)m;
	if (ex->method == HTTP_POST)
		requests_post(node_from_wsi(wsi), wsi, ex);
	else
		requests_list(node_from_wsi(wsi), wsi, ex);
}

void open311_on_request(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	(void)ctx;
	requests_get(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void open311_on_withdraw(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	requests_withdraw(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void open311_refuse(struct lws *wsi, struct http_exchange *ex, int status)
{
	if (status == 405)
		open311_error(wsi, ex, 405, "%s is not allowed on %.100s",
			      route_method_name(ex->method), ex->path);
	else if (!open311_xml(ex) && !ends_with(ex->path, ".json"))
		open311_error(wsi, ex, 404, "no such resource: %.100s (the "
			      "format is .json or .xml)", ex->path);
	else
		open311_error(wsi, ex, 404, "no such resource: %.100s",
			      ex->path);
}
