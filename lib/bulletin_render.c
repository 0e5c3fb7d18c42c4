/* bulletin_render.c: CAP 1.2 and Atom renderings of bulletins (see
 * bulletin_render.h).
 *
 * Parts: a growable text buffer with XML escaping; CAP's sender and times;
 * CAP 1.2 (one <info> per language, labels in that language); Atom. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulletin_render.h"
#include "clock.h"
#include "err.h"
#include "text.h"

/* ---- a growable text buffer ------------------------------------------- */

struct sbuf {
	char *data;                 /* NUL-terminated (owned) */
	size_t len;
	size_t cap;
	int failed;                 /* an allocation failed: drop the result */
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 2048;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown) {
			b->failed = 1;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = 1;
		return;
	}
	sb_put(b, tmp, (size_t)n);
}

/* sb_xml: s escaped as XML character data or attribute value: the five
 * markup characters as entities; control characters XML cannot carry
 * (validation refuses them; this is the last line) dropped. */
static void sb_xml(struct sbuf *b, const char *s)
{
	const char *run = s;

	for (; s && *s; s++) {
		const char *ent = NULL;
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '&': ent = "&amp;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&apos;"; break;
		default:
			if ((ch < 0x20 && ch != '\n' && ch != '\r' &&
			     ch != '\t') || ch == 0x7f)
				ent = "";
		}
		if (!ent)
			continue;
		sb_put(b, run, (size_t)(s - run));
		sb_str(b, ent);
		run = s + 1;
	}
	if (s)
		sb_put(b, run, (size_t)(s - run));
}

/* sb_element: <name>escaped text</name> on its own indented line. */
static void sb_element(struct sbuf *b, const char *indent, const char *name,
		       const char *text)
{
	sb_printf(b, "%s<%s>", indent, name);
	sb_xml(b, text);
	sb_printf(b, "</%s>\n", name);
}

static int sb_finish(struct sbuf *b, char **out, size_t *len)
{
	if (b->failed || !b->data) {
		free(b->data);
		*out = NULL;
		*len = 0;
		return ERR_NOMEM;
	}
	*out = b->data;
	*len = b->len;
	return ERR_OK;
}

/* ---- CAP's sender and times ---------------------------------------------- */

/* cap_forbidden: a byte CAP 1.2 §3.2.1 keeps out of sender and
 * identifier: blanks and controls, ',', '<' and '&'. */
static int cap_forbidden(unsigned char ch)
{
	return ch <= 0x20 || ch == 0x7f || ch == ',' || ch == '<' || ch == '&';
}

int bulletin_cap_sender_valid(const char *s)
{
	size_t len = s ? strlen(s) : 0, i;

	if (len == 0 || len > BULLETIN_CAP_SENDER_MAX ||
	    !text_utf8_valid(s, len))
		return 0;
	for (i = 0; i < len; i++)
		if (cap_forbidden((unsigned char)s[i]))
			return 0;
	return 1;
}

char *bulletin_cap_sender(const char *sender, char *out, size_t outlen)
{
	size_t i;

	snprintf(out, outlen, "%s", sender && *sender ? sender : "unknown");
	for (i = 0; out[i]; i++)
		if (cap_forbidden((unsigned char)out[i]))
			out[i] = '_';
	return out;
}

char *bulletin_time_cap(int64_t t, char *buf, size_t buflen)
{
	char utc[CLOCK_RFC3339_LEN];
	size_t len = strlen(clock_rfc3339(t, utc, sizeof(utc)));

	/* §3.3.2: "the time zone offset for UTC is -00:00", not "Z" */
	snprintf(buf, buflen, "%.*s-00:00", (int)len - 1, utc);
	return buf;
}

const char *bulletin_cap_category(const char *category)
{
	const char *cap = bulletin_cap_word("category", category);

	return cap ? cap : "Other";
}

/* ---- CAP 1.2 ---------------------------------------------------------------- */

/* The texts and labels of one <info>, in one language. */
struct info_lang {
	const char *language;           /* RFC 3066 code, §3.2.2 */
	const char *headline;
	const char *description;
	const char *cause;
	const char *response;
	const char *instructions;
	const char *cause_label;
	const char *response_label;
	const char *all_communities;
};

