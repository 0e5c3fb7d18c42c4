/* floor.c: the floor under the fan-out of bench/fanout (issue 17): what a
 * minimal program takes to write the same bytes to N idle mutual-TLS
 * sockets, timed from the first write until the last reader has them.
 *
 * Two processes over loopback, as the hub and bench/fanout.c are: a
 * server (forked; blocking sockets, no event loop) accepts N mutual-TLS
 * 1.3 sessions (the hub's certificate; each client its own node
 * certificate from the same CA, verified), then per bulletin writes one
 * websocket binary frame of --size bytes (default 1047, the alliance
 * frame of a bulletin of 1 KiB of signed content, as bench/fanout sends
 * it) to each session, one SSL_write a session, in order. The client (this
 * process) holds the N sessions in one epoll loop, as bench/fanout.c does,
 * and counts each session's bytes. Per bulletin: from just before the
 * server's first write (its CLOCK_MONOTONIC, in memory both share) until
 * the last session has read the whole frame. The server's RSS before the
 * first accept and after all are up gives per_node_kb. No store, no
 * signature, no encoding, no acks: only TLS records and socket writes.
 *
 * Prints progress to stderr and one summary line last on stdout:
 *   floor nodes=N bulletins=M p50_ms= p99_ms= max_ms= server_rss_mb=
 *   per_node_kb= connect_s=
 *
 * Parts: options and state; the server; the client; main. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchc.h"

#define PROG "floor"
#define SETTLE_S 1
#define TIMEOUT_S 60
#define WS_HEADER 4             /* 0x82, 126, a 16-bit length */

/* ---- options and state -------------------------------------------------- */

struct opts {
	unsigned nodes;             /* --nodes N */
	unsigned bulletins;         /* --bulletins M */
	unsigned size;              /* --size BYTES of frame payload */
	unsigned connecting;        /* --connecting K handshakes at once */
	const char *pki;            /* --pki DIR: ca.crt, hub.crt, nodes/ */
	const char *prefix;         /* --prefix: certificates PREFIX-00001 */
};

/* One client session. */
struct sim {
	struct bench_conn c;
	int up;                     /* the handshake finished */
	size_t got;                 /* bytes read since it came up */
	int last;                   /* index of the last frame read whole */
};

/* What server and client share (an anonymous shared mapping). */
struct shared {
	double t0;                  /* before the first write of a frame */
};

