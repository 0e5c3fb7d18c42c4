/* ratelimit.c: fixed-window counters per key (see ratelimit.h).
 *
 * Parts: the limiter; a hit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

struct slot {
	char key[RATELIMIT_KEY + 1]; /* "" when free */
	int64_t start;              /* the window began here */
	unsigned count;             /* actions in it */
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

/* ---- a hit -------------------------------------------------------------------- */

/* find: the slot of key, or a free or stale one (reset for key), or NULL
 * when every slot is a live window of another key. */
static struct slot *find(struct ratelimit *rl, const char *key, int64_t now)
{
	struct slot *victim = NULL;
	size_t i;

	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		struct slot *s = &rl->slots[i];

		if (s->key[0] && strcmp(s->key, key) == 0)
			return s;
		if (!s->key[0] || now - s->start >= rl->window_s)
			if (!victim || (victim->key[0] &&
					(!s->key[0] || s->start < victim->start)))
				victim = s;
	}
	if (victim) {
		snprintf(victim->key, sizeof(victim->key), "%s", key);
		victim->start = now;
		victim->count = 0;
	}
	return victim;
}

unsigned ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now)
{
	char cut[RATELIMIT_KEY + 1];
	struct slot *s;

	snprintf(cut, sizeof(cut), "%s", key);
	s = find(rl, cut, now);
	if (!s)
		return rl->window_s;    /* full of live windows: refuse */
	if (now - s->start >= rl->window_s) {
		s->start = now;
		s->count = 0;
	}
	if (s->count >= rl->max) {
		int64_t left = s->start + rl->window_s - now;

		return left > 0 ? (unsigned)left : 1;
	}
	s->count++;
	return 0;
}
