/* fanout.c: the load generator of bench/fanout and bench/scale.
 *
 * Holds N simulated nodes against a running alliance-hub, each a real
 * mutual-TLS websocket session (alliance.v1) with its own certificate,
 * connects staggered (at most --connecting handshakes at a time), the real
 * Hello and Welcome, Changes acked, pings answered, every Bulletin
 * verified against the pinned key and answered with a BulletinAck.
 * Identical signed bytes are verified once and the result shared (a real
 * node verifies its own copy; here N copies of one check would only
 * measure the generator).
 *
 * The sessions are OpenSSL over non-blocking sockets in one epoll loop,
 * with the websocket client (RFC 6455: the upgrade, masked frames out,
 * the hub's frames parsed whole) written here: lws 4.1's client takes
 * every received byte through a call of its parser, and with its poll
 * loop that made the generator, not the hub, the slower end of a
 * 1000-node fan-out (33 ms of its CPU a bulletin, 28 % of it in lws).
 *
 * Then M bulletins are issued one at a time through the operator API
 * (POST /api/v1/bulletins over mutual TLS, signed here with the test
 * signing key) by an issuer thread with its own libcurl connection, while
 * the service thread runs every session. Per bulletin:
 *   - latency: from just before the POST is sent until the last node has
 *     received and verified it;
 *   - acked: until the hub has recorded every delivery: until every
 *     bulletin_delivery row of it is committed with a delivered_ms (the
 *     hub's own record, polled every millisecond in its store, --hub-db,
 *     read only), then checked with GET /api/v1/bulletins/ID (delivered
 *     == targets); without --hub-db, that GET polled every 5 ms.
 * The hub's RSS (/proc/PID/status) before the first connect and after all
 * are welcomed gives per_node_kb; with --hold S the hub's CPU time
 * (/proc/PID/stat) over S idle seconds gives idle_cpu_pct.
 * --down-cursor SEQ: the nodes say in Hello they hold the hub's stream up
 * to SEQ (the hub's log head: caught up, so a hub with a big catalog
 * streams them nothing); --go FILE: the first bulletin waits until FILE
 * exists (bench/loaded starts its load once all are welcomed);
 * --extra-targets K: K more communities are registered (real nodes): each
 * bulletin's targets are N + K, and only the N simulated ones are waited
 * for.
 *
 * Two hub replicas (issue 18): --port2 P names the second replica's
 * alliance port. Node i dials replica i mod 2 first and the other next,
 * as a node's [hub] urls starting at replica (i mod H)+1 does: a session
 * lost (the hub gone) dials the next URL at once, and only once both
 * failed in a round waits the half second of a retry. The bulletins are
 * POSTed at --port, so those of the other replica's nodes cross the
 * shared log.
 * --kill PID (with --port2): the failover. Once all are welcomed and the
 * M bulletins (may be 0) are done, the replica at --port (process PID)
 * is sent SIGKILL and one bulletin is POSTed at once at --port2 (the
 * issuer's requests all go there, and --hub-db is that replica's store).
 * From the kill, it measures until the killed replica's nodes are all
 * welcomed at the other (moved_s), until they all hold the bulletin
 * (held_s: received and verified), until every node does (all_s) and
 * until the surviving replica recorded every delivery (acked_s), and the
 * CPU time the surviving replica (--pid2 PID) and this generator spent
 * from the kill until all held it (the two cores they share); the line
 * is then
 *   fanout-failover nodes=N moved_nodes=K moved_s= held_s= all_s=
 *   acked_s= survivor_cpu_s= generator_cpu_s= connect_s=
 *
 * Prints progress to stderr and one summary line last on stdout:
 *   fanout nodes=N bulletins=M p50_ms= p99_ms= max_ms= acked_p99_ms=
 *   hub_rss_mb= per_node_kb= connect_s= hub_cpu_ms= post_p50_ms=
 *   post_p99_ms= [first100_p99_ms=
 *   last100_p99_ms=] [idle_cpu_pct= hold_s=]
 * (first100_ and last100_p99_ms: the p99 of the first and of the last
 * 100 bulletins' latencies, when M >= 200).
 * post_p50_ms and post_p99_ms: until the POST was answered (the hub
 * stored the bulletin: with [store] postgresql, once it came back
 * committed from the shared log).
 * hub_cpu_ms is the hub's CPU time (/proc/PID/stat, user + system) from
 * the first POST until the last bulletin is acked, divided by M.
 *
 * Parts: options and state; helpers (clock, /proc); the sessions
 * (writing, receiving, connecting, the loop); the issuer thread; main. */
#include <curl/curl.h>
#include <errno.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchc.h"
#include "bulletin.h"
#include "err.h"
#include "alliance_limits.h"
#include "wire.h"

/* Connection attempts per node before the run fails. */
#define SIM_TRIES 10
/* Seconds the hub gets to settle after the last Welcome before its RSS is
 * read (OpenSSL releases idle buffers, the handshakes finish). */
#define SETTLE_S 1
/* Seconds to wait for all sessions, or for one bulletin's delivery. */
#define CONNECT_TIMEOUT_S 600
#define BULLETIN_TIMEOUT_S 60
/* Bulletins at the start and at the end of a run compared (first100_,
 * last100_p99_ms). */
#define SPAN 100

/* ---- options and state -------------------------------------------------- */

struct opts {
	unsigned nodes;             /* --nodes N */
	unsigned bulletins;         /* --bulletins M */
	unsigned size;              /* --size BYTES of signed content */
	unsigned hold;              /* --hold S: idle seconds measured */
	unsigned connecting;        /* --connecting K handshakes at once */
	int port;                   /* --port: the hub's alliance port */
	const char *pki;            /* --pki DIR: ca.crt, nodes/, operators/ */
	const char *prefix;         /* --prefix: community ids PREFIX-00001 */
	const char *operator_name;  /* --operator SLUG under DIR/operators */
	int hub_pid;                /* --hub-pid */
	const char *hub_db;         /* --hub-db: the hub's store (read only) */
	unsigned down_cursor;       /* --down-cursor SEQ: Hello's down_cursor */
	const char *go;             /* --go FILE: bulletins once it exists */
	unsigned extra_targets;     /* --extra-targets K: other communities */
	int port2;                  /* --port2: a second replica's, or 0 */
	int kill_pid;               /* --kill PID: the replica at --port */
	int pid2;                   /* --pid2 PID: the replica at --port2 */
};

