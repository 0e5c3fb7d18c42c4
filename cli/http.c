/* http.c: alliancectl's HTTPS client, a small wrapper of libcurl.
 *
 * Every request uses mutual TLS: the operator's certificate and key, and the
 * alliance CA as the only trust anchor (no system store, no CA directory),
 * with the peer's certificate and host name verified. Bodies are JSON both
 * ways; a reply is read into memory up to CTL_RESPONSE_MAX. One easy handle
 * lives in struct ctl so later requests of a run reuse the connection.
 * With several hub URLs (replicas), a hub that does not answer is left for
 * the next; the first answer, whatever its status, is the hub's word.
 *
 * Parts: configuration checks; the response buffer; ctl_request; cleanup. */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "tlspolicy.h"

/* ---- configuration checks ---------------------------------------------- */

/* need_file: check the file given for what (flag, variable) is set and
 * readable. Returns CTL_EXIT_OK, CTL_EXIT_USAGE or CTL_EXIT_FAIL. */
static int need_file(const struct ctl *ctl, const char *path,
		     const char *what, const char *flag, const char *var)
{
	if (path == NULL) {
		ctl_errorf(ctl, "no %s: give %s FILE or set %s", what, flag,
			   var);
		return CTL_EXIT_USAGE;
	}
	if (access(path, R_OK) != 0) {
		ctl_errorf(ctl, "%s %s: %s", what, path, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int ctl_ready(const struct ctl *ctl)
{
	int rc = CTL_EXIT_OK, r;

	if (ctl->hubs_wrong) {
		ctl_errorf(ctl, "hub URLs: %s (at most %u, each at most %u "
			   "bytes)", ctl->hubs_wrong, (unsigned)LIMIT_HUB_URLS,
			   (unsigned)LIMIT_HUB_URL);
		rc = CTL_EXIT_USAGE;
	} else if (ctl->n_hubs == 0) {
		ctl_errorf(ctl, "no hub URL: give --hub URL (several to try "
			   "in turn) or set HUB_ALLIANCE_URLS or "
			   "HUB_ALLIANCE_URL (e.g. https://127.0.0.1:7443)");
		rc = CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < ctl->n_hubs && !ctl->hubs_wrong; i++) {
		if (strlen(ctl->hubs[i]) > LIMIT_HUB_URL) {
			ctl_errorf(ctl, "hub URL %.64s...: longer than %u "
				   "bytes", ctl->hubs[i],
				   (unsigned)LIMIT_HUB_URL);
			rc = CTL_EXIT_USAGE;
		} else if (strncmp(ctl->hubs[i], "https://", 8) != 0) {
			ctl_errorf(ctl, "hub URL %s: must start with https:// "
				   "(the hub's mutual-TLS alliance port)",
				   ctl->hubs[i]);
			rc = CTL_EXIT_USAGE;
		}
	}
	/* report every missing piece at once, the worst exit code wins */
	r = need_file(ctl, ctl->cert, "operator certificate", "--cert",
		      "OPERATOR_CERT");
	rc = r > rc ? r : rc;
	r = need_file(ctl, ctl->key, "operator key", "--key", "OPERATOR_KEY");
	rc = r > rc ? r : rc;
	r = need_file(ctl, ctl->ca, "alliance CA certificate", "--ca",
		      "CA_CERT");
	rc = r > rc ? r : rc;
	return rc;
}

/* ---- the response buffer ----------------------------------------------- */

/* struct rbuf: the reply body as curl hands it over. */
struct rbuf {
	char *data;               /* NUL-terminated; owned */
	size_t len;               /* bytes held */
	size_t cap;               /* bytes allocated, the NUL included */
	bool too_big;             /* set when CTL_RESPONSE_MAX was passed */
};

/* on_body: CURLOPT_WRITEFUNCTION; appends to the struct rbuf in userdata.
 * Returning less than asked makes curl fail with CURLE_WRITE_ERROR. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct rbuf *b = userdata;
	size_t n = nmemb; /* curl passes size 1 */
	size_t need, cap;
	char *p;

	(void)size;
	if (n > CTL_RESPONSE_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* ---- ctl_request ------------------------------------------------------- */

/* make_url: {hub without trailing '/'}{path} into buf. ERR_TOOBIG if it
 * does not fit. */
static int make_url(const struct ctl *ctl, const char *path, char *buf,
		    size_t buflen)
{
	size_t hlen = strlen(ctl->hub);
	int n;

	while (hlen > 0 && ctl->hub[hlen - 1] == '/')
		hlen--;
	if (hlen > (size_t)CTL_URL_MAX)
		return ERR_TOOBIG;
	n = snprintf(buf, buflen, "%.*s%s", (int)hlen, ctl->hub, path);
	if (n < 0 || (size_t)n >= buflen)
		return ERR_TOOBIG;
	return ERR_OK;
}

/* setup: set every option of one request on the reset handle c. Returns
 * the first option curl refused, or CURLE_OK. */
static CURLcode setup(CURL *c, const struct ctl *ctl, const char *method,
		      const char *url, const char *body,
		      struct curl_slist *headers, struct rbuf *b,
		      char *errbuf)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "alliancectl/" ALLIANCE_VERSION);
	SET(CURLOPT_CONNECTTIMEOUT, CTL_CONNECT_TIMEOUT_S);
	SET(CURLOPT_TIMEOUT, CTL_REQUEST_TIMEOUT_S);
	/* trust: the alliance CA and nothing else */
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_CIPHER_LIST, TLSPOLICY_CIPHERS_TLS12);
	SET(CURLOPT_TLS13_CIPHERS, TLSPOLICY_CIPHERS_TLS13);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CAINFO, ctl->ca);
	SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_SSLCERTTYPE, "PEM");
	SET(CURLOPT_SSLCERT, ctl->cert);
	SET(CURLOPT_SSLKEYTYPE, "PEM");
	SET(CURLOPT_SSLKEY, ctl->key);
	/* the reply */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CTL_RESPONSE_MAX);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, b);
	SET(CURLOPT_HTTPHEADER, headers);
	/* the method */
	if (body != NULL) {
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	if (strcmp(method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") != 0 || body == NULL)
		SET(CURLOPT_CUSTOMREQUEST, method);
#undef SET
	return rc;
}

/* refused_hint: under TLS 1.3 a server checks the client's certificate
 * after the client thinks the handshake is done, so a hub refusing the
 * operator certificate shows up as a failed send or read (or a reset
 * during connect), and curl's words for that do not say why. */
static const char *refused_hint(CURLcode cc)
{
	if (cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_SSL_CONNECT_ERROR)
		return " (did the hub refuse the operator certificate?)";
	return "";
}

/* request_at: one exchange of METHOD path with the hub ctl->hub, with
 * payload (or NULL) and headers. Returns ERR_OK with *resp filled, or an
 * error (printed, naming the URL) with *sent saying whether the request
 * may have gone out. */
static int request_at(struct ctl *ctl, const char *method, const char *path,
		      const char *payload, struct curl_slist *headers,
		      struct ctl_response *resp, bool *sent)
{
	char url[CTL_URL_MAX + 256];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct rbuf b = { 0 };
	long bytes = 0;
	CURLcode cc;

	*sent = false;
	if (make_url(ctl, path, url, sizeof(url)) != ERR_OK) {
		ctl_errorf(ctl, "hub URL too long");
		return ERR_TOOBIG;
	}
	curl_easy_reset(ctl->curl); /* keeps the open connection */
	cc = setup(ctl->curl, ctl, method, url, payload, headers, &b, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(ctl->curl);
	if (cc != CURLE_OK) {
		free(b.data);
		curl_easy_getinfo(ctl->curl, CURLINFO_REQUEST_SIZE, &bytes);
		*sent = bytes > 0;
		if (b.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			ctl_errorf(ctl, "%s %s: reply over %u bytes", method,
				   url, CTL_RESPONSE_MAX);
			return ERR_TOOBIG;
		}
		ctl_errorf(ctl, "%s %s: %s%s", method, url,
			   errbuf[0] ? errbuf : curl_easy_strerror(cc),
			   refused_hint(cc));
		return ERR_IO;
	}
	curl_easy_getinfo(ctl->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (b.data == NULL && (b.data = calloc(1, 1)) == NULL) {
		ctl_errorf(ctl, "out of memory");
		return ERR_NOMEM;
	}
	resp->body = b.data;
	resp->len = b.len;
	if (resp->len > 0)
		resp->json = json_loadb(resp->body, resp->len, 0, NULL);
	return ERR_OK;
}

int ctl_request(struct ctl *ctl, const char *method, const char *path,
		json_t *body, struct ctl_response *resp)
{
	struct curl_slist *headers = NULL, *h;
	char *payload = NULL;
	bool sent;
	int rc = ERR_IO;

	memset(resp, 0, sizeof(*resp));
	if (ctl->curl == NULL) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
		    (ctl->curl = curl_easy_init()) == NULL) {
			ctl_errorf(ctl, "cannot start libcurl");
			return ERR_NOMEM;
		}
	}
	if (body != NULL &&
	    (payload = json_dumps(body, JSON_COMPACT)) == NULL)
		goto nomem;
	if ((h = curl_slist_append(headers, "Accept: application/json")) ==
	    NULL)
		goto nomem;
	headers = h;
	if (payload != NULL) {
		h = curl_slist_append(headers,
				      "Content-Type: application/json");
		if (h == NULL)
			goto nomem;
		headers = h;
	}
	/* each hub in turn, from the one that answered last */
	for (size_t tries = 0; tries < ctl->n_hubs; tries++) {
		ctl->hub = ctl->hubs[ctl->hub_at];
		rc = request_at(ctl, method, path, payload, headers, resp,
				&sent);
		if (rc != ERR_IO)
			break;        /* an answer (final), or no way on */
		if (sent && strcmp(method, "GET") != 0) {
			ctl_errorf(ctl, "not sent to another hub: the %s may "
				   "have reached %s", method, ctl->hub);
			break;
		}
		if (tries + 1 < ctl->n_hubs) {
			ctl->hub_at = (ctl->hub_at + 1) % ctl->n_hubs;
			ctl_errorf(ctl, "trying %s next",
				   ctl->hubs[ctl->hub_at]);
		}
	}
	goto out;
nomem:
	ctl_errorf(ctl, "out of memory");
	rc = ERR_NOMEM;
out:
	curl_slist_free_all(headers);
	free(payload);
	return rc;
}

void ctl_response_free(struct ctl_response *resp)
{
	json_decref(resp->json);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* ---- cleanup ----------------------------------------------------------- */

void ctl_cleanup(struct ctl *ctl)
{
	if (ctl->curl == NULL)
		return;
	curl_easy_cleanup(ctl->curl);
	ctl->curl = NULL;
	curl_global_cleanup();
}
