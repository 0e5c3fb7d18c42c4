/* ratelimit.c: fixed-window counters per key (see ratelimit.h).
 *
 * Parts: the limiter; finding a slot; a hit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

struct slot {
	char key[RATELIMIT_KEY + 1]; /* "" when free */
	int64_t start;              /* the window began here */
	int64_t last;               /* the key's last action */
	unsigned count;             /* actions in the window */
};

struct ratelimit {
	unsigned max;               /* actions per window */
	unsigned window_s;          /* seconds */
	struct slot slots[RATELIMIT_SLOTS];
};

/* ---- the limiter ------------------------------------------------------------- */

struct ratelimit *ratelimit_new(unsigned max, unsigned window_s)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	rl->max = max;
	rl->window_s = window_s ? window_s : 1;
	return rl;
}

void ratelimit_free(struct ratelimit **rl)
{
	free(*rl);
	*rl = NULL;
}

/* ---- finding a slot ------------------------------------------------------------ */

/* live: the actions s holds in a window still running at now. */
static unsigned live(const struct ratelimit *rl, const struct slot *s,
		     int64_t now)
{
	return now - s->start >= rl->window_s ? 0 : s->count;
}

/* lookup: the slot of key (already cut), or NULL. */
static const struct slot *lookup(const struct ratelimit *rl, const char *key)
{
	for (size_t i = 0; i < RATELIMIT_SLOTS; i++)
		if (rl->slots[i].key[0] && strcmp(rl->slots[i].key, key) == 0)
			return &rl->slots[i];
	return NULL;
}

/* victim: a free slot, else the least suspicious one that is not
 * penalised (fewest live actions, then idle longest); NULL when every
 * slot is penalised. */
static struct slot *victim(struct ratelimit *rl, int64_t now)
{
	struct slot *best = NULL;
	unsigned best_live = 0;

	for (size_t i = 0; i < RATELIMIT_SLOTS; i++) {
		struct slot *s = &rl->slots[i];
		unsigned n;

		if (!s->key[0])
			return s;
		n = live(rl, s, now);
		if (n >= rl->max)
			continue;       /* penalised: kept */
		if (!best || n < best_live ||
		    (n == best_live && s->last < best->last)) {
			best = s;
			best_live = n;
		}
	}
	return best;
}

/* ---- a hit -------------------------------------------------------------------- */

/* wait_of: seconds until s's window ends, at least 1. */
static unsigned wait_of(const struct ratelimit *rl, const struct slot *s,
			int64_t now)
{
	int64_t left = s->start + rl->window_s - now;

	return left > 0 ? (unsigned)left : 1;
}

unsigned ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now)
{
	char cut[RATELIMIT_KEY + 1];
	struct slot *s;

	snprintf(cut, sizeof(cut), "%s", key);
	s = (struct slot *)lookup(rl, cut);
	if (!s) {
		s = victim(rl, now);
		if (!s)
			return 0;       /* all penalised: allowed, uncounted */
		snprintf(s->key, sizeof(s->key), "%s", cut);
		s->start = now;
		s->count = 0;
	}
	if (now - s->start >= rl->window_s) {
		s->start = now;
		s->count = 0;
	}
	if (s->count >= rl->max)
		return wait_of(rl, s, now);
	s->count++;
	s->last = now;
	return 0;
}

unsigned ratelimit_over(const struct ratelimit *rl, const char *key,
			int64_t now)
{
	char cut[RATELIMIT_KEY + 1];
	const struct slot *s;

	snprintf(cut, sizeof(cut), "%s", key);
	s = lookup(rl, cut);
	if (!s || live(rl, s, now) < rl->max)
		return 0;
	return wait_of(rl, s, now);
}