/* One simulated node. */
struct sim {
	unsigned idx;
	char community[LIMIT_COMMUNITY_ID + 1];
	enum { S_DOWN, S_TCP, S_TLS, S_UPGRADE, S_OPEN } state;
	int fd;                     /* -1 when down */
	SSL *ssl;                   /* with its own certificate */
	int want_out;               /* EPOLLOUT asked for */
	char accept[32];            /* Sec-WebSocket-Accept expected */
	int connecting;             /* counted in g.connecting */
	int welcomed;
	unsigned tries;
	double retry_at;            /* connect again then (0: not waiting) */
	int last_bulletin;          /* index of the last bulletin received */
	int on;                     /* the replica dialled: 0 (--port), 1 */
	int round_fails;            /* URLs failed since the last Welcome */
	uint8_t *in, *msg, *out;    /* read, a message assembled, to write */
	size_t in_len, in_cap, msg_len, msg_cap, out_len, out_cap;
};

static struct {
	struct opts o;
	int ep;                     /* the epoll set */
	SSL_CTX *tls;
	uint64_t rng;               /* the masks of frames sent */
	unsigned retries;           /* sims waiting to connect again */
	struct sim *sims;
	struct bulletin_keys *keys;
	unsigned next;              /* next sim to connect */
	unsigned connecting;        /* handshakes in progress */
	unsigned welcomed;
	int failed;                 /* a node gave up: the run fails */
	/* the verified-once cache of signed bytes */
	uint8_t *vc_content, *vc_sig;
	size_t vc_len, vc_sig_len;
	char vc_id[LIMIT_RECORD_ID + 1];
	/* shared with the issuer thread (under mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cur;                    /* index of the bulletin in flight, -1 */
	char cur_id[LIMIT_RECORD_ID + 1];
	unsigned cur_received;      /* nodes that received and verified it */
	double cur_done;            /* monotonic s when the last one did */
	volatile int done;          /* the issuer finished: stop serving */
	double t_first_connect, t_all_welcomed;
	/* --kill: after the kill, the killed replica's nodes (moving) and
	 * those of them welcomed again and holding the bulletin */
	int killed;
	unsigned moving, moved, moved_received;
	double t_moved, t_moved_received;
	char prefix_dash[LIMIT_COMMUNITY_ID + 2];  /* "PREFIX-" */
} g;

/* ---- helpers ------------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("fanout: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* cpu_ticks: utime + stime of pid in clock ticks, or -1. */
static long long cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');      /* the command may hold blanks */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* ---- the sessions -------------------------------------------------------- */

/* set_events: what epoll reports for s: input always, output while bytes
 * wait to be written or the TLS handshake wants it. */
static void set_events(struct sim *s, int want_out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if (want_out)
		ev.events |= EPOLLOUT;
	if (want_out != s->want_out)
		epoll_ctl(g.ep, EPOLL_CTL_MOD, s->fd, &ev);
	s->want_out = want_out;
}

