/* peer.c: the client of a public port, through trusted proxies (peer.h).
 *
 * Parts: addresses; the list of trusted proxies; the client. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "peer.h"

/* ---- addresses -------------------------------------------------------------- */

/* parse_addr: an IPv4 or IPv6 address (IPv4-mapped IPv6 taken as IPv4). */
static int parse_addr(const char *s, struct peer_net *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0, 0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = AF_INET;
		a->bits = 32;
		return 1;
	}
	if (inet_pton(AF_INET6, s, a->addr) != 1)
		return 0;
	if (memcmp(a->addr, mapped, sizeof(mapped)) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
		a->bits = 32;
		return 1;
	}
	a->family = AF_INET6;
	a->bits = 128;
	return 1;
}

/* in_net: 1 when address a is inside network net. */
static int in_net(const struct peer_net *a, const struct peer_net *net)
{
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (a->family != net->family || memcmp(a->addr, net->addr, full))
		return 0;
	if (!rest)
		return 1;
	return ((a->addr[full] ^ net->addr[full]) &
		(unsigned char)(0xff << (8 - rest))) == 0;
}

static int trusted(const struct peer_proxies *tp, const struct peer_net *a)
{
	for (size_t i = 0; tp && i < tp->n; i++)
		if (in_net(a, &tp->net[i]))
			return 1;
	return 0;
}

/* key_of: a's text as limits count it: IPv6 by its /64. */
static void key_of(const struct peer_net *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char net[16];

	if (a->family == AF_INET) {
		inet_ntop(AF_INET, a->addr, text, sizeof(text));
		snprintf(buf, len, "%s", text);
		return;
	}
	memcpy(net, a->addr, 8);
	memset(net + 8, 0, 8);
	inet_ntop(AF_INET6, net, text, sizeof(text));
	snprintf(buf, len, "%s/64", text);
}

/* ---- the list of trusted proxies --------------------------------------------- */

int peer_proxies_parse(const char *list, struct peer_proxies *out, char *why,
		       size_t whylen)
{
	const char *p = list ? list : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		char item[INET6_ADDRSTRLEN + 8], *slash, *end;
		size_t n = strcspn(p, ", \t");
		struct peer_net net;
		unsigned long bits;

		if (!n) {
			p++;
			continue;
		}
		if (out->n == PEER_PROXIES_MAX) {
			snprintf(why, whylen, "more than %d entries",
				 PEER_PROXIES_MAX);
			return ERR_INVALID;
		}
		if (n >= sizeof(item)) {
			snprintf(why, whylen, "'%.20s...' is not an address "
				 "or network", p);
			return ERR_INVALID;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		slash = strchr(item, '/');
		if (slash)
			*slash = '\0';
		if (!parse_addr(item, &net))
			goto bad;
		if (slash) {
			bits = strtoul(slash + 1, &end, 10);
			if (!slash[1] || *end || bits > net.bits)
				goto bad;
			net.bits = (unsigned)bits;
		}
		out->net[out->n++] = net;
		continue;
bad:
		if (slash)
			*slash = '/';
		snprintf(why, whylen, "'%s' is not an address or network "
			 "(a.b.c.d[/n], an IPv6 address[/n])", item);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* ---- the client ---------------------------------------------------------------- */

/* direct: the address of wsi's socket peer. 0 when unknown. */
static int direct(struct lws *wsi, struct peer_net *a)
{
	char text[INET6_ADDRSTRLEN + 8];

	return lws_get_peer_simple(wsi, text, sizeof(text)) &&
	       parse_addr(text, a);
}

/* header: a request header (lws token, or a custom one "name:") in a
 * malloc'd string; NULL when absent. */
static char *header(struct lws *wsi, int token, const char *custom)
{
	int n = custom ? lws_hdr_custom_length(wsi, custom,
					       (int)strlen(custom))
		       : lws_hdr_total_length(wsi,
					      (enum lws_token_indexes)token);
	char *buf;

	if (n <= 0 || !(buf = malloc((size_t)n + 1)))
		return NULL;
	if ((custom ? lws_hdr_custom_copy(wsi, buf, n + 1, custom,
					  (int)strlen(custom))
		    : lws_hdr_copy(wsi, buf, n + 1,
				   (enum lws_token_indexes)token)) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* last_item: the rightmost comma-separated item of s before *end (moved
 * to the comma, or s), trimmed, NUL-terminated in place. */
static char *last_item(char *s, char **end)
{
	char *e = *end, *b;

	while (e > s && e[-1] == ' ')
		e--;
	*e = '\0';
	b = e;
	while (b > s && b[-1] != ',')
		b--;
	*end = b > s ? b - 1 : s;
	while (*b == ' ')
		b++;
	return b;
}

int peer_resolve(const char *direct, const char *xff,
		 const struct peer_proxies *tp, char *buf, size_t len)
{
	struct peer_net a, hop;
	char *copy, *end;

	if (!direct || !parse_addr(direct, &a)) {
		snprintf(buf, len, "?");
		return ERR_INVALID;
	}
	if (xff && trusted(tp, &a) && (copy = strdup(xff))) {
		/* from the right: the first hop that is not a trusted
		 * proxy; an unreadable hop ends the walk */
		end = copy + strlen(copy);
		while (end > copy) {
			char *item = last_item(copy, &end);

			if (!parse_addr(item, &hop))
				break;
			a = hop;
			if (!trusted(tp, &hop))
				break;
		}
		free(copy);
	}
	key_of(&a, buf, len);
	return ERR_OK;
}

void peer_client(struct lws *wsi, const struct peer_proxies *tp, char *buf,
		 size_t len)
{
	char direct[INET6_ADDRSTRLEN + 8];
	char *xff = NULL;

	if (!lws_get_peer_simple(wsi, direct, sizeof(direct)))
		direct[0] = '\0';
	if (tp && tp->n)
		xff = header(wsi, WSI_TOKEN_X_FORWARDED_FOR, NULL);
	peer_resolve(direct, xff, tp, buf, len);
	free(xff);
}

int peer_https(struct lws *wsi, const struct peer_proxies *tp)
{
	struct peer_net a;
	char *proto, *end;
	int https;

	if (lws_is_ssl(lws_get_network_wsi(wsi)))
		return 1;
	if (!direct(wsi, &a) || !trusted(tp, &a) ||
	    !(proto = header(wsi, 0, "x-forwarded-proto:")))
		return 0;
	end = proto + strlen(proto);
	https = strcasecmp(last_item(proto, &end), "https") == 0;
	free(proto);
	return https;
}
