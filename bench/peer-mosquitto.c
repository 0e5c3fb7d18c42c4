/* peer-mosquitto.c: the load generator of bench/peer-mosquitto: the
 * fan-out of bench/fanout through an MQTT broker (mosquitto), measured
 * the same way, for a figure side by side with the hub's.
 *
 * Holds N subscribers against a running broker, each a mutual-TLS MQTT
 * 3.1.1 session with its own certificate (CN PREFIX-00001.., which the
 * broker takes as the user name), a persistent session (clean session off:
 * the broker keeps what a subscriber misses, as the hub keeps its delivery
 * rows), subscribed at QoS 1 to one topic; every message is checked and
 * answered with a PUBACK. Connects staggered (at most --connecting
 * handshakes at a time), as bench/fanout.c does. The MQTT packets are
 * written here (the few a subscriber and a publisher need), so the
 * generator costs what bench/fanout.c's own websocket client costs.
 *
 * Then a publisher thread with its own mutual-TLS session (the operator's
 * certificate) publishes M messages of --size bytes at QoS 1, one at a
 * time. Per message: from just before the PUBLISH is written until the
 * last subscriber has received it (as bench/fanout.c times a bulletin from
 * just before its POST); the publisher also waits for its PUBACK. The
 * broker's RSS before the first connect and after all are subscribed
 * gives per_node_kb.
 *
 * Prints progress to stderr and one summary line last on stdout:
 *   peer-mosquitto nodes=N bulletins=M p50_ms= p99_ms= max_ms=
 *   broker_rss_mb= per_node_kb= connect_s=
 *
 * Parts: options and state; MQTT packets; the subscribers (receiving,
 * connecting, the loop); the publisher thread; main. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchc.h"

#define PROG "peer-mosquitto"
/* Connection attempts per subscriber before the run fails. */
#define SIM_TRIES 10
/* Seconds the broker gets to settle after the last SUBACK before its RSS
 * is read (as bench/fanout.c waits for the hub). */
#define SETTLE_S 1
#define CONNECT_TIMEOUT_S 600
#define MESSAGE_TIMEOUT_S 60
/* The largest packet taken from the broker. */
#define MAX_PACKET (1u << 20)
#define TOPIC "alliance/bulletins"

/* MQTT 3.1.1 control packet types (the high nibble of the first byte). */
enum {
	MQTT_CONNECT = 1, MQTT_CONNACK = 2, MQTT_PUBLISH = 3, MQTT_PUBACK = 4,
	MQTT_SUBSCRIBE = 8, MQTT_SUBACK = 9, MQTT_PINGRESP = 13
};

/* ---- options and state -------------------------------------------------- */

struct opts {
	unsigned nodes;             /* --nodes N */
	unsigned bulletins;         /* --bulletins M */
	unsigned size;              /* --size BYTES of payload */
	unsigned connecting;        /* --connecting K handshakes at once */
	int port;                   /* --port: the broker's TLS listener */
	const char *pki;            /* --pki DIR: ca.crt, nodes/, operators/ */
	const char *prefix;         /* --prefix: client ids PREFIX-00001 */
	const char *operator_name;  /* --operator SLUG: the publisher's cert */
	int broker_pid;             /* --broker-pid */
};

/* One subscriber. */
struct sim {
	unsigned idx;
	char id[64];                /* its client id and certificate's CN */
	enum { S_DOWN, S_TLS, S_CONNACK, S_SUBACK, S_OPEN } state;
	struct bench_conn c;
	int connecting;             /* counted in g.connecting */
	int subscribed;             /* counted in g.subscribed */
	unsigned tries;
	double retry_at;            /* connect again then (0: not waiting) */
	int last;                   /* index of the last message received */
};

static struct {
	struct opts o;
	int ep;                     /* the epoll set */
	SSL_CTX *tls;
	struct sim *sims;
	unsigned next;              /* next sim to connect */
	unsigned connecting;        /* handshakes in progress */
	unsigned subscribed;
	unsigned retries;           /* sims waiting to connect again */
	int failed;                 /* a subscriber gave up: the run fails */
	/* shared with the publisher thread (under mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cur;                    /* index of the message in flight, -1 */
	unsigned cur_received;      /* subscribers that received it */
	double cur_done;            /* monotonic s when the last one did */
	volatile int done;          /* the publisher finished: stop serving */
	double t_first_connect, t_all_subscribed;
} g;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- MQTT packets -------------------------------------------------------- */

