/* bulletin.c: "alliancectl bulletin issue|update|cancel|status|list".
 *
 * issue, update and cancel build a BulletinContent (a fresh id, the
 * signing key's id, the hub's CAP sender id as sender, sent now,
 * expiry; English text beside the Chinese with the --*-en options), check it with the rules hub and nodes apply (lib/bulletin.c),
 * serialize it, sign those bytes with the district's Ed25519 key
 * (SIGNING_KEY, which never leaves this machine) and POST
 * {"signed_content","signature"} in base64 to /api/v1/bulletins. The new
 * id is the first line printed. --wait then polls GET /api/v1/bulletins/ID
 * until every targeted community has it (printing how long that took) or
 * the timeout passes (printing who has not, exit 1). update and cancel
 * reference the bulletin they replace and take what is not given from it.
 * --check-in sets the signed check_in flag (an update keeps the one it
 * replaces; a cancel never has it); status adds a check-in's counts.
 *
 * Parts: options; the signing key and sender; building and posting;
 * waiting; issue, update, cancel; status; list. */
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulletin.h"
#include "bulletin_render.h"
#include "ctl.h"
#include "err.h"
#include "alliance_limits.h"
#include "text.h"

#define BULLETINS_PATH "/api/v1/bulletins"
/* Default lifetime of a bulletin (DESIGN.md: 24h). */
#define CTL_BULLETIN_EXPIRES_S (24 * 3600)
/* Default --timeout of --wait, in seconds. */
#define CTL_BULLETIN_WAIT_S 60
/* How often --wait asks the hub. */
#define CTL_BULLETIN_POLL_MS 50

/* ---- options ----------------------------------------------------------- */

enum {
	OPT_HEADLINE = 1, OPT_DESCRIPTION, OPT_CAUSE, OPT_RESPONSE,
	OPT_INSTRUCTIONS, OPT_SEVERITY, OPT_URGENCY, OPT_CERTAINTY,
	OPT_CATEGORY, OPT_HEADLINE_EN, OPT_DESCRIPTION_EN, OPT_CAUSE_EN,
	OPT_RESPONSE_EN, OPT_INSTRUCTIONS_EN, OPT_AREA, OPT_EXPIRES, OPT_WAIT, OPT_TIMEOUT, OPT_JSON,
	OPT_CHECK_IN,
};

#define BULLETIN_OPTIONS                                                   \
	CTL_GLOBAL_OPTIONS,                                                \
	{ "headline", required_argument, NULL, OPT_HEADLINE },             \
	{ "description", required_argument, NULL, OPT_DESCRIPTION },       \
	{ "cause", required_argument, NULL, OPT_CAUSE },                   \
	{ "response", required_argument, NULL, OPT_RESPONSE },             \
	{ "instructions", required_argument, NULL, OPT_INSTRUCTIONS },     \
	{ "severity", required_argument, NULL, OPT_SEVERITY },             \
	{ "urgency", required_argument, NULL, OPT_URGENCY },               \
	{ "certainty", required_argument, NULL, OPT_CERTAINTY },           \
	{ "category", required_argument, NULL, OPT_CATEGORY },             \
	{ "headline-en", required_argument, NULL, OPT_HEADLINE_EN },       \
	{ "description-en", required_argument, NULL, OPT_DESCRIPTION_EN }, \
	{ "cause-en", required_argument, NULL, OPT_CAUSE_EN },             \
	{ "response-en", required_argument, NULL, OPT_RESPONSE_EN },       \
	{ "instructions-en", required_argument, NULL, OPT_INSTRUCTIONS_EN }, \
	{ "area", required_argument, NULL, OPT_AREA },                     \
	{ "expires", required_argument, NULL, OPT_EXPIRES },               \
	{ "wait", no_argument, NULL, OPT_WAIT },                           \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },               \
	{ "json", no_argument, NULL, OPT_JSON },                           \
	{ "check-in", no_argument, NULL, OPT_CHECK_IN },                   \
	{ NULL, 0, NULL, 0 }