static struct {
	struct opts o;
	struct sim *sims;
	struct shared *sh;
	int ep;
	unsigned next, connecting, up;
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

/* ---- the server ---------------------------------------------------------- */

static SSL_CTX *server_tls(void)
{
	char ca[512], crt[512], key[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	snprintf(ca, sizeof(ca), "%s/ca.crt", g.o.pki);
	snprintf(crt, sizeof(crt), "%s/hub.crt", g.o.pki);
	snprintf(key, sizeof(key), "%s/hub.key", g.o.pki);
	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(ctx, 0);  /* nothing but the frames after */
	return ctx;
}

/* server: accept N sessions, tell the client (ready), then per byte of
 * cmd write one frame to every session; exits when cmd closes. */
static int server(int lfd, int cmd, int ready)
{
	SSL_CTX *ctx = server_tls();
	SSL **ssl = calloc(g.o.nodes, sizeof(*ssl));
	size_t flen = WS_HEADER + g.o.size;
	uint8_t *frame = malloc(flen), c = 1;
	int one = 1;

	if (!ctx || !ssl || !frame || write(ready, &c, 1) != 1)
		return 1;
	frame[0] = 0x82;
	frame[1] = 126;
	frame[2] = (uint8_t)(g.o.size >> 8);
	frame[3] = (uint8_t)g.o.size;
	for (size_t i = 0; i < g.o.size; i++)
		frame[WS_HEADER + i] = (uint8_t)"Water main burst. "[i % 18];
	for (unsigned i = 0; i < g.o.nodes; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0 || !(ssl[i] = SSL_new(ctx)) ||
		    SSL_set_fd(ssl[i], fd) != 1 || SSL_accept(ssl[i]) != 1) {
			say("server: session %u failed", i);
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (write(ready, &c, 1) != 1)
		return 1;
	while (read(cmd, &c, 1) == 1) {
		double t0 = bench_now_s();

		__atomic_store(&g.sh->t0, &t0, __ATOMIC_SEQ_CST);
		for (unsigned i = 0; i < g.o.nodes; i++)
			if (SSL_write(ssl[i], frame, (int)flen) != (int)flen) {
				say("server: a write failed");
				return 1;
			}
	}
	return 0;
}

/* ---- the client ---------------------------------------------------------- */

/* advance: the handshake, then count what arrives; how many sessions have
 * now read frame k whole (0 or 1); -1 when a session failed. */
static int advance(struct sim *s, int k)
{
	size_t flen = WS_HEADER + g.o.size;
	int n;

	if (!s->up) {
		n = bench_conn_handshake(&s->c);
		if (n <= 0)
			return n;
		s->up = 1;
		g.connecting--;
		g.up++;
	}
	if (bench_conn_read(&s->c))
		return -1;
	s->got += s->c.in_len;
	s->c.in_len = 0;
	if (k >= 0 && s->last < k && s->got >= (size_t)(k + 1) * flen) {
		s->last = k;
		return 1;
	}
	return 0;
}

/* connect_all: open the N sessions, at most --connecting at a time; 0
 * when all are up, -1 on failure or timeout. */
static int connect_all(SSL_CTX *ctx, int port)
{
	struct epoll_event evs[256];
	double deadline = bench_now_s() + 600;
	char crt[512], key[512];

	while (g.up < g.o.nodes) {
		int n;

		while (g.next < g.o.nodes && g.connecting < g.o.connecting) {
			struct sim *s = &g.sims[g.next];

			snprintf(crt, sizeof(crt), "%s/nodes/%s-%05u.crt",
				 g.o.pki, g.o.prefix, g.next + 1);
			snprintf(key, sizeof(key), "%s/nodes/%s-%05u.key",
				 g.o.pki, g.o.prefix, g.next + 1);
			if (bench_conn_open(&s->c, g.ep, ctx, port, crt, key, s))
				return -1;
			g.next++;
			g.connecting++;
		}
		n = epoll_wait(g.ep, evs, 256, 2);
		for (int i = 0; i < n; i++)
			if (advance(evs[i].data.ptr, -1) < 0)
				return -1;
		if (bench_now_s() > deadline)
			return -1;
	}
	return 0;
}

/* one_frame: ask the server for frame k and wait until every session has
 * read it whole; the latency in ms, or -1. */
static double one_frame(int cmd, int k)
{
	struct epoll_event evs[256];
	double deadline = bench_now_s() + TIMEOUT_S;
	unsigned have = 0;
	uint8_t c = 1;
	double t0;

	if (write(cmd, &c, 1) != 1)
		return -1;
	while (have < g.o.nodes) {
		int n = epoll_wait(g.ep, evs, 256, 50);

		for (int i = 0; i < n; i++) {
			int r = advance(evs[i].data.ptr, k);

			if (r < 0)
				return -1;
			have += (unsigned)r;
		}
		if (bench_now_s() > deadline)
			return -1;
	}
	__atomic_load(&g.sh->t0, &t0, __ATOMIC_SEQ_CST);
	return (bench_now_s() - t0) * 1000.0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: floor --nodes N [--bulletins M] [--size BYTES] --pki DIR"
		"\n             [--prefix ID] [--connecting K]\n"
		"Run by bench/floor, which makes the PKI (see there).\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	g.o.bulletins = 100;
	g.o.size = 1047;
	g.o.connecting = 32;
	g.o.prefix = "bench";
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
		else if (!strcmp(a, "--pki"))
			g.o.pki = v;
		else if (!strcmp(a, "--prefix"))
			g.o.prefix = v;
		else
			usage();
		i++;
	}
	if (!g.o.nodes || !g.o.pki || !g.o.connecting ||
	    g.o.size < 126 || g.o.size > 65535)
		usage();
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int lfd, cmd[2], ready[2], status, rc = 1;
	double t_first, connect_s, *lat;
	long rss_before, rss_after;
	SSL_CTX *ctx;
	uint8_t c;
	pid_t pid;

	parse(argc, argv);
	if (bench_raise_fds(2 * g.o.nodes + 256)) {
		say("%u sessions need %u fds; the hard limit is lower",
		    g.o.nodes, 2 * g.o.nodes + 256);
		return 1;
	}
	g.sh = mmap(NULL, sizeof(*g.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g.sims = calloc(g.o.nodes, sizeof(*g.sims));
	lat = calloc(g.o.bulletins + 1, sizeof(double));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (g.sh == MAP_FAILED || !g.sims || !lat || lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) ||
	    pipe(cmd) || pipe(ready)) {
		say("cannot set up: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(cmd[1]);
		close(ready[0]);
		_exit(server(lfd, cmd[0], ready[1]));
	}
	close(lfd);
	close(cmd[0]);
	close(ready[1]);
	for (unsigned i = 0; i < g.o.nodes; i++) {
		g.sims[i].c.fd = -1;
		g.sims[i].last = -1;
	}
	g.ep = epoll_create1(0);
	ctx = bench_tls_client(g.o.pki);
	if (g.ep < 0 || !ctx || read(ready[0], &c, 1) != 1) {
		say("the server did not start");
		goto out;
	}
	rss_before = bench_rss_kb(pid);
	t_first = bench_now_s();
	if (connect_all(ctx, ntohs(a.sin_port)) || read(ready[0], &c, 1) != 1) {
		say("only %u of %u sessions came up", g.up, g.o.nodes);
		goto out;
	}
	connect_s = bench_now_s() - t_first;
	say("%u sessions up in %.2f s", g.o.nodes, connect_s);
	sleep(SETTLE_S);
	rss_after = bench_rss_kb(pid);
	for (unsigned k = 0; k < g.o.bulletins; k++) {
		if ((lat[k] = one_frame(cmd[1], (int)k)) < 0) {
			say("frame %u did not reach every session", k);
			goto out;
		}
		if ((k + 1) % 10 == 0 || k + 1 == g.o.bulletins)
			say("%u/%u frames: last %.2f ms", k + 1,
			    g.o.bulletins, lat[k]);
	}
	bench_sort(lat, g.o.bulletins);
	printf(PROG " nodes=%u bulletins=%u p50_ms=%.1f p99_ms=%.1f "
	       "max_ms=%.1f server_rss_mb=%.1f per_node_kb=%.1f "
	       "connect_s=%.2f\n", g.o.nodes, g.o.bulletins,
	       bench_pct(lat, g.o.bulletins, 50),
	       bench_pct(lat, g.o.bulletins, 99),
	       g.o.bulletins ? lat[g.o.bulletins - 1] : 0,
	       (double)bench_rss_kb(pid) / 1024.0,
	       (double)(rss_after - rss_before) / (double)g.o.nodes,
	       connect_s);
	rc = 0;
out:
	close(cmd[1]);              /* the server exits */
	if (rc)
		kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	for (unsigned i = 0; i < g.o.nodes; i++)
		bench_conn_close(&g.sims[i].c);
	SSL_CTX_free(ctx);
	free(g.sims);
	free(lat);
	return rc;
}