/* The bytes of one packet being built. */
struct pkt {
	uint8_t b[64];              /* the fixed and variable header */
	size_t n;
};

static void put_u16(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)(v >> 8);
	p->b[p->n++] = (uint8_t)v;
}

static void put_str(struct pkt *p, const char *s)
{
	size_t len = strlen(s);

	put_u16(p, (unsigned)len);
	memcpy(p->b + p->n, s, len);
	p->n += len;
}

/* header: the fixed header of a packet whose remaining length is rl,
 * into h; its length. */
static size_t header(uint8_t h[5], uint8_t first, size_t rl)
{
	size_t n = 0;

	h[n++] = first;
	do {
		uint8_t d = rl % 128;

		rl /= 128;
		h[n++] = (uint8_t)(rl ? d | 0x80 : d);
	} while (rl);
	return n;
}

/* packet: the whole packet of type first with variable part v and
 * payload p[0..pn) into a buffer the caller frees; its length in *len. */
static uint8_t *packet(uint8_t first, const struct pkt *v, const void *p,
		       size_t pn, size_t *len)
{
	uint8_t h[5], *out;
	size_t hn = header(h, first, v->n + pn);

	*len = hn + v->n + pn;
	if (!(out = malloc(*len)))
		return NULL;
	memcpy(out, h, hn);
	memcpy(out + hn, v->b, v->n);
	if (pn)
		memcpy(out + hn + v->n, p, pn);
	return out;
}

/* connect_packet: CONNECT with client id, no will, no keep-alive (the
 * session is measured, not idled), clean session as asked. */
static uint8_t *connect_packet(const char *id, int clean, size_t *len)
{
	struct pkt v = { .n = 0 };

	put_str(&v, "MQTT");
	v.b[v.n++] = 4;                     /* protocol level 3.1.1 */
	v.b[v.n++] = clean ? 0x02 : 0x00;
	put_u16(&v, 0);                     /* keep-alive off */
	put_str(&v, id);
	return packet(MQTT_CONNECT << 4, &v, NULL, 0, len);
}

/* packet_in: whether buf[0..n) starts with a whole packet: 1 with its
 * type byte, the body and its length; 0 when more bytes are needed; -1
 * when it is malformed or too big. *used: the packet's whole length. */
static int packet_in(const uint8_t *buf, size_t n, uint8_t *first,
		     const uint8_t **body, size_t *rl, size_t *used)
{
	size_t len = 0, mul = 1, i = 1;

	for (;; i++) {
		if (i >= n)
			return 0;
		if (i > 4)
			return -1;
		len += (size_t)(buf[i] & 0x7f) * mul;
		mul *= 128;
		if (!(buf[i] & 0x80))
			break;
	}
	if (len > MAX_PACKET)
		return -1;
	if (n < i + 1 + len)
		return 0;
	*first = buf[0];
	*body = buf + i + 1;
	*rl = len;
	*used = i + 1 + len;
	return 1;
}

/* ---- the subscribers ----------------------------------------------------- */

/* lost: a session failed or closed; try again later or give up. */
static void lost(struct sim *s, const char *why)
{
	if (s->connecting) {
		s->connecting = 0;
		g.connecting--;
	}
	if (s->subscribed) {
		s->subscribed = 0;
		g.subscribed--;
	}
	bench_conn_close(&s->c);
	s->state = S_DOWN;
	if (g.done)
		return;
	say("%s: %s (try %u)", s->id, why, s->tries);
	if (s->tries >= SIM_TRIES) {
		g.failed = 1;
		return;
	}
	s->retry_at = bench_now_s() + 0.5;
	g.retries++;
}

/* send_packet: queue and write packet p of n bytes (NULL: building it
 * failed), then free it. 0 or -1. */
static int send_packet(struct sim *s, uint8_t *p, size_t n)
{
	int rc = p ? bench_conn_send(&s->c, p, n) : -1;

	free(p);
	return rc;
}