/* What the command line said; NULL/0 where it said nothing. */
struct opts {
	const char *text[OPT_INSTRUCTIONS_EN + 1]; /* by OPT_HEADLINE..
						    * OPT_INSTRUCTIONS_EN */
	const char *area;                   /* "a,b" */
	const char *expires;                /* DURATION */
	const char *timeout;                /* seconds */
	int wait;
	int json;
	int check_in;                       /* --check-in */
	const char *bad;                    /* the first bad value, for usage */
};

static int on_opt(void *state, int opt, const char *arg)
{
	struct opts *o = state;

	if (opt >= OPT_HEADLINE && opt <= OPT_INSTRUCTIONS_EN)
		o->text[opt] = arg;
	else if (opt == OPT_AREA)
		o->area = arg;
	else if (opt == OPT_EXPIRES)
		o->expires = arg;
	else if (opt == OPT_TIMEOUT)
		o->timeout = arg;
	else if (opt == OPT_WAIT)
		o->wait = 1;
	else if (opt == OPT_JSON)
		o->json = 1;
	else if (opt == OPT_CHECK_IN)
		o->check_in = 1;
	else
		return CTL_EXIT_USAGE;
	return 0;
}

/* ---- the signing key and sender ------------------------------------------ */

/* load_signing_key: the Ed25519 private key of --signing-key. NULL after
 * printing why. */
static EVP_PKEY *load_signing_key(const struct ctl *ctl)
{
	EVP_PKEY *k;
	char id[BULLETIN_KEY_ID_LEN + 1], err[600];

	if (!ctl->signing_key) {
		ctl_errorf(ctl, "no signing key: give --signing-key FILE or set "
			   "SIGNING_KEY");
		return NULL;
	}
	if (bulletin_signing_key_load(ctl->signing_key, &k, id, err,
				      sizeof(err)) != ERR_OK) {
		ctl_errorf(ctl, "%s", err);
		return NULL;
	}
	return k;
}

/* hub_sender: the CAP sender id the hub gives ([bulletins] sender, GET
 * /api/v1/bulletin-sender) into name, so what is signed is what the hub
 * and every CAP document name. */
static int hub_sender(struct ctl *ctl, char *name, size_t len)
{
	struct ctl_response resp = { 0 };
	const char *v;
	int rc = ERR_INVALID;

	if (ctl_request(ctl, "GET", "/api/v1/bulletin-sender", NULL, &resp)
	    != ERR_OK)
		return ERR_FAIL;
	if (resp.status != 200) {
		ctl_hub_error(ctl, &resp);
		ctl_response_free(&resp);
		return ERR_FAIL;
	}
	v = json_string_value(json_object_get(resp.json, "sender"));
	if (v && bulletin_cap_sender_valid(v) && strlen(v) < len) {
		snprintf(name, len, "%s", v);
		rc = ERR_OK;
	} else {
		ctl_errorf(ctl, "the hub's CAP sender id is missing or not one "
			   "(GET /api/v1/bulletin-sender)");
	}
	ctl_response_free(&resp);
	return rc;
}

/* new_id: "b-YYYYMMDDHHMMSS-" and 8 random hex into buf. */
static void new_id(char *buf, size_t len)
{
	unsigned char r[4];
	time_t now = time(NULL);
	struct tm tm;
	char t[20];

	if (RAND_bytes(r, sizeof(r)) != 1) {
		unsigned long x = (unsigned long)getpid() ^ (unsigned long)now;

		memcpy(r, &x, sizeof(r));
	}
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y%m%d%H%M%S", &tm);
	snprintf(buf, len, "b-%s-%02x%02x%02x%02x", t, r[0], r[1], r[2], r[3]);
}

/* ---- building and posting ---------------------------------------------- */

/* sign_and_post: check c, sign it and POST it. On a completed exchange
 * fills resp and returns CTL_EXIT_OK (the caller looks at the status). */
static int sign_and_post(struct ctl *ctl, const struct ctl_command *cmd,
			 EVP_PKEY *key, BulletinContent *c,
			 struct ctl_response *resp)
{
	uint8_t sig[BULLETIN_SIG_LEN], *buf;
	size_t len;
	char why[300], *b64c, *b64s;
	json_t *body;
	int rc;

