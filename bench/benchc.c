/* benchc.c: the shared part of the C load generators of bench/ (see
 * benchc.h). Parts: the clock and /proc; numbers; buffers and limits;
 * client sessions. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchc.h"

/* ---- the clock and /proc ------------------------------------------------- */

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long bench_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- numbers ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
}

double bench_pct(const double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

unsigned bench_uarg(const char *prog, const char *name, const char *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x > 10000000ul) {
		fprintf(stderr, "%s: %s: not a number: %s\n", prog, name, v);
		exit(2);
	}
	return (unsigned)x;
}

/* ---- buffers and limits -------------------------------------------------- */

int bench_append(uint8_t **buf, size_t *len, size_t *cap, const void *p,
		 size_t n)
{
	size_t c = *cap ? *cap : 4096;
	uint8_t *q;

	if (*len + n > *cap) {
		while (c < *len + n)
			c *= 2;
		if (!(q = realloc(*buf, c)))
			return -1;
		*buf = q;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

int bench_raise_fds(unsigned n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= n)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && n > rl.rlim_max)
		return -1;
	rl.rlim_cur = n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- client sessions ----------------------------------------------------- */

SSL_CTX *bench_tls_client(const char *pki)
{
	char ca[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* set_events: input always, output while bytes wait or TLS wants it. */
static void set_events(struct bench_conn *c, int want_out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c->tag };

	if (want_out)
		ev.events |= EPOLLOUT;
	if (want_out != c->want_out)
		epoll_ctl(c->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = want_out;
}

int bench_conn_open(struct bench_conn *c, int ep, SSL_CTX *ctx, int port,
		    const char *crt, const char *key, void *tag)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
				  .data.ptr = tag };
	int one = 1;

	c->ep = ep;
	c->tag = tag;
	c->tcp_up = c->tls_up = 0;
	c->want_out = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->ssl = SSL_new(ctx);
	if (c->fd < 0 || !c->ssl ||
	    SSL_use_certificate_chain_file(c->ssl, crt) != 1 ||
	    SSL_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_set1_host(c->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		goto err;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		goto err;
	return 0;
err:
	bench_conn_close(c);
	return -1;
}

int bench_conn_handshake(struct bench_conn *c)
{
	int n, e;

	if (c->tls_up)
		return 1;
	if (!c->tcp_up) {
		socklen_t len = sizeof(e);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) || e)
			return -1;
		c->tcp_up = 1;
	}
	n = SSL_connect(c->ssl);
	if (n != 1) {
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			set_events(c, e == SSL_ERROR_WANT_WRITE);
			return 0;
		}
		return -1;
	}
	c->tls_up = 1;
	set_events(c, c->out_len > 0);
	return 1;
}

int bench_conn_flush(struct bench_conn *c)
{
	while (c->out_len) {
		int n = SSL_write(c->ssl, c->out, (int)c->out_len);

		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			if (e == SSL_ERROR_WANT_WRITE ||
			    e == SSL_ERROR_WANT_READ)
				break;
			return -1;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	set_events(c, c->out_len > 0);
	return 0;
}

int bench_conn_send(struct bench_conn *c, const void *p, size_t n)
{
	if (bench_append(&c->out, &c->out_len, &c->out_cap, p, n))
		return -1;
	return bench_conn_flush(c);
}

int bench_conn_read(struct bench_conn *c)
{
	for (;;) {
		uint8_t buf[16384];
		int n = SSL_read(c->ssl, buf, sizeof(buf));

		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);

			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return 0;
			return -1;
		}
		if (bench_append(&c->in, &c->in_len, &c->in_cap, buf,
				 (size_t)n))
			return -1;
	}
}

void bench_conn_close(struct bench_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);            /* leaves the epoll set too */
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_cap = c->out_len = c->out_cap = 0;
	c->tcp_up = c->tls_up = c->want_out = 0;
}