static int send_subscribe(struct sim *s)
{
	struct pkt v = { .n = 0 };
	uint8_t *p;
	size_t n = 0;

	put_u16(&v, 1);                     /* packet id */
	put_str(&v, TOPIC);
	v.b[v.n++] = 1;                     /* QoS 1 */
	p = packet(MQTT_SUBSCRIBE << 4 | 0x2, &v, NULL, 0, &n);
	return send_packet(s, p, n);
}

/* on_publish: a message; its payload starts "bulletin-K "; answered with
 * a PUBACK. 0 or -1. */
static int on_publish(struct sim *s, uint8_t first, const uint8_t *b,
		      size_t rl)
{
	unsigned qos = (first >> 1) & 3, k, tl, pid = 0;
	size_t at;
	char head[32];
	struct pkt v = { .n = 0 };
	uint8_t *ack;

	if (rl < 2)
		return -1;
	tl = (unsigned)b[0] << 8 | b[1];
	at = 2 + tl;
	if (qos) {
		if (rl < at + 2)
			return -1;
		pid = (unsigned)b[at] << 8 | b[at + 1];
		at += 2;
	}
	if (rl < at)
		return -1;
	snprintf(head, sizeof(head), "%.*s", (int)(rl - at < 31 ? rl - at : 31),
		 (const char *)b + at);
	if (sscanf(head, "bulletin-%u ", &k) != 1) {
		say("%s: a message that is not a bulletin", s->id);
		return -1;
	}
	pthread_mutex_lock(&g.mu);
	if (g.cur == (int)k && s->last != g.cur) {
		s->last = g.cur;
		if (++g.cur_received == g.o.nodes) {
			g.cur_done = bench_now_s();
			pthread_cond_broadcast(&g.cv);
		}
	}
	pthread_mutex_unlock(&g.mu);
	if (!qos)
		return 0;
	put_u16(&v, pid);
	ack = packet(MQTT_PUBACK << 4, &v, NULL, 0, &at);
	return send_packet(s, ack, at);
}

/* on_packet: one packet from the broker; 0, or -1 with *why. */
static int on_packet(struct sim *s, uint8_t first, const uint8_t *b,
		     size_t rl, const char **why)
{
	switch (first >> 4) {
	case MQTT_CONNACK:
		if (s->state != S_CONNACK || rl != 2 || b[1] != 0) {
			*why = "connection refused";
			return -1;
		}
		s->state = S_SUBACK;
		return send_subscribe(s);
	case MQTT_SUBACK:
		if (s->state != S_SUBACK || rl != 3 || b[2] != 1) {
			*why = "subscription refused";
			return -1;
		}
		s->state = S_OPEN;
		s->connecting = 0;
		g.connecting--;
		s->subscribed = 1;
		if (++g.subscribed == g.o.nodes) {
			pthread_mutex_lock(&g.mu);
			g.t_all_subscribed = bench_now_s();
			pthread_cond_broadcast(&g.cv);
			pthread_mutex_unlock(&g.mu);
		}
		return 0;
	case MQTT_PUBLISH:
		*why = "a bad message";
		return on_publish(s, first, b, rl);
	case MQTT_PINGRESP:
		return 0;
	default:
		*why = "an unexpected packet";
		return -1;
	}
}

/* advance: run s as far as its socket allows. */
static void advance(struct sim *s, uint32_t events)
{
	const char *why = "connection lost";
	size_t at = 0, len = 0;
	uint8_t *p;
	int n;

	if (events & (EPOLLERR | EPOLLHUP) && s->state != S_OPEN)
		goto fail;
	if (s->state == S_TLS) {
		n = bench_conn_handshake(&s->c);
		if (n == 0)
			return;
		if (n < 0) {
			why = "TLS handshake failed";
			goto fail;
		}
		s->state = S_CONNACK;
		p = connect_packet(s->id, 0, &len);
		if (send_packet(s, p, len))
			goto fail;
	}
	if (events & EPOLLOUT && bench_conn_flush(&s->c))
		goto fail;
	if (bench_conn_read(&s->c))
		goto fail;
	for (;;) {
		uint8_t first;
		const uint8_t *body;
		size_t rl, used;

		n = packet_in(s->c.in + at, s->c.in_len - at, &first, &body,
			      &rl, &used);
		if (n == 0)
			break;
		if (n < 0) {
			why = "a malformed packet";
			goto fail;
		}
		if (on_packet(s, first, body, rl, &why))
			goto fail;
		at += used;
	}
	memmove(s->c.in, s->c.in + at, s->c.in_len - at);
	s->c.in_len -= at;
	return;
fail:
	lost(s, why);
}

