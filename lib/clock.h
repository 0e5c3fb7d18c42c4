/* clock.h: wall-clock time as the alliance writes it (unix seconds, RFC 3339
 * UTC). */
#ifndef ALLIANCE_CLOCK_H
#define ALLIANCE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* clock_now: seconds since the epoch, by this process's clock corrected
 * by the offset clock_set_offset_ms set (0 until then). A node sets the
 * offset the hub tells it at Welcome, so that expiry and the times it
 * stamps are judged by the hub's clock, not a skewed local one. */
int64_t clock_now(void);

/* clock_now_ms: the same time in milliseconds. */
int64_t clock_now_ms(void);

/* clock_local_ms: milliseconds since the epoch by the local clock, not
 * corrected. */
int64_t clock_local_ms(void);

/* clock_mono_ms: milliseconds of the monotonic clock (for durations;
 * its zero is arbitrary). */
double clock_mono_ms(void);

/* clock_set_offset_ms: from now on clock_now() adds ms to the local clock.
 * Safe to call while other threads read the clock. */
void clock_set_offset_ms(int64_t ms);

/* clock_offset_ms: the offset clock_set_offset_ms last set. */
int64_t clock_offset_ms(void);

/* CLOCK_SKEW_WARN_MS: an offset over this (either way) is worth a
 * warning: certificates, expiry and edits' order suffer from it. */
#define CLOCK_SKEW_WARN_MS INT64_C(60000)

/* clock_rfc3339: format t as "2026-11-29T15:04:05Z" into buf (at least
 * CLOCK_RFC3339_LEN bytes). Returns buf. */
#define CLOCK_RFC3339_LEN 32
char *clock_rfc3339(int64_t t, char *buf, size_t buflen);

/* CLOCK_MAX: 9999-12-31T23:59:59Z, the last time clock_rfc3339 writes in
 * a form clock_parse_rfc3339 reads back (four digits of year). A time
 * that travels as RFC 3339 must not be later. */
#define CLOCK_MAX INT64_C(253402300799)

/* clock_ms_valid: whether ms (unix milliseconds from a peer: a Hello's
 * node_time_ms, a Welcome's hub_time_ms) is a time after the epoch and
 * not past CLOCK_MAX, so differences of such times cannot overflow. */
int clock_ms_valid(int64_t ms);

/* clock_parse_rfc3339: parse "YYYY-MM-DDTHH:MM:SSZ" (or with a +hh:mm
 * offset) into *t. Returns ERR_OK or ERR_INVALID. */
int clock_parse_rfc3339(const char *s, int64_t *t);

#endif
