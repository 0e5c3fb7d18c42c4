/* civic.c: the residents' side of a node (civic.h): its state, the abuse
 * limits, and the one route the public port calls.
 *
 * Abuse limits: Open311 POSTs, votes, registrations and logins are
 * counted per client address and per resident credential in fixed
 * windows ([limits] resident_actions per resident_window_s); beyond, a
 * 429 names the seconds to wait (Open311's error format on /open311).
 * The address is the client's through [public] trusted_proxies
 * (lib/peer.h), an IPv6 one by its /64.
 *
 * Parts: start and stop; limits; the manager's gate. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "mediatype.h"
#include "text.h"

/* ---- start and stop ----------------------------------------------------------- */

int civic_start(struct node *n)
{
	struct civic *c = calloc(1, sizeof(*c));
	unsigned max = n->cfg.resident_actions, win = n->cfg.resident_window_s;

	if (!c)
		return ERR_NOMEM;
	if (strcmp(n->cfg.community, RELAY_DISTRICT) == 0) {
		log_error("community '%s' is the district's origin; no node may"
			  " use it", RELAY_DISTRICT);
		free(c);
		return ERR_INVALID;
	}
	c->rl_request = ratelimit_new(max, win);
	c->rl_vote = ratelimit_new(max, win);
	c->rl_register = ratelimit_new(max, win);
	c->rl_login = ratelimit_new(max, win);
	c->rl_sms_phone = ratelimit_new(LIMIT_OTP_SENDS_PER_PHONE,
					LIMIT_OTP_SEND_WINDOW_S);
	c->rl_sms_addr = ratelimit_new(LIMIT_OTP_SENDS_PER_ADDR,
				       LIMIT_OTP_SEND_WINDOW_S);
	n->civic = c;
	if (!c->rl_request || !c->rl_vote || !c->rl_register ||
	    !c->rl_login || !c->rl_sms_phone || !c->rl_sms_addr) {
		civic_stop(n);
		return ERR_NOMEM;
	}
	if (request_store_open(n->db, &c->requests) != ERR_OK ||
	    resident_store_open(n->db, &c->residents) != ERR_OK ||
	    poll_store_open(n->db, &c->polls) != ERR_OK) {
		civic_stop(n);
		return ERR_IO;
	}
	if (n->cfg.sms_url) {
		if (webhook_start(&c->sms, n->cfg.sms_url, n->cfg.sms_secret) !=
		    ERR_OK) {
			log_error("[sms] url: cannot start the gateway's "
				  "sender");
			civic_stop(n);
			return ERR_FAIL;
		}
		log_info("residents: phones are confirmed by a code sent "
			 "through the SMS gateway");
	} else {
		log_info("residents: no [sms] gateway: the manager confirms "
			 "phones in the console");
	}
	return ERR_OK;
}

void civic_stop(struct node *n)
{
	struct civic *c = n->civic;

	if (!c)
		return;
	ratelimit_free(&c->rl_request);
	ratelimit_free(&c->rl_vote);
	ratelimit_free(&c->rl_register);
	ratelimit_free(&c->rl_login);
	ratelimit_free(&c->rl_sms_phone);
	ratelimit_free(&c->rl_sms_addr);
	webhook_stop(&c->sms);
	request_store_close(&c->requests);
	resident_store_close(&c->residents);
	poll_store_close(&c->polls);
	free(c);
	n->civic = NULL;
}

/* ---- limits ------------------------------------------------------------------ */

void civic_peer(struct lws *wsi, char *buf, size_t len)
{
	peer_client(wsi, &node_from_wsi(wsi)->cfg.proxies, buf, len);
}

int civic_limited(struct ratelimit *rl, const char *key, struct lws *wsi,
		  struct http_exchange *ex, int open311)
{
	unsigned wait = ratelimit_hit(rl, key, clock_now());
	char shown[128];

	if (!wait)
		return 0;
	if (open311)
		open311_error(wsi, ex, 429, "too many requests; try again in "
			      "%u s", wait);
	else
		http_reply_error(wsi, ex, 429, "too_many", "too many requests;"
				 " try again in %u s", wait);
	/* a phone number never reaches the log */
	if (strncmp(key, "phone:", 6) == 0)
		text_phone_mask(key, shown, sizeof(shown));
	else
		snprintf(shown, sizeof(shown), "%s", key);
	log_info("limits: %s over the limit for %u s", shown, wait);
	return 1;
}

int civic_manager_admit(struct node *n, struct lws *wsi,
			struct http_exchange *ex, struct manager_req *mr,
			int change)
{
	if (change && !mediatype_json(wsi)) {
		http_reply_error(wsi, ex, 415, "unsupported_media_type",
				 "changes need Content-Type: application/json");
		return 0;
	}
	if (!n->mgr) {
		http_reply_error(wsi, ex, 503, "busy", "not ready");
		return 0;
	}
	return auth_request(n, wsi, ex, mr) == AUTH_GRANTED;
}