/* connect_sim: open s's session with its own certificate. */
static void connect_sim(struct sim *s)
{
	char crt[512], key[512];

	s->tries++;
	s->retry_at = 0;
	s->connecting = 1;
	g.connecting++;
	s->last = -1;
	snprintf(crt, sizeof(crt), "%s/nodes/%s.crt", g.o.pki, s->id);
	snprintf(key, sizeof(key), "%s/nodes/%s.key", g.o.pki, s->id);
	s->state = S_TLS;
	if (bench_conn_open(&s->c, g.ep, g.tls, g.o.port, crt, key, s))
		lost(s, "cannot set up the connection");
}

/* serve: run every subscriber until the publisher is done or one gave
 * up: up to --connecting handshakes at a time, retries after 0.5 s. */
static void serve(void)
{
	struct epoll_event evs[256];

	while (!g.done && !g.failed) {
		double now = bench_now_s();
		int n;

		while (g.next < g.o.nodes && g.connecting < g.o.connecting)
			connect_sim(&g.sims[g.next++]);
		for (unsigned i = 0; g.retries && i < g.o.nodes; i++)
			if (g.sims[i].retry_at > 0 &&
			    g.sims[i].retry_at <= now) {
				g.retries--;
				connect_sim(&g.sims[i]);
			}
		n = epoll_wait(g.ep, evs, 256,
			       g.next < g.o.nodes || g.retries ? 2 : 50);
		for (int i = 0; i < n; i++)
			advance(evs[i].data.ptr, evs[i].events);
	}
}

/* ---- the publisher thread ------------------------------------------------ */

struct publisher {
	SSL_CTX *tls;
	SSL *ssl;                   /* a blocking session */
	int fd;
	uint8_t in[256];            /* what the broker sent, not yet taken */
	size_t in_len;
	double *lat;                /* per message, ms */
	unsigned n;
	long rss_before, rss_after; /* KiB */
	int ok;
};

/* pub_packet: wait for the broker's next packet (CONNACK or PUBACK, a
 * few bytes); its type byte and body into first, b[0..*rl). 0 or -1. */
static int pub_packet(struct publisher *p, uint8_t *first, uint8_t *b,
		      size_t cap, size_t *rl)
{
	const uint8_t *body;
	size_t used;
	int r;

	while ((r = packet_in(p->in, p->in_len, first, &body, rl, &used))
	       == 0) {
		int n;

		if (p->in_len == sizeof(p->in))
			return -1;
		n = SSL_read(p->ssl, p->in + p->in_len,
			     (int)(sizeof(p->in) - p->in_len));
		if (n <= 0)
			return -1;
		p->in_len += (size_t)n;
	}
	if (r < 0 || *rl > cap)
		return -1;
	memcpy(b, body, *rl);
	memmove(p->in, p->in + used, p->in_len - used);
	p->in_len -= used;
	return 0;
}

/* pub_open: the publisher's session (the operator's certificate, clean
 * session) up to its CONNACK. 0 or -1. */
