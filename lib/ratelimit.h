/* ratelimit.h: fixed-window counters of actions per key (an address, a
 * credential), for the abuse limits on residents' requests, votes and
 * registrations.
 *
 * A limiter holds a fixed number of slots; a key not seen gets a free slot
 * or the one whose window ended longest ago, so memory is bounded and a
 * flood of new keys cannot evict a key that is still inside its window
 * while any slot is stale. One thread only. */
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

#endif