/* cap_description: <description>: what happened, why, what is done, the
 * labels in the block's language. */
static void cap_description(struct sbuf *b, const struct info_lang *l)
{
	sb_str(b, "    <description>");
	sb_xml(b, l->description);
	if (l->cause && *l->cause) {
		sb_str(b, "\n\n");
		sb_str(b, l->cause_label);
		sb_xml(b, l->cause);
	}
	if (l->response && *l->response) {
		sb_str(b, "\n\n");
		sb_str(b, l->response_label);
		sb_xml(b, l->response);
	}
	sb_str(b, "</description>\n");
}

/* cap_info: one <info> block of c in language l (elements in the order
 * of the schema). */
static void cap_info(struct sbuf *b, const BulletinContent *c,
		     const struct info_lang *l, const char *base_url)
{
	char t[40];
	const char *w;
	size_t i;

	sb_str(b, "  <info>\n");
	sb_element(b, "    ", "language", l->language);
	sb_element(b, "    ", "category", bulletin_cap_category(c->category));
	sb_element(b, "    ", "event", l->headline);
	w = bulletin_cap_word("urgency", c->urgency);
	sb_element(b, "    ", "urgency", w ? w : "Unknown");
	w = bulletin_cap_word("severity", c->severity);
	sb_element(b, "    ", "severity", w ? w : "Unknown");
	w = bulletin_cap_word("certainty", c->certainty);
	sb_element(b, "    ", "certainty", w ? w : "Unknown");
	sb_element(b, "    ", "expires",
		   bulletin_time_cap(c->expires, t, sizeof(t)));
	sb_element(b, "    ", "senderName", c->sender);
	sb_element(b, "    ", "headline", l->headline);
	cap_description(b, l);
	if (l->instructions && *l->instructions)
		sb_element(b, "    ", "instruction", l->instructions);
	if (base_url && *base_url) {
		sb_str(b, "    <web>");
		sb_xml(b, base_url);
		sb_str(b, "/bulletins.html#b-");
		sb_xml(b, c->id);
		sb_str(b, "</web>\n");
	}
	if (c->check_in)        /* residents are asked to confirm they are safe */
		sb_str(b, "    <parameter>\n      <valueName>checkIn</valueName>"
		       "\n      <value>true</value>\n    </parameter>\n");
	sb_str(b, "    <area>\n      <areaDesc>");
	if (c->n_area == 0)
		sb_str(b, l->all_communities);
	for (i = 0; i < c->n_area; i++) {
		if (i)
			sb_str(b, ", ");
		sb_xml(b, c->area[i]);
	}
	sb_str(b, "</areaDesc>\n    </area>\n  </info>\n");
}

/* cap_references: <references> of the references held here (§3.2.1:
 * "sender,identifier,sent" triplets separated by whitespace). */
static void cap_references(struct sbuf *b, const BulletinContent *c,
			   const struct bulletin_cap_ref *refs)
{
	char t[40], sender[BULLETIN_CAP_SENDER_MAX + 1];
	size_t i, n = 0;

	for (i = 0; refs && i < c->n_references; i++) {
		if (!refs[i].sender)
			continue;
		sb_str(b, n++ ? " " : "  <references>");
		sb_xml(b, bulletin_cap_sender(refs[i].sender, sender,
					      sizeof(sender)));
		sb_str(b, ",");
		sb_xml(b, c->references[i]);
		sb_str(b, ",");
		sb_str(b, bulletin_time_cap(refs[i].sent, t, sizeof(t)));
	}
	if (n)
		sb_str(b, "</references>\n");
}