static int pub_open(struct publisher *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char crt[512], key[512];
	uint8_t *pkt, first, b[8];
	size_t len = 0, rl;
	int one = 1;

	snprintf(crt, sizeof(crt), "%s/operators/%s.crt", g.o.pki,
		 g.o.operator_name);
	snprintf(key, sizeof(key), "%s/operators/%s.key", g.o.pki,
		 g.o.operator_name);
	a.sin_port = htons((uint16_t)g.o.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->ssl = SSL_new(p->tls);
	if (!p->ssl || SSL_use_certificate_chain_file(p->ssl, crt) != 1 ||
	    SSL_use_PrivateKey_file(p->ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_set1_host(p->ssl, "localhost") != 1 ||
	    SSL_set_fd(p->ssl, p->fd) != 1 || SSL_connect(p->ssl) != 1)
		return -1;
	pkt = connect_packet("bench-publisher", 1, &len);
	if (!pkt || SSL_write(p->ssl, pkt, (int)len) != (int)len) {
		free(pkt);
		return -1;
	}
	free(pkt);
	if (pub_packet(p, &first, b, sizeof(b), &rl) ||
	    first >> 4 != MQTT_CONNACK || rl != 2 || b[1] != 0)
		return -1;
	return 0;
}

/* wait_until: wait on the condition until pred or deadline (monotonic s). */
static int wait_until(int (*pred)(void), double deadline)
{
	struct timespec ts;
	int ok;

	pthread_mutex_lock(&g.mu);
	while (!(ok = pred()) && bench_now_s() < deadline && !g.failed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g.cv, &g.mu, &ts);
	}
	pthread_mutex_unlock(&g.mu);
	return ok;
}

static int all_subscribed(void) { return g.t_all_subscribed > 0; }
static int all_received(void) { return g.cur_received == g.o.nodes; }

/* publish_one: message k at QoS 1, timed until every subscriber has it
 * (and the broker's PUBACK is in). 0 or -1. */
static int publish_one(struct publisher *p, unsigned k, const char *filler)
{
	struct pkt v = { .n = 0 };
	char head[32];
	uint8_t *pkt, *payload, first, b[8];
	size_t hl, len = 0, rl;
	double t0;
	int rc;

	hl = (size_t)snprintf(head, sizeof(head), "bulletin-%u ", k);
	if (!(payload = malloc(g.o.size > hl ? g.o.size : hl)))
		return -1;
	memcpy(payload, head, hl);
	if (g.o.size > hl)
		memcpy(payload + hl, filler, g.o.size - hl);
	put_str(&v, TOPIC);
	put_u16(&v, (k % 65535) + 1);       /* packet id, never 0 */
	pkt = packet(MQTT_PUBLISH << 4 | 0x2, &v, payload,
		     g.o.size > hl ? g.o.size : hl, &len);
	free(payload);
	if (!pkt)
		return -1;
	pthread_mutex_lock(&g.mu);
	g.cur_received = 0;
	g.cur = (int)k;
	pthread_mutex_unlock(&g.mu);
	t0 = bench_now_s();
	rc = SSL_write(p->ssl, pkt, (int)len) == (int)len ? 0 : -1;
	free(pkt);
	if (rc || pub_packet(p, &first, b, sizeof(b), &rl) ||
	    first >> 4 != MQTT_PUBACK || rl != 2) {
		say("message %u: no PUBACK from the broker", k);
		return -1;
	}
	if (!wait_until(all_received, t0 + MESSAGE_TIMEOUT_S)) {
		say("message %u: only %u of %u subscribers received it", k,
		    g.cur_received, g.o.nodes);
		return -1;
	}
	p->lat[p->n++] = (g.cur_done - t0) * 1000.0;
	return 0;
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	char *filler = malloc(g.o.size + 1);

	if (!filler)
		goto out;
	for (unsigned i = 0; i < g.o.size; i++)
		filler[i] = "Water main burst; boil tap water. "[i % 34];
	if (!wait_until(all_subscribed, bench_now_s() + CONNECT_TIMEOUT_S)) {
		say("only %u of %u subscribers subscribed", g.subscribed,
		    g.o.nodes);
		goto out;
	}
	say("%u sessions subscribed in %.2f s", g.o.nodes,
	    g.t_all_subscribed - g.t_first_connect);
	sleep(SETTLE_S);
	p->rss_after = bench_rss_kb(g.o.broker_pid);
	if (pub_open(p)) {
		say("the publisher cannot connect");
		goto out;
	}
	for (unsigned k = 0; k < g.o.bulletins; k++) {
		if (publish_one(p, k, filler))
			goto out;
		if ((k + 1) % 10 == 0 || k + 1 == g.o.bulletins)
			say("%u/%u messages: last %.1f ms", k + 1,
			    g.o.bulletins, p->lat[p->n - 1]);
	}
	p->ok = !g.failed;
out:
	free(filler);
	g.done = 1;                 /* serve looks at least every 50 ms */
	return NULL;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: peer-mosquitto --nodes N [--bulletins M] [--size BYTES]"
		"\n                      --pki DIR --port P --broker-pid PID\n"
		"                      [--prefix ID] [--operator SLUG] "
		"[--connecting K]\n"
		"Run by bench/peer-mosquitto, which makes the PKI and starts "
		"the broker (see there).\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	g.o.bulletins = 100;
	g.o.size = 1024;
	g.o.connecting = 32;
	g.o.prefix = "bench";
	g.o.operator_name = "test-operator";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--nodes"))
			g.o.nodes = bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--bulletins"))
			g.o.bulletins = bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--size"))
			g.o.size = bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--connecting"))
			g.o.connecting = bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--port"))
			g.o.port = (int)bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--broker-pid"))
			g.o.broker_pid = (int)bench_uarg(PROG, a, v);
		else if (!strcmp(a, "--pki"))
			g.o.pki = v;
		else if (!strcmp(a, "--prefix"))
			g.o.prefix = v;
		else if (!strcmp(a, "--operator"))
			g.o.operator_name = v;
		else
			usage();
		i++;
	}
	if (!g.o.nodes || !g.o.port || !g.o.pki || !g.o.broker_pid ||
	    !g.o.connecting || g.o.size > MAX_PACKET / 2)
		usage();
}

