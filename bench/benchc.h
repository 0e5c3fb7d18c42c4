/* benchc.h: what the C load generators of bench/peer-mosquitto and
 * bench/floor share (bench/benchc.c, linked into every program of bench/):
 * the clock, /proc figures, percentiles, growing buffers, the fd limit,
 * and mutual-TLS client sessions over non-blocking sockets in one epoll
 * set, each with its own certificate. */
#ifndef BENCHC_H
#define BENCHC_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

/* bench_now_s: CLOCK_MONOTONIC in seconds (the same clock in every
 * process of the machine). */
double bench_now_s(void);

/* bench_rss_kb: VmRSS of pid in KiB, or -1. */
long bench_rss_kb(int pid);

/* bench_sort: sort v[0..n) ascending. */
void bench_sort(double *v, size_t n);

/* bench_pct: the p-th percentile (nearest rank) of sorted v[0..n). */
double bench_pct(const double *v, size_t n, double p);

/* bench_append: add n bytes to a growing buffer (*buf realloc'd, the
 * caller frees it); 0 or -1. */
int bench_append(uint8_t **buf, size_t *len, size_t *cap, const void *p,
		 size_t n);

/* bench_uarg: option name's value v as a number up to 10,000,000; exits
 * with status 2 naming prog when it is not one. */
unsigned bench_uarg(const char *prog, const char *name, const char *v);

/* bench_raise_fds: the soft RLIMIT_NOFILE raised to at least n; 0, or -1
 * when the hard limit is lower. */
int bench_raise_fds(unsigned n);

/* bench_tls_client: a client context trusting only PKI/ca.crt, TLS 1.3
 * (whose default first suite is AES-256-GCM), the server named localhost;
 * the caller frees it with SSL_CTX_free. NULL on failure. */
SSL_CTX *bench_tls_client(const char *pki);

/* One client session: TCP, then TLS with its own certificate. */
struct bench_conn {
	int fd;                 /* -1 when closed */
	SSL *ssl;
	int ep;                 /* the epoll set it is in */
	void *tag;              /* epoll's data.ptr for it */
	int tcp_up;             /* the TCP connect finished */
	int tls_up;             /* the TLS handshake finished */
	int want_out;           /* EPOLLOUT asked for */
	uint8_t *in, *out;      /* read and not yet taken; to write */
	size_t in_len, in_cap, out_len, out_cap;
};

/* bench_conn_open: start c's TCP connect to 127.0.0.1:port, non-blocking,
 * in the epoll set ep with data.ptr tag, with the certificate crt and key;
 * c must be zeroed or closed. 0, or -1 (c is closed again). */
int bench_conn_open(struct bench_conn *c, int ep, SSL_CTX *ctx, int port,
		    const char *crt, const char *key, void *tag);

/* bench_conn_handshake: advance the connect and the TLS handshake; 1 when
 * the session is up, 0 while it waits for the socket, -1 on failure. */
int bench_conn_handshake(struct bench_conn *c);

/* bench_conn_send: queue n bytes and write what the socket takes (the
 * rest when epoll says it is writable: call bench_conn_flush). 0 or -1. */
int bench_conn_send(struct bench_conn *c, const void *p, size_t n);

/* bench_conn_flush: write what c holds; 0, or -1 when the session failed. */
int bench_conn_flush(struct bench_conn *c);

/* bench_conn_read: read until the socket is dry, appending to c->in (the
 * caller takes whole messages out of it). 0, or -1 when the session
 * failed or the peer closed it. */
int bench_conn_read(struct bench_conn *c);

/* bench_conn_close: free c's TLS state, socket and buffers; c can be
 * opened again. */
void bench_conn_close(struct bench_conn *c);

#endif