	if (bulletin_check(c, why, sizeof(why)) != ERR_OK)
		return ctl_usage_error(ctl, cmd, "%s", why);
	len = alliance__v1__bulletin_content__get_packed_size(c);
	if (len > LIMIT_BULLETIN_BYTES)
		return ctl_usage_error(ctl, cmd, "the bulletin is over %u bytes",
				       LIMIT_BULLETIN_BYTES);
	buf = malloc(len ? len : 1);
	if (!buf) {
		ctl_errorf(ctl, "out of memory");
		return CTL_EXIT_FAIL;
	}
	alliance__v1__bulletin_content__pack(c, buf);
	if (bulletin_sign(key, buf, len, sig) != ERR_OK) {
		free(buf);
		ctl_errorf(ctl, "signing with %s failed", ctl->signing_key);
		return CTL_EXIT_FAIL;
	}
	b64c = bulletin_b64_encode(buf, len);
	b64s = bulletin_b64_encode(sig, sizeof(sig));
	free(buf);
	body = b64c && b64s ? json_pack("{s:s, s:s}", "signed_content", b64c,
					"signature", b64s) : NULL;
	free(b64c);
	free(b64s);
	if (!body) {
		ctl_errorf(ctl, "out of memory");
		return CTL_EXIT_FAIL;
	}
	rc = ctl_request(ctl, "POST", BULLETINS_PATH, body, resp);
	json_decref(body);
	return rc == ERR_OK ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/* ---- waiting ----------------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* wait_delivered: poll until every target has bulletin id. */
static int wait_delivered(struct ctl *ctl, const char *id, long timeout,
			  const struct timespec *t0)
{
	char path[sizeof(BULLETINS_PATH) + LIMIT_RECORD_ID + 2];
	struct ctl_response resp = { 0 };
	struct timespec nap = { 0, CTL_BULLETIN_POLL_MS * 1000000L };
	json_int_t targets, delivered;

	snprintf(path, sizeof(path), "%s/%s", BULLETINS_PATH, id);
	for (;;) {
		if (ctl_request(ctl, "GET", path, NULL, &resp) != ERR_OK)
			return CTL_EXIT_FAIL;
		if (resp.status != 200) {
			int rc = ctl_hub_error(ctl, &resp);

			ctl_response_free(&resp);
			return rc;
		}
		targets = json_integer_value(json_object_get(resp.json,
							     "targets"));
		delivered = json_integer_value(json_object_get(resp.json,
							       "delivered"));
		if (delivered >= targets) {
			printf("delivered to all %" JSON_INTEGER_FORMAT
			       " communities in %.3f s\n", targets,
			       seconds_since(t0));
			ctl_response_free(&resp);
			return CTL_EXIT_OK;
		}
		if (seconds_since(t0) >= (double)timeout) {
			json_t *p;
			size_t i;

			printf("not delivered after %ld s to %" JSON_INTEGER_FORMAT
			       " of %" JSON_INTEGER_FORMAT " communities:",
			       timeout, targets - delivered, targets);
			json_array_foreach(json_object_get(resp.json, "pending"),
					   i, p) {
				char *clean = ctl_text_clean(json_string_value(p));

				printf(" %s", clean ? clean : "?");
				free(clean);
			}
			printf("\n");
			ctl_response_free(&resp);
			return CTL_EXIT_FAIL;
		}
		ctl_response_free(&resp);
		nanosleep(&nap, NULL);
	}
}

/* ---- issue, update, cancel ------------------------------------------------ */

/* get_bulletin: GET /api/v1/bulletins/ID into resp (200 only). */
static int get_bulletin(struct ctl *ctl, const char *id,
			struct ctl_response *resp)
{
	char path[sizeof(BULLETINS_PATH) + LIMIT_RECORD_ID + 2];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", BULLETINS_PATH, id);
	if (ctl_request(ctl, "GET", path, NULL, resp) != ERR_OK)
		return CTL_EXIT_FAIL;
	if (resp->status == 200)
		return CTL_EXIT_OK;
	rc = ctl_hub_error(ctl, resp);
	ctl_response_free(resp);
	return rc;
}

/* from_old: field name of the old bulletin (JSON), or "" when none. */
static const char *from_old(const json_t *old, const char *name)
{
	const char *v = json_string_value(json_object_get(old, name));

	return v ? v : "";
}

/* cancelled: prefix and the headline cancelled into buf, cut at a
 * character boundary to fit LIMIT_BULLETIN_HEADLINE. Returns buf. */
static char *cancelled(char *buf, size_t len, const char *prefix,
		       const char *headline)
{
	size_t room = LIMIT_BULLETIN_HEADLINE - strlen(prefix);
	size_t n = strlen(headline);

	if (n > room) {
		n = room;
		while (n && ((unsigned char)headline[n] & 0xc0) == 0x80)
			n--;        /* not inside a UTF-8 sequence */
	}
	snprintf(buf, len, "%s%.*s", prefix, (int)n, headline);
	return buf;
}

/* publish: the shared body of issue (type "alert"), update and cancel
 * (ref: the bulletin replaced). */
static int publish(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		   char **argv, const char *type)
{
	static const struct option longopts[] = { BULLETIN_OPTIONS };
	BulletinContent c = ALLIANCE__V1__BULLETIN_CONTENT__INIT;
	struct ctl_response resp = { 0 }, old_resp = { 0 };
	struct opts o = { 0 };
	const json_t *old = NULL;
	char id[64], key_id[BULLETIN_KEY_ID_LEN + 1];
	char sender[BULLETIN_CAP_SENDER_MAX + 1], cancel_head[512];
	char cancel_head_en[512], **area = NULL, *ref = NULL, why[128];
	struct ctl_area parsed = { 0 };
	struct timespec t0;
	long expires = CTL_BULLETIN_EXPIRES_S, timeout = CTL_BULLETIN_WAIT_S;
	EVP_PKEY *key = NULL;
	int rc, first, is_alert = strcmp(type, "alert") == 0;
	size_t n_area = 0;

	rc = ctl_command_parse(ctl, cmd, argc, argv, longopts, on_opt, &o,
			       &first);
	if (rc >= 0)
		return rc;
	if (is_alert ? first != argc : argc - first != 1)
		return ctl_usage_error(ctl, cmd, is_alert ? "unexpected argument"
				       : "give the ID of the bulletin replaced");
	if (o.check_in && strcmp(type, "cancel") == 0)
		return ctl_usage_error(ctl, cmd, "--check-in: a cancel asks no "
				       "one to check in");
	if (!is_alert) {
		ref = argv[first];
		if (!text_record_id_valid(ref))
			return ctl_usage_error(ctl, cmd, "'%s' is not a bulletin "
					       "id", ref);
	}
	if (is_alert)
		for (int f = OPT_HEADLINE; f <= OPT_INSTRUCTIONS; f++)
			if (!o.text[f])
				return ctl_usage_error(ctl, cmd, "--%s is required",
					longopts[f + 5].name);
	if (o.expires && ctl_duration_parse(o.expires, LIMIT_BULLETIN_LIFETIME_S,
					    &expires) != ERR_OK)
		return ctl_usage_error(ctl, cmd, "--expires %s: give a duration "
				       "such as 90m, 24h or 7d", o.expires);
	if (o.timeout && ctl_duration_parse(o.timeout, LIMIT_BULLETIN_LIFETIME_S,
					    &timeout) != ERR_OK)
		return ctl_usage_error(ctl, cmd, "--timeout %s: give seconds",
				       o.timeout);
	rc = ctl_ready(ctl);
	if (rc != CTL_EXIT_OK)
		return rc;
	key = load_signing_key(ctl);
	if (!key)
		return ctl->signing_key ? CTL_EXIT_FAIL : CTL_EXIT_USAGE;
	if (hub_sender(ctl, sender, sizeof(sender)) != ERR_OK ||
	    bulletin_key_id(key, key_id) != ERR_OK) {
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	if (ref) {
		rc = get_bulletin(ctl, ref, &old_resp);
		if (rc != CTL_EXIT_OK)
			goto out;
		old = old_resp.json;
	}
	new_id(id, sizeof(id));
	c.id = id;
	c.key_id = key_id;
	c.sender = sender;
	c.type = (char *)type;
	c.references = ref ? &ref : NULL;
	c.n_references = ref ? 1 : 0;
#define PICK(opt, name, def) \
	(char *)(o.text[opt] ? o.text[opt] : old ? from_old(old, name) : def)
	c.severity = PICK(OPT_SEVERITY, "severity", "severe");
	c.urgency = PICK(OPT_URGENCY, "urgency", "immediate");
	c.certainty = PICK(OPT_CERTAINTY, "certainty", "observed");
	c.category = PICK(OPT_CATEGORY, "category", "public-safety");
	c.headline = PICK(OPT_HEADLINE, "headline", "");
	c.description = PICK(OPT_DESCRIPTION, "description", "");
	c.cause = PICK(OPT_CAUSE, "cause", "");
	c.response = PICK(OPT_RESPONSE, "response", "");
	c.instructions = PICK(OPT_INSTRUCTIONS, "instructions", "");
	c.headline_en = PICK(OPT_HEADLINE_EN, "headline_en", "");
	c.description_en = PICK(OPT_DESCRIPTION_EN, "description_en", "");
	c.cause_en = PICK(OPT_CAUSE_EN, "cause_en", "");
	c.response_en = PICK(OPT_RESPONSE_EN, "response_en", "");
	c.instructions_en = PICK(OPT_INSTRUCTIONS_EN, "instructions_en", "");
#undef PICK
	/* signed with the rest; an update asks as the bulletin it replaces
	 * did, a cancel never (lib/bulletin.c) */
	c.check_in = o.check_in || (old && strcmp(type, "update") == 0 &&
				    json_is_true(json_object_get(old,
								 "check_in")));
	if (strcmp(type, "cancel") == 0) {
		/* each language says it in its own words */
		if (!o.text[OPT_HEADLINE])
			c.headline = cancelled(cancel_head, sizeof(cancel_head),
					       "已取消：", c.headline);
		if (!o.text[OPT_DESCRIPTION])
			c.description = "本通告已取消。";
		if (!o.text[OPT_HEADLINE_EN] && *c.headline_en)
			c.headline_en = cancelled(cancel_head_en,
						  sizeof(cancel_head_en),
						  "Cancelled: ", c.headline_en);
		if (!o.text[OPT_DESCRIPTION_EN] && *c.headline_en)
			c.description_en = "This bulletin is cancelled.";
	}
	if (o.area) {
		if (ctl_area_parse(o.area, LIMIT_BULLETIN_AREA, &parsed, why,
				   sizeof(why)) != ERR_OK) {
			rc = ctl_usage_error(ctl, cmd, "--area: %s", why);
			goto out;
		}
		area = parsed.ids;
		n_area = parsed.n;
	} else if (old) {
		/* the same communities as the bulletin replaced */
		json_t *a = json_object_get(old, "area"), *v;
		size_t i;

		area = calloc(json_array_size(a) + 1, sizeof(*area));
		json_array_foreach(a, i, v)
			if (area && json_string_value(v))
				area[n_area++] = (char *)json_string_value(v);
	} else {
		area = calloc(1, sizeof(*area));
	}
	if (!area) {
		ctl_errorf(ctl, "out of memory");
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	c.area = area;
	c.n_area = n_area;
	c.sent = (int64_t)time(NULL);
	c.expires = c.sent + expires;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sign_and_post(ctl, cmd, key, &c, &resp);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = ctl_hub_error(ctl, &resp);
		goto out;
	}
	printf("%s\n", id);
	fflush(stdout);
	if (o.wait)
		rc = wait_delivered(ctl, id, timeout, &t0);
out:
	ctl_response_free(&resp);
	ctl_response_free(&old_resp);
	EVP_PKEY_free(key);
	if (area != parsed.ids)
		free(area);
	ctl_area_free(&parsed);
	return rc;
}

int bulletin_issue(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		   char **argv)
{
	return publish(ctl, cmd, argc, argv, "alert");
}

int bulletin_update(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv)
{
	return publish(ctl, cmd, argc, argv, "update");
}

int bulletin_cancel(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv)
{
	return publish(ctl, cmd, argc, argv, "cancel");
}

/* ---- status ------------------------------------------------------------- */

/* delivery_columns: the per-community rows of `bulletin status`. */
static const struct ctl_column delivery_columns[] = {
	{ "COMMUNITY", "community", NULL },
	{ "DELIVERED", "delivered", ctl_cell_time },
	{ "AFTER", "delivery_ms", ctl_cell_ms_as_s },
	{ "REFUSED", "refused", NULL },
};

/* checkin_columns: the per-community rows of a check-in's progress. */
static const struct ctl_column checkin_columns[] = {
	{ "COMMUNITY", "community", NULL },
	{ "CONFIRMED", "confirmed", ctl_cell_count },
	{ "NOT YET", "not_yet", ctl_cell_count },
	{ "NEEDS HELP", "needs_help", ctl_cell_count },
	{ "ANON SAFE", "anonymous_safe", ctl_cell_count },
	{ "ANON HELP", "anonymous_help", ctl_cell_count },
	{ "UPDATED", "updated", ctl_cell_time },
};

/* print_checkin: a check-in's totals and each community's counts (the
 * hub's "check_in_counts" of the bulletin). */
static int print_checkin(const struct ctl *ctl, const json_t *ci)
{
#define N(k) json_integer_value(json_object_get(ci, k))
	printf("check-in: %" JSON_INTEGER_FORMAT " confirmed safe, %"
	       JSON_INTEGER_FORMAT " not yet, %" JSON_INTEGER_FORMAT
	       " need help; anonymous: %" JSON_INTEGER_FORMAT " safe, %"
	       JSON_INTEGER_FORMAT " help (%zu communities reported)\n",
	       N("confirmed"), N("not_yet"), N("needs_help"),
	       N("anonymous_safe"), N("anonymous_help"),
	       json_array_size(json_object_get(ci, "communities")));
#undef N
	return ctl_print_items(ctl, checkin_columns,
			       CTL_COLUMNS(checkin_columns),
			       json_object_get(ci, "communities"), stdout);
}

static int print_status(const struct ctl *ctl, const json_t *b)
{
	const json_t *ci = json_object_get(b, "check_in_counts");
	int rc;

	char *headline = ctl_text_clean(json_string_value(
		json_object_get(b, "headline")));
	char *status = ctl_text_clean(json_string_value(
		json_object_get(b, "status")));

	printf("%s (%s): %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
	       " communities have it\n", headline ? headline : "?",
	       status ? status : "?",
	       json_integer_value(json_object_get(b, "delivered")),
	       json_integer_value(json_object_get(b, "targets")));
	free(headline);
	free(status);
	rc = ctl_print_items(ctl, delivery_columns,
			     CTL_COLUMNS(delivery_columns),
			     json_object_get(b, "delivery"), stdout);
	if (rc == CTL_EXIT_OK && json_is_object(ci))
		rc = print_checkin(ctl, ci);
	return rc;
}

int bulletin_status(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_response resp = { 0 };
	struct opts o = { 0 };
	int rc, first;

	rc = ctl_command_parse(ctl, cmd, argc, argv, longopts, on_opt, &o,
			       &first);
	if (rc >= 0)
		return rc;
	if (argc - first != 1 || !text_record_id_valid(argv[first]))
		return ctl_usage_error(ctl, cmd, "give one bulletin ID");
	rc = ctl_ready(ctl);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = get_bulletin(ctl, argv[first], &resp);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = o.json ? ctl_print_body(ctl, &resp) : print_status(ctl, resp.json);
	ctl_response_free(&resp);
	return rc;
}

/* ---- list --------------------------------------------------------------- */

/* delivered_of: a bulletin's "delivered/targets" into buf. */
static const char *delivered_of(const json_t *b, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(b, "delivered")),
		 json_integer_value(json_object_get(b, "targets")));
	return buf;
}

/* list_columns: the rows of `bulletin list`. */
static const struct ctl_column list_columns[] = {
	{ "ID", "id", NULL },
	{ "TYPE", "type", NULL },
	{ "SEVERITY", "severity", NULL },
	{ "STATUS", "status", NULL },
	{ "SENT", "sent", ctl_cell_time },
	{ "DELIVERED", NULL, delivered_of },
	{ "HEADLINE", "headline", NULL },
};

int bulletin_list(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		  char **argv)
{
	return ctl_list_command(ctl, cmd, argc, argv, BULLETINS_PATH,
				list_columns, CTL_COLUMNS(list_columns));
}