int main(int argc, char **argv)
{
	struct publisher pub = { .fd = -1 };
	pthread_t th;

	parse(argc, argv);
	if (bench_raise_fds(g.o.nodes + 256)) {
		say("%u subscribers need %u fds; the hard limit is lower",
		    g.o.nodes, g.o.nodes + 256);
		return 1;
	}
	g.sims = calloc(g.o.nodes, sizeof(*g.sims));
	pub.lat = calloc(g.o.bulletins + 1, sizeof(double));
	if (!g.sims || !pub.lat)
		return 1;
	for (unsigned i = 0; i < g.o.nodes; i++) {
		g.sims[i].idx = i;
		g.sims[i].c.fd = -1;
		g.sims[i].last = -1;
		snprintf(g.sims[i].id, sizeof(g.sims[i].id), "%s-%05u",
			 g.o.prefix, i + 1);
	}
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	g.cur = -1;
	g.ep = epoll_create1(0);
	g.tls = bench_tls_client(g.o.pki);
	pub.tls = g.tls;
	if (g.ep < 0 || !g.tls) {
		say("cannot set up epoll or TLS");
		return 1;
	}
	pub.rss_before = bench_rss_kb(g.o.broker_pid);
	g.t_first_connect = bench_now_s();
	if (pthread_create(&th, NULL, publisher_main, &pub))
		return 1;
	serve();
	g.done = 1;
	pthread_join(th, NULL);
	for (unsigned i = 0; i < g.o.nodes; i++)
		bench_conn_close(&g.sims[i].c);
	SSL_free(pub.ssl);
	if (pub.fd >= 0)
		close(pub.fd);
	SSL_CTX_free(g.tls);
	if (!pub.ok || g.failed || pub.n != g.o.bulletins) {
		say("the run failed");
		return 1;
	}
	bench_sort(pub.lat, pub.n);
	printf(PROG " nodes=%u bulletins=%u p50_ms=%.1f p99_ms=%.1f "
	       "max_ms=%.1f broker_rss_mb=%.1f per_node_kb=%.1f "
	       "connect_s=%.2f\n", g.o.nodes, g.o.bulletins,
	       bench_pct(pub.lat, pub.n, 50), bench_pct(pub.lat, pub.n, 99),
	       pub.n ? pub.lat[pub.n - 1] : 0,
	       (double)bench_rss_kb(g.o.broker_pid) / 1024.0,
	       (double)(pub.rss_after - pub.rss_before) / (double)g.o.nodes,
	       g.t_all_subscribed - g.t_first_connect);
	free(pub.lat);
	free(g.sims);
	return 0;
}