int bulletin_cap_xml(const BulletinContent *c,
		     const struct bulletin_cap_ref *refs, const char *base_url,
		     char **out, size_t *len)
{
	const struct info_lang zh = {
		"zh-CN", c->headline, c->description, c->cause, c->response,
		c->instructions, "原因：", "政府应对：", "全部社区",
	};
	const struct info_lang en = {
		"en-US", c->headline_en, c->description_en, c->cause_en,
		c->response_en, c->instructions_en, "Cause: ",
		"Authority response: ", "All communities",
	};
	struct sbuf b = { 0 };
	char t[40], sender[BULLETIN_CAP_SENDER_MAX + 1];
	const char *type = bulletin_cap_word("type", c->type);

	sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	       "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
	sb_element(&b, "  ", "identifier", c->id);
	sb_element(&b, "  ", "sender",
		   bulletin_cap_sender(c->sender, sender, sizeof(sender)));
	sb_element(&b, "  ", "sent", bulletin_time_cap(c->sent, t, sizeof(t)));
	sb_element(&b, "  ", "status", "Actual");
	sb_element(&b, "  ", "msgType", type ? type : "Alert");
	sb_element(&b, "  ", "scope", "Public");
	cap_references(&b, c, refs);
	cap_info(&b, c, &zh, base_url);
	if (bulletin_has_english(c))
		cap_info(&b, c, &en, base_url);
	sb_str(&b, "</alert>\n");
	return sb_finish(&b, out, len);
}

/* ---- Atom ----------------------------------------------------------------- */

/* atom_link: <link rel type href="base_url path"/>, path escaped. */
static void atom_link(struct sbuf *b, const char *indent, const char *rel,
		      const char *type, const char *base_url,
		      const char *path, const char *id, const char *suffix)
{
	sb_printf(b, "%s<link rel=\"%s\" type=\"%s\" href=\"", indent, rel,
		  type);
	sb_xml(b, base_url);
	sb_str(b, path);
	sb_xml(b, id);
	sb_str(b, suffix);
	sb_str(b, "\"/>\n");
}

int bulletin_atom(const char *title, const char *base_url,
		  const struct bulletin_atom_entry *entries, size_t n,
		  int64_t now, char **out, size_t *len)
{
	struct sbuf b = { 0 };
	char t[CLOCK_RFC3339_LEN];
	int64_t updated = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (entries[i].c->sent > updated)
			updated = entries[i].c->sent;
	sb_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	       "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
	/* RFC 4287 §4.2.6: the feed's own address is its universally
	 * unique id */
	sb_str(&b, "  <id>");
	sb_xml(&b, base_url);
	sb_str(&b, "/api/v1/bulletins.atom</id>\n");
	sb_element(&b, "  ", "title", title);
	sb_element(&b, "  ", "updated",
		   clock_rfc3339(updated ? updated : now, t, sizeof(t)));
	sb_str(&b, "  <author><name>District office</name></author>\n");
	atom_link(&b, "  ", "self", "application/atom+xml", base_url,
		  "/api/v1/bulletins.atom", "", "");
	atom_link(&b, "  ", "alternate", "text/html", base_url,
		  "/bulletins.html", "", "");
	for (i = 0; i < n; i++) {
		const BulletinContent *c = entries[i].c;

		sb_str(&b, "  <entry>\n    <id>urn:alliance:bulletin:");
		sb_xml(&b, c->id);
		sb_str(&b, "</id>\n");
		sb_element(&b, "    ", "title", c->headline);
		sb_element(&b, "    ", "updated",
			   clock_rfc3339(c->sent, t, sizeof(t)));
		sb_element(&b, "    ", "published",
			   clock_rfc3339(c->sent, t, sizeof(t)));
		sb_str(&b, "    <author><name>");
		sb_xml(&b, c->sender);
		sb_str(&b, "</name></author>\n    <category term=\"");
		sb_xml(&b, c->severity);
		sb_str(&b, "\"/>\n    <category term=\"");
		sb_xml(&b, entries[i].status);
		sb_str(&b, "\"/>\n");
		sb_element(&b, "    ", "summary", c->description);
		atom_link(&b, "    ", "alternate", "application/cap+xml",
			  base_url, "/api/v1/bulletins/", c->id, ".cap");
		atom_link(&b, "    ", "alternate", "text/html", base_url,
			  "/bulletins.html#b-", c->id, "");
		sb_str(&b, "  </entry>\n");
	}
	sb_str(&b, "</feed>\n");
	return sb_finish(&b, out, len);
}
