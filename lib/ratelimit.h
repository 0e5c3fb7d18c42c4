/* ratelimit.h: fixed-window counters of actions per key (an address, a
 * credential), for the abuse limits on residents' requests, votes,
 * registrations and logins and on the manager's failed logins.
 *
 * A limiter holds a fixed number of slots, so memory is bounded. A key
 * not seen takes a free slot, else the least suspicious one: the fewest
 * actions in a window still running (an ended window counts none), the
 * one idle longest among equals. A key at its limit (penalised) is never
 * evicted, so a flood of new keys cannot reset an attacker's penalty, and
 * a key with room left is evicted before one closer to its limit. A new
 * key is never refused for want of a slot: when every slot is penalised
 * its action is allowed uncounted (memory stays bounded; the addresses
 * being limited are already refused). One thread only. */
#ifndef ALLIANCE_RATELIMIT_H
#define ALLIANCE_RATELIMIT_H

#include <stdint.h>

/* Slots of one limiter: distinct keys tracked at once. */
#define RATELIMIT_SLOTS 1024
/* Longest key kept (longer keys are cut). */
#define RATELIMIT_KEY 72

struct ratelimit;

/* ratelimit_new: max actions per key within window_s seconds. NULL when
 * out of memory. Free with ratelimit_free (sets the pointer NULL). */
struct ratelimit *ratelimit_new(unsigned max, unsigned window_s);
void ratelimit_free(struct ratelimit **rl);

/* ratelimit_hit: count one action of key at now. Returns 0 when allowed,
 * else the seconds until the key's window ends (at least 1); a refused
 * action is not counted. */
unsigned ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now);

/* ratelimit_over: what ratelimit_hit would answer, counting nothing and
 * taking no slot: 0 when key may act at now, else the seconds until its
 * window ends (at least 1). */
unsigned ratelimit_over(const struct ratelimit *rl, const char *key,
			int64_t now);

#endif