/* lost: a session failed or closed; try again later or give up. */
static void lost(struct sim *s, const char *why)
{
	if (s->connecting) {
		s->connecting = 0;
		g.connecting--;
	}
	if (s->welcomed) {
		s->welcomed = 0;
		pthread_mutex_lock(&g.mu);
		g.welcomed--;
		pthread_mutex_unlock(&g.mu);
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	if (s->fd >= 0)
		close(s->fd);            /* leaves the epoll set too */
	s->fd = -1;
	s->state = S_DOWN;
	s->in_len = s->msg_len = s->out_len = 0;
	if (g.done)
		return;
	if (!g.killed || s->idx % 2)     /* not one of the killed replica's */
		say("%s: %s (try %u)", s->community, why, s->tries);
	if (s->tries >= SIM_TRIES) {
		say("%s: gave up after %u tries", s->community, s->tries);
		g.failed = 1;
		return;
	}
	s->retry_at = bench_now_s() + 0.5;
	if (g.o.port2) {
		/* the next URL at once, the wait once both failed */
		s->on = !s->on;
		if (++s->round_fails < 2)
			s->retry_at = bench_now_s();
		else
			s->round_fails = 0;
	}
	g.retries++;
}

/* reserve: room for n more bytes in a growing buffer; 0 or -1. */
static int reserve(uint8_t **buf, size_t len, size_t *cap, size_t n)
{
	size_t c = *cap ? *cap : 4096;
	uint8_t *q;

	if (len + n <= *cap)
		return 0;
	while (c < len + n)
		c *= 2;
	if (!(q = realloc(*buf, c)))
		return -1;
	*buf = q;
	*cap = c;
	return 0;
}

/* flush: write what s holds; 0, or -1 when the session failed. */
static int flush(struct sim *s)
{
	while (s->out_len) {
		int n = SSL_write(s->ssl, s->out, (int)s->out_len);

		if (n <= 0) {
			int e = SSL_get_error(s->ssl, n);

			if (e == SSL_ERROR_WANT_WRITE ||
			    e == SSL_ERROR_WANT_READ)
				break;
			return -1;
		}
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	set_events(s, s->out_len > 0);
	return 0;
}

/* send_ws: queue one websocket frame of opcode with payload p (masked, as
 * a client's must be) and write. */
static int send_ws(struct sim *s, int opcode, const uint8_t *p, size_t n)
{
	uint8_t h[14], mask[4];
	size_t hl = 2;

	h[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	g.rng = g.rng * 6364136223846793005ULL + 1442695040888963407ULL;
	memcpy(mask, &g.rng, 4);
	memcpy(h + hl, mask, 4);
	hl += 4;
	if (bench_append(&s->out, &s->out_len, &s->out_cap, h, hl) ||
	    reserve(&s->out, s->out_len, &s->out_cap, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		s->out[s->out_len + i] = p[i] ^ mask[i & 3];
	s->out_len += n;
	return flush(s);
}

/* send_frame: one alliance frame as a binary message. */
static int send_frame(struct sim *s, const Frame *f)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (wire_encode(f, 0, &buf, &len) != ERR_OK)
		return -1;
	rc = send_ws(s, 0x2, buf, len);
	free(buf);
	return rc;
}

static int send_hello(struct sim *s)
{
	Frame f = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Hello h = ALLIANCE__V1__HELLO__INIT;
	char epoch[40];

	snprintf(epoch, sizeof(epoch), "bench-epoch-%u", s->idx);
	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.community = s->community;
	h.software_version = (char *)"bench-fanout";
	h.store_epoch = epoch;
	h.down_cursor = g.o.down_cursor;
	f.body_case = ALLIANCE__V1__FRAME__BODY_HELLO;
	f.hello = &h;
	return send_frame(s, &f);
}

static int send_ack(struct sim *s, uint64_t seq)
{
	Frame f = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Ack a = ALLIANCE__V1__ACK__INIT;

	a.seq = seq;
	f.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	f.ack = &a;
	return send_frame(s, &f);
}

static int send_bulletin_ack(struct sim *s, const char *id)
{
	Frame f = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__BulletinAck a = ALLIANCE__V1__BULLETIN_ACK__INIT;

	a.id = (char *)id;
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK;
	f.bulletin_ack = &a;
	return send_frame(s, &f);
}

/* verified: whether these signed bytes verify; the first copy of each
 * is checked with bulletin_open and the answer shared with identical
 * copies. On success copies the bulletin id into id. */
static int verified(const ProtobufCBinaryData *content,
		    const ProtobufCBinaryData *sig, char *id)
{
	BulletinContent *c = NULL;
	char why[300];

	if (g.vc_content && content->len == g.vc_len &&
	    sig->len == g.vc_sig_len &&
	    memcmp(content->data, g.vc_content, g.vc_len) == 0 &&
	    memcmp(sig->data, g.vc_sig, g.vc_sig_len) == 0) {
		memcpy(id, g.vc_id, sizeof(g.vc_id));
		return 1;
	}
	if (bulletin_open(g.keys, content->data, content->len, sig->data,
			  sig->len, &c, why, sizeof(why)) != ERR_OK) {
		say("a bulletin does not verify: %s", why);
		return 0;
	}
	free(g.vc_content);
	free(g.vc_sig);
	g.vc_content = malloc(content->len);
	g.vc_sig = malloc(sig->len);
	if (!g.vc_content || !g.vc_sig) {
		bulletin_content_free(&c);
		return 0;
	}
	memcpy(g.vc_content, content->data, content->len);
	memcpy(g.vc_sig, sig->data, sig->len);
	g.vc_len = content->len;
	g.vc_sig_len = sig->len;
	snprintf(g.vc_id, sizeof(g.vc_id), "%s", c->id);
	memcpy(id, g.vc_id, sizeof(g.vc_id));
	bulletin_content_free(&c);
	return 1;
}

static int on_bulletin(struct sim *s, const Alliance__V1__Bulletin *b)
{
	char id[LIMIT_RECORD_ID + 1];

	if (!verified(&b->signed_content, &b->signature, id))
		return 0;   /* a refusal would be acked; here it is an error */
	pthread_mutex_lock(&g.mu);
	if (g.cur >= 0 && s->last_bulletin != g.cur &&
	    strcmp(id, g.cur_id) == 0) {
		s->last_bulletin = g.cur;
		if (++g.cur_received == g.o.nodes) {
			g.cur_done = bench_now_s();
			pthread_cond_broadcast(&g.cv);
		}
		if (g.killed && s->idx % 2 == 0 &&
		    ++g.moved_received == g.moving)
			g.t_moved_received = bench_now_s();
	}
	pthread_mutex_unlock(&g.mu);
	return send_bulletin_ack(s, id);
}

/* on_frame: one alliance frame; 0, or -1 when the session failed. */
static int on_frame(struct sim *s, const Frame *f)
{
	switch (f->body_case) {
	case ALLIANCE__V1__FRAME__BODY_WELCOME:
		if (!s->welcomed) {
			s->welcomed = 1;
			s->round_fails = 0;
			pthread_mutex_lock(&g.mu);
			if (++g.welcomed == g.o.nodes && !g.t_all_welcomed) {
				g.t_all_welcomed = bench_now_s();
				pthread_cond_broadcast(&g.cv);
			}
			if (g.killed && s->idx % 2 == 0 &&
			    ++g.moved == g.moving) {
				g.t_moved = bench_now_s();
				pthread_cond_broadcast(&g.cv);
			}
			pthread_mutex_unlock(&g.mu);
		}
		return 0;
	case ALLIANCE__V1__FRAME__BODY_CHANGES:
		return f->changes->last_seq ? send_ack(s, f->changes->last_seq)
					    : 0;
	case ALLIANCE__V1__FRAME__BODY_BULLETIN:
		return on_bulletin(s, f->bulletin);
	case ALLIANCE__V1__FRAME__BODY_ERROR:
		say("%s: hub says error %d: %s", s->community, f->error->code,
		    f->error->message);
		return 0;
	default:
		return 0;
	}
}

/* on_message: a whole binary message. */
static int on_message(struct sim *s, const uint8_t *p, size_t n)
{
	Frame *f = NULL;
	char why[200];
	int rc;

	if (wire_decode(p, n, 0, &f, why, sizeof(why)) != ERR_OK) {
		say("%s: bad frame from the hub: %s", s->community, why);
		return -1;
	}
	rc = on_frame(s, f);
	wire_free(&f);
	return rc;
}

/* parse_ws: take the whole websocket frames out of s->in (the hub's are
 * unmasked); 0, or -1 with *why when the session is over. */
static int parse_ws(struct sim *s, const char **why)
{
	size_t at = 0;
	int rc = 0;

	while (rc == 0 && s->in_len - at >= 2) {
		const uint8_t *b = s->in + at;
		int fin = b[0] & 0x80, op = b[0] & 0x0f;
		uint64_t n = b[1] & 0x7f;
		size_t hl = 2;

		if (n == 126) {
			if (s->in_len - at < 4)
				break;
			n = (uint64_t)b[2] << 8 | b[3];
			hl = 4;
		} else if (n == 127) {
			if (s->in_len - at < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | b[2 + i];
			hl = 10;
		}
		if (b[1] & 0x80 || n > LIMIT_FRAME_BYTES) {
			*why = "a masked or oversized frame from the hub";
			return -1;
		}
		if (s->in_len - at < hl + n)
			break;
		b += hl;
		if (op == 0x2 || op == 0x0) {
			if (s->msg_len + n > LIMIT_FRAME_BYTES) {
				*why = "a message over the frame limit";
				return -1;
			}
			if (fin && !s->msg_len) {
				rc = on_message(s, b, n);
			} else {
				if (bench_append(&s->msg, &s->msg_len, &s->msg_cap,
					   b, n))
					return -1;
				if (fin) {
					rc = on_message(s, s->msg, s->msg_len);
					s->msg_len = 0;
				}
			}
		} else if (op == 0x9) {
			rc = send_ws(s, 0xA, b, n);     /* pong */
		} else if (op == 0x8) {
			*why = "closed by the hub";
			return -1;
		} else if (op != 0xA) {
			*why = "an unexpected opcode from the hub";
			return -1;
		}
		at += hl + n;
	}
	memmove(s->in, s->in + at, s->in_len - at);
	s->in_len -= at;
	if (rc)
		*why = "writing failed";
	return rc;
}

/* upgraded: whether s->in holds the whole 101 answer to the upgrade, with
 * the right accept key; what follows it stays in s->in. -1: refused. */
static int upgraded(struct sim *s)
{
	char *end, accept[64];
	size_t hlen;

	if (!(end = memmem(s->in, s->in_len, "\r\n\r\n", 4)))
		return 0;
	hlen = (size_t)(end - (char *)s->in) + 4;
	snprintf(accept, sizeof(accept), "Sec-WebSocket-Accept: %s",
		 s->accept);
	if (hlen < 12 || memcmp(s->in, "HTTP/1.1 101", 12) != 0 ||
	    !memmem(s->in, hlen, accept, strlen(accept)) ||
	    !memmem(s->in, hlen, WIRE_SUBPROTOCOL, strlen(WIRE_SUBPROTOCOL)))
		return -1;
	memmove(s->in, s->in + hlen, s->in_len - hlen);
	s->in_len -= hlen;
	return 1;
}

/* start_upgrade: the websocket upgrade request, with a fresh key and the
 * accept value the hub must answer with. */
static int start_upgrade(struct sim *s)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char raw[16], sha[SHA_DIGEST_LENGTH];
	char key[32], both[64 + sizeof(guid)], req[512];
	int n;

	RAND_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	snprintf(both, sizeof(both), "%s%s", key, guid);
	SHA1((unsigned char *)both, strlen(both), sha);
	EVP_EncodeBlock((unsigned char *)s->accept, sha, sizeof(sha));
	n = snprintf(req, sizeof(req),
		     "GET /v1/sync HTTP/1.1\r\nHost: localhost\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "Sec-WebSocket-Protocol: " WIRE_SUBPROTOCOL "\r\n"
		     "Origin: localhost\r\n\r\n", key);
	if (bench_append(&s->out, &s->out_len, &s->out_cap, req, (size_t)n))
		return -1;
	return flush(s);
}

/* advance: run s as far as its socket allows. */
static void advance(struct sim *s, uint32_t events)
{
	const char *why = "connection lost";
	int n, e;

	if (events & (EPOLLERR | EPOLLHUP) && s->state != S_OPEN)
		goto fail;
	if (s->state == S_TCP) {
		socklen_t len = sizeof(e);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) || e) {
			why = "connect failed";
			goto fail;
		}
		s->state = S_TLS;
	}
	if (s->state == S_TLS) {
		n = SSL_connect(s->ssl);
		if (n != 1) {
			e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE) {
				set_events(s, e == SSL_ERROR_WANT_WRITE);
				return;
			}
			why = "TLS handshake failed";
			goto fail;
		}
		s->state = S_UPGRADE;
		if (start_upgrade(s))
			goto fail;
	}
	if (events & EPOLLOUT && flush(s))
		goto fail;
	for (;;) {                     /* read until the socket is dry */
		uint8_t buf[16384];

		n = SSL_read(s->ssl, buf, sizeof(buf));
		if (n <= 0) {
			e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			goto fail;
		}
		if (bench_append(&s->in, &s->in_len, &s->in_cap, buf, (size_t)n))
			goto fail;
	}
	if (s->state == S_UPGRADE) {
		n = upgraded(s);
		if (n < 0) {
			why = "upgrade refused";
			goto fail;
		}
		if (n == 0)
			return;
		s->state = S_OPEN;
		s->connecting = 0;
		g.connecting--;
		if (send_hello(s))
			goto fail;
	}
	if (parse_ws(s, &why) == 0)
		return;
fail:
	lost(s, why);
}

/* connect_sim: open s's TCP connection; TLS with its own certificate
 * follows when it is up. */
static void connect_sim(struct sim *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
				  .data.ptr = s };
	char crt[512], key[512];
	int one = 1;

	s->tries++;
	s->retry_at = 0;
	snprintf(crt, sizeof(crt), "%s/nodes/%s.crt", g.o.pki, s->community);
	snprintf(key, sizeof(key), "%s/nodes/%s.key", g.o.pki, s->community);
	a.sin_port = htons((uint16_t)(s->on ? g.o.port2 : g.o.port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	s->ssl = SSL_new(g.tls);
	s->connecting = 1;
	g.connecting++;
	if (s->fd < 0 || !s->ssl ||
	    SSL_use_certificate_chain_file(s->ssl, crt) != 1 ||
	    SSL_use_PrivateKey_file(s->ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_set1_host(s->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(s->ssl, "localhost") != 1 ||
	    SSL_set_fd(s->ssl, s->fd) != 1) {
		lost(s, "cannot set up the connection");
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->state = S_TCP;
	s->want_out = 1;
	if ((connect(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(g.ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
		lost(s, "connect failed at once");
}

/* tls_setup: the client TLS context: the alliance CA, TLS 1.2 or newer,
 * small idle buffers (each session loads its own certificate). */
static int tls_setup(void)
{
	char ca[512];

	snprintf(ca, sizeof(ca), "%s/ca.crt", g.o.pki);
	g.tls = SSL_CTX_new(TLS_client_method());
	if (!g.tls || SSL_CTX_load_verify_locations(g.tls, ca, NULL) != 1)
		return -1;
	SSL_CTX_set_verify(g.tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(g.tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(g.tls, SSL_MODE_RELEASE_BUFFERS |
			 SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

/* serve: run every session until the issuer is done or a node gave up:
 * up to --connecting handshakes at a time, retries after half a second. */
static void serve(void)
{
	struct epoll_event evs[256];

	while (!g.done && !g.failed) {
		double now = bench_now_s();
		int n;

		while (g.next < g.o.nodes && g.connecting < g.o.connecting)
			connect_sim(&g.sims[g.next++]);
		for (unsigned i = 0; g.retries && i < g.o.nodes; i++)
			if (g.sims[i].retry_at > 0 && g.sims[i].retry_at <= now) {
				g.retries--;
				connect_sim(&g.sims[i]);
			}
		n = epoll_wait(g.ep, evs, 256,
			       g.next < g.o.nodes || g.retries ? 2 : 50);
		for (int i = 0; i < n; i++)
			advance(evs[i].data.ptr, evs[i].events);
	}
}

/* ---- the issuer thread --------------------------------------------------- */

struct issuer {
	CURL *curl;
	struct curl_slist *headers;
	char base[128];
	EVP_PKEY *key;
	char key_id[BULLETIN_KEY_ID_LEN + 1];
	sqlite3 *db;                /* the hub's store, read only, or NULL */
	double *lat, *acked, *post; /* per bulletin, ms */
	unsigned n;
	long rss_before, rss_after; /* KiB */
	double idle_pct;
	double cpu_ms;              /* the hub's CPU time per bulletin */
	/* --kill: seconds from the kill (see the top) */
	double moved_s, held_s, all_s, acked_s, survivor_cpu_s, own_cpu_s;
	int ok;
};

struct rbuf {
	char *p;
	size_t len;
};

static size_t on_body(char *d, size_t sz, size_t n, void *arg)
{
	struct rbuf *b = arg;
	char *p = realloc(b->p, b->len + sz * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, d, sz * n);
	b->len += sz * n;
	p[b->len] = '\0';
	b->p = p;
	return sz * n;
}

/* request: one operator API exchange; returns the HTTP status (0 on a
 * transport error) and the body in *body (caller frees). */
static long request(struct issuer *is, const char *method, const char *path,
		    const char *data, char **body)
{
	struct rbuf b = { NULL, 0 };
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", is->base, path);
	curl_easy_setopt(is->curl, CURLOPT_URL, url);
	curl_easy_setopt(is->curl, CURLOPT_WRITEDATA, &b);
	if (data) {
		curl_easy_setopt(is->curl, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(is->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(data));
	} else {
		curl_easy_setopt(is->curl, CURLOPT_HTTPGET, 1L);
	}
	(void)method;
	if (curl_easy_perform(is->curl) == CURLE_OK)
		curl_easy_getinfo(is->curl, CURLINFO_RESPONSE_CODE, &status);
	*body = b.p;
	return status;
}

static int issuer_open(struct issuer *is)
{
	char path[512], err[600];

	int port = g.o.kill_pid ? g.o.port2 : g.o.port;

	snprintf(is->base, sizeof(is->base), "https://localhost:%d", port);
	is->curl = curl_easy_init();
	if (!is->curl)
		return -1;
	snprintf(path, sizeof(path), "%s/signing.key", g.o.pki);
	if (bulletin_signing_key_load(path, &is->key, is->key_id, err,
				      sizeof(err)) != ERR_OK) {
		say("cannot read the %s", err);
		return -1;
	}
	is->headers = curl_slist_append(NULL,
					"Content-Type: application/json");
	{
		char v[64], crt[512], key[512], ca[512];

		snprintf(v, sizeof(v), "localhost:%d:127.0.0.1", port);
		struct curl_slist *res = curl_slist_append(NULL, v);
		snprintf(crt, sizeof(crt), "%s/operators/%s.crt", g.o.pki,
			 g.o.operator_name);
		snprintf(key, sizeof(key), "%s/operators/%s.key", g.o.pki,
			 g.o.operator_name);
		snprintf(ca, sizeof(ca), "%s/ca.crt", g.o.pki);
		curl_easy_setopt(is->curl, CURLOPT_RESOLVE, res);
		curl_easy_setopt(is->curl, CURLOPT_CAINFO, ca);
		curl_easy_setopt(is->curl, CURLOPT_SSLCERT, crt);
		curl_easy_setopt(is->curl, CURLOPT_SSLKEY, key);
		/* res must outlive the handle; it is tiny and lives to exit */
	}
	curl_easy_setopt(is->curl, CURLOPT_HTTPHEADER, is->headers);
	curl_easy_setopt(is->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(is->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(is->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(is->curl, CURLOPT_WRITEFUNCTION, on_body);
	if (g.o.hub_db &&
	    sqlite3_open_v2(g.o.hub_db, &is->db, SQLITE_OPEN_READONLY, NULL)
	    != SQLITE_OK) {
		say("cannot open the hub's store %s read-only", g.o.hub_db);
		return -1;
	}
	if (is->db)
		sqlite3_busy_timeout(is->db, 5000);
	return 0;
}

/* make_body: bulletin number k, about g.o.size bytes of signed content,
 * as the JSON body of the POST (caller frees). */
static char *make_body(struct issuer *is, unsigned k, char *id, size_t idlen)
{
	BulletinContent c = ALLIANCE__V1__BULLETIN_CONTENT__INIT;
	uint8_t *buf, sig[BULLETIN_SIG_LEN];
	char *desc, *b64c, *b64s, *out = NULL;
	size_t len, want = g.o.size > 300 ? g.o.size - 300 : 16;
	json_t *j;

	if (want > LIMIT_BULLETIN_TEXT)
		want = LIMIT_BULLETIN_TEXT;
	snprintf(id, idlen, "fanout-%d-%u", (int)getpid(), k);
	desc = malloc(want + 1);
	if (!desc)
		return NULL;
	for (size_t i = 0; i < want; i++)
		desc[i] = "Water main burst; boil tap water. "[i % 34];
	desc[want] = '\0';
	c.id = id;
	c.key_id = is->key_id;
	c.sender = (char *)"bench-operator";
	c.type = (char *)"alert";
	c.severity = (char *)"severe";
	c.urgency = (char *)"immediate";
	c.certainty = (char *)"observed";
	c.category = (char *)"public-safety";
	c.headline = (char *)"Benchmark bulletin: boil tap water";
	c.description = desc;
	c.cause = (char *)"A water main burst on the east side.";
	c.response = (char *)"Crews are repairing it.";
	c.instructions = (char *)"Boil tap water before drinking.";
	c.sent = time(NULL);
	c.expires = c.sent + 3600;
	len = alliance__v1__bulletin_content__get_packed_size(&c);
	buf = malloc(len);
	if (!buf) {
		free(desc);
		return NULL;
	}
	alliance__v1__bulletin_content__pack(&c, buf);
	if (bulletin_sign(is->key, buf, len, sig) == ERR_OK) {
		b64c = bulletin_b64_encode(buf, len);
		b64s = bulletin_b64_encode(sig, sizeof(sig));
		j = json_pack("{s:s, s:s}", "signed_content", b64c,
			      "signature", b64s);
		out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		free(b64c);
		free(b64s);
	}
	free(buf);
	free(desc);
	return out;
}

/* delivered_all: whether GET /api/v1/bulletins/ID says every target has
 * it (the hub's record via its API). */
static int delivered_all(struct issuer *is, const char *id)
{
	char path[128], *body = NULL;
	json_t *j;
	int ok = 0;

	snprintf(path, sizeof(path), "/api/v1/bulletins/%s", id);
	if (request(is, "GET", path, NULL, &body) == 200 &&
	    (j = json_loads(body, 0, NULL))) {
		json_int_t t = json_integer_value(json_object_get(j, "targets"));
		json_int_t d = json_integer_value(json_object_get(j,
								  "delivered"));
		ok = t == (json_int_t)(g.o.nodes + g.o.extra_targets) &&
		     d >= (json_int_t)g.o.nodes;
		json_decref(j);
	}
	free(body);
	return ok;
}

/* store_done: from the hub's store, whether all N deliveries of id are
 * recorded, and the newest delivered_ms. */
static int store_done(struct issuer *is, const char *id, int64_t *last_ms)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(is->db, "SELECT count(delivered_ms), "
			       "max(delivered_ms) FROM bulletin_delivery "
			       "WHERE bulletin = ? AND substr(community, 1, "
			       "length(?2)) = ?2", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, g.prefix_dash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_int64(st, 0) == (sqlite3_int64)g.o.nodes) {
		*last_ms = sqlite3_column_int64(st, 1);
		ok = 1;
	}
	sqlite3_finalize(st);
	return ok;
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

static int all_welcomed(void) { return g.t_all_welcomed > 0; }
static int all_received(void) { return g.cur_received == g.o.nodes; }
static int all_moved(void)
{
	return g.cur_received == g.o.nodes && g.moved == g.moving;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int issue_one(struct issuer *is, unsigned k)
{
	char id[LIMIT_RECORD_ID + 1], *body = NULL, *reply = NULL;
	double t0, deadline;
	int64_t t0_ms, last_ms = 0;
	long status;

	body = make_body(is, k, id, sizeof(id));
	if (!body)
		return -1;
	pthread_mutex_lock(&g.mu);
	snprintf(g.cur_id, sizeof(g.cur_id), "%s", id);
	g.cur_received = 0;
	g.cur = (int)k;
	pthread_mutex_unlock(&g.mu);
	t0_ms = wall_ms();
	t0 = bench_now_s();
	status = request(is, "POST", "/api/v1/bulletins", body, &reply);
	free(body);
	if (status != 201) {
		say("POST bulletin %s: status %ld: %.300s", id, status,
		    reply ? reply : "");
		free(reply);
		return -1;
	}
	free(reply);
	is->post[is->n] = (bench_now_s() - t0) * 1000.0;
	deadline = t0 + BULLETIN_TIMEOUT_S;
	if (!wait_until(all_received, deadline)) {
		say("bulletin %s: only %u of %u nodes received it", id,
		    g.cur_received, g.o.nodes);
		return -1;
	}
	is->lat[is->n] = (g.cur_done - t0) * 1000.0;
	/* the hub's record: every delivery recorded */
	for (;;) {
		if (is->db ? store_done(is, id, &last_ms)
			   : delivered_all(is, id)) {
			/* when the last record was seen committed (newer
			 * than its delivered_ms, which is the ack's arrival) */
			last_ms = wall_ms();
			break;
		}
		if (bench_now_s() > deadline) {
			say("bulletin %s: the hub did not record every "
			    "delivery", id);
			return -1;
		}
		sleep_ms(is->db ? 1 : 5);
	}
	if (is->db && !delivered_all(is, id)) {
		say("bulletin %s: the store has every delivery, the API "
		    "does not say so", id);
		return -1;
	}
	is->acked[is->n] = (double)(last_ms - t0_ms);
	is->n++;
	return 0;
}

/* failover: --kill: SIGKILL the replica at --port, POST one bulletin at
 * once at --port2, and time from the kill what follows (see the top). */
static int failover(struct issuer *is)
{
	char id[LIMIT_RECORD_ID + 1], *body, *reply = NULL;
	double t0, deadline, hz = (double)sysconf(_SC_CLK_TCK);
	int64_t last_ms = 0;
	long status;
	long long c0 = g.o.pid2 ? cpu_ticks(g.o.pid2) : -1,
		  o0 = cpu_ticks(getpid());

	body = make_body(is, g.o.bulletins, id, sizeof(id));
	if (!body)
		return -1;
	pthread_mutex_lock(&g.mu);
	snprintf(g.cur_id, sizeof(g.cur_id), "%s", id);
	g.cur_received = 0;
	g.cur = (int)g.o.bulletins;
	g.moving = (g.o.nodes + 1) / 2;     /* nodes 0, 2, 4 ... */
	g.moved = g.moved_received = 0;
	g.killed = 1;
	pthread_mutex_unlock(&g.mu);
	t0 = bench_now_s();
	if (kill(g.o.kill_pid, SIGKILL) != 0) {
		say("kill %d: %s", g.o.kill_pid, strerror(errno));
		free(body);
		return -1;
	}
	status = request(is, "POST", "/api/v1/bulletins", body, &reply);
	free(body);
	if (status != 201) {
		say("POST bulletin %s at the other replica: status %ld: %.300s",
		    id, status, reply ? reply : "");
		free(reply);
		return -1;
	}
	free(reply);
	say("killed the replica; the bulletin was stored %.3f s after",
	    bench_now_s() - t0);
	deadline = t0 + BULLETIN_TIMEOUT_S;
	if (!wait_until(all_moved, deadline)) {
		say("bulletin %s: %u of %u nodes hold it, %u of the %u moving "
		    "welcomed", id, g.cur_received, g.o.nodes, g.moved,
		    g.moving);
		return -1;
	}
	if (c0 >= 0)
		is->survivor_cpu_s = (double)(cpu_ticks(g.o.pid2) - c0) / hz;
	is->own_cpu_s = (double)(cpu_ticks(getpid()) - o0) / hz;
	is->moved_s = g.t_moved - t0;
	is->held_s = g.t_moved_received - t0;
	is->all_s = g.cur_done - t0;
	while (!(is->db ? store_done(is, id, &last_ms)
			: delivered_all(is, id))) {
		if (bench_now_s() > deadline) {
			say("bulletin %s: the surviving replica did not record "
			    "every delivery", id);
			return -1;
		}
		sleep_ms(is->db ? 1 : 5);
	}
	is->acked_s = bench_now_s() - t0;
	if (is->db && !delivered_all(is, id)) {
		say("bulletin %s: the store has every delivery, the API "
		    "does not say so", id);
		return -1;
	}
	return 0;
}

static void *issuer_main(void *arg)
{
	struct issuer *is = arg;
	char *body = NULL;
	long long c0, c1;
	double t0;

	if (!wait_until(all_welcomed, bench_now_s() + CONNECT_TIMEOUT_S)) {
		say("only %u of %u nodes were welcomed", g.welcomed,
		    g.o.nodes);
		goto out;
	}
	say("%u sessions welcomed in %.2f s", g.o.nodes,
	    g.t_all_welcomed - g.t_first_connect);
	sleep(SETTLE_S);
	is->rss_after = bench_rss_kb(g.o.hub_pid);
	if (g.o.hold) {
		long hz = sysconf(_SC_CLK_TCK);

		c0 = cpu_ticks(g.o.hub_pid);
		t0 = bench_now_s();
		sleep(g.o.hold);
		c1 = cpu_ticks(g.o.hub_pid);
		is->idle_pct = (double)(c1 - c0) / (double)hz /
			       (bench_now_s() - t0) * 100.0;
		say("hub idle CPU over %u s: %.2f %% of a core", g.o.hold,
		    is->idle_pct);
	}
	while (g.o.go && access(g.o.go, F_OK) != 0)
		sleep_ms(10);
	if (g.o.bulletins || g.o.kill_pid) {
		/* warm the issuer's connection, as a running console would */
		request(is, "GET", "/api/v1/bulletins", NULL, &body);
		free(body);
	}
	c0 = cpu_ticks(g.o.hub_pid);
	for (unsigned k = 0; k < g.o.bulletins; k++) {
		if (issue_one(is, k))
			goto out;
		if ((k + 1) % 10 == 0 || k + 1 == g.o.bulletins)
			say("%u/%u bulletins: last %.1f ms, acked %.0f ms",
			    k + 1, g.o.bulletins, is->lat[is->n - 1],
			    is->acked[is->n - 1]);
	}
	c1 = cpu_ticks(g.o.hub_pid);
	if (g.o.kill_pid && failover(is))
		goto out;
	if (g.o.bulletins && c0 >= 0 && c1 >= 0)
		is->cpu_ms = (double)(c1 - c0) * 1000.0 /
			     (double)sysconf(_SC_CLK_TCK) / g.o.bulletins;
	is->ok = !g.failed;
out:
	g.done = 1;                 /* serve looks at least every 50 ms */
	return NULL;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: fanout --nodes N [--bulletins M] [--size BYTES] "
		"[--hold S]\n"
		"              --pki DIR --port P --hub-pid PID [--hub-db FILE]\n"
		"              [--prefix ID] [--operator SLUG] [--connecting K]\n"
		"              [--down-cursor SEQ] [--go FILE] "
		"[--extra-targets K]\n"
		"              [--port2 P [--kill PID] [--pid2 PID]]\n"
		"Run by bench/fanout, which makes the PKI, starts the hub and "
		"registers PREFIX-00001.. (see there).\n");
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
			g.o.nodes = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--bulletins"))
			g.o.bulletins = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--size"))
			g.o.size = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--hold"))
			g.o.hold = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--connecting"))
			g.o.connecting = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--port"))
			g.o.port = (int)bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--hub-pid"))
			g.o.hub_pid = (int)bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--pki"))
			g.o.pki = v;
		else if (!strcmp(a, "--hub-db"))
			g.o.hub_db = v;
		else if (!strcmp(a, "--prefix"))
			g.o.prefix = v;
		else if (!strcmp(a, "--operator"))
			g.o.operator_name = v;
		else if (!strcmp(a, "--down-cursor"))
			g.o.down_cursor = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--go"))
			g.o.go = v;
		else if (!strcmp(a, "--extra-targets"))
			g.o.extra_targets = bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--port2"))
			g.o.port2 = (int)bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--kill"))
			g.o.kill_pid = (int)bench_uarg("fanout", a, v);
		else if (!strcmp(a, "--pid2"))
			g.o.pid2 = (int)bench_uarg("fanout", a, v);
		else
			usage();
		i++;
	}
	if (!g.o.nodes || !g.o.port || !g.o.pki || !g.o.hub_pid ||
	    !g.o.connecting || (g.o.kill_pid && !g.o.port2))
		usage();
	if (strlen(g.o.prefix) > LIMIT_COMMUNITY_ID - 6)
		usage();
	snprintf(g.prefix_dash, sizeof(g.prefix_dash), "%s-", g.o.prefix);
}

int main(int argc, char **argv)
{
	struct issuer is;
	struct rlimit rl;
	pthread_t th;
	char path[512], err[300];
	long rss_before;

	parse(argc, argv);
	/* one fd per session and some */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = g.o.nodes + 256;

		if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
			fprintf(stderr, "fanout: %u nodes need %llu fds; the "
				"hard limit is %llu\n", g.o.nodes,
				(unsigned long long)want,
				(unsigned long long)rl.rlim_max);
			return 1;
		}
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(path, sizeof(path), "%s/signing.pub", g.o.pki);
	if (bulletin_keys_load(path, NULL, &g.keys, err, sizeof(err))
	    != ERR_OK) {
		fprintf(stderr, "fanout: %s\n", err);
		return 1;
	}
	g.sims = calloc(g.o.nodes, sizeof(*g.sims));
	memset(&is, 0, sizeof(is));
	is.lat = calloc(g.o.bulletins + 1, sizeof(double));
	is.acked = calloc(g.o.bulletins + 1, sizeof(double));
	is.post = calloc(g.o.bulletins + 1, sizeof(double));
	if (!g.sims || !is.lat || !is.acked || !is.post)
		return 1;
	for (unsigned i = 0; i < g.o.nodes; i++) {
		g.sims[i].idx = i;
		g.sims[i].last_bulletin = -1;
		g.sims[i].on = g.o.port2 ? (int)(i % 2) : 0;
		snprintf(g.sims[i].community, sizeof(g.sims[i].community),
			 "%s-%05u", g.o.prefix, i + 1);
	}
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	g.cur = -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (issuer_open(&is))
		return 1;

	g.ep = epoll_create1(0);
	if (g.ep < 0 || tls_setup()) {
		say("cannot set up epoll or TLS");
		return 1;
	}
	g.rng = (uint64_t)wall_ms() | 1;
	for (unsigned i = 0; i < g.o.nodes; i++)
		g.sims[i].fd = -1;
	rss_before = bench_rss_kb(g.o.hub_pid);
	is.rss_before = rss_before;
	g.t_first_connect = bench_now_s();
	if (pthread_create(&th, NULL, issuer_main, &is))
		return 1;
	serve();
	g.done = 1;
	pthread_join(th, NULL);
	for (unsigned i = 0; i < g.o.nodes; i++) {
		SSL_free(g.sims[i].ssl);
		if (g.sims[i].fd >= 0)
			close(g.sims[i].fd);
	}
	SSL_CTX_free(g.tls);
	if (!is.ok || g.failed || is.n != g.o.bulletins) {
		say("the run failed");
		return 1;
	}
	if (g.o.kill_pid) {
		printf("fanout-failover nodes=%u moved_nodes=%u moved_s=%.3f "
		       "held_s=%.3f all_s=%.3f acked_s=%.3f survivor_cpu_s=%.2f "
		       "generator_cpu_s=%.2f connect_s=%.2f\n",
		       g.o.nodes, g.moving, is.moved_s, is.held_s, is.all_s,
		       is.acked_s, is.survivor_cpu_s, is.own_cpu_s,
		       g.t_all_welcomed - g.t_first_connect);
		return 0;
	}
	{
		double *lat = is.lat, *ack = is.acked;
		size_t n = is.n;
		double rss_mb = (double)bench_rss_kb(g.o.hub_pid) / 1024.0;
		double per_node = (double)(is.rss_after - rss_before) /
				  (double)g.o.nodes;
		double first[SPAN], last[SPAN];

		/* the first and the last SPAN bulletins apart: does the hub
		 * slow down over a long run? (before lat is sorted) */
		if (n >= 2 * SPAN) {
			memcpy(first, lat, sizeof(first));
			memcpy(last, lat + n - SPAN, sizeof(last));
			bench_sort(first, SPAN);
			bench_sort(last, SPAN);
		}
		bench_sort(lat, n);
		bench_sort(ack, n);
		bench_sort(is.post, n);
		printf("fanout nodes=%u bulletins=%u p50_ms=%.1f p99_ms=%.1f "
		       "max_ms=%.1f acked_p99_ms=%.1f hub_rss_mb=%.1f "
		       "per_node_kb=%.1f connect_s=%.2f hub_cpu_ms=%.2f "
		       "post_p50_ms=%.1f post_p99_ms=%.1f",
		       g.o.nodes, g.o.bulletins, bench_pct(lat, n, 50),
		       bench_pct(lat, n, 99), n ? lat[n - 1] : 0, bench_pct(ack, n, 99),
		       rss_mb, per_node, g.t_all_welcomed - g.t_first_connect,
		       is.cpu_ms, bench_pct(is.post, n, 50),
		       bench_pct(is.post, n, 99));
		if (n >= 2 * SPAN)
			printf(" first%d_p99_ms=%.1f last%d_p99_ms=%.1f", SPAN,
			       bench_pct(first, SPAN, 99), SPAN,
			       bench_pct(last, SPAN, 99));
		if (g.o.hold)
			printf(" idle_cpu_pct=%.2f hold_s=%u", is.idle_pct,
			       g.o.hold);
		printf("\n");
	}
	return 0;
}
