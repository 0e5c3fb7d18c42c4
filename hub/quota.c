/* quota.c: each community's quota at the hub, the backstop behind its
 * node's own checks (lib/quota.h has the rule).
 *
 * The hub announces [quota] in Welcome and judges every change a node
 * sends that it stores: a new live record or a growing body past the
 * quota, or creations and updates past the bucket, close the session
 * with 4413 and roll the whole batch back, so nothing over quota is
 * stored here or sent on. Deletions and changes that do not grow what is
 * stored always pass. A node logs its edits under the quota it last
 * heard, so when the hub lowers one, what the node logged before it
 * learned that must still pass: the quota it was told before becomes a
 * grace for its log entries up to the head of its first batch after the
 * Welcome with the lower one, retired once the hub committed that far
 * (a node that lies about its head gets no more than that quota, which
 * the hub once granted; a community's first Welcome gets no grace).
 * The bucket holds an hour's changes plus one per record the quota
 * allows, since a node that was away sends its backlog (one entry per
 * record at most) at once. Parts: the quota of a session; judging a
 * batch; batch limits; what the console and metrics show. */
#include <inttypes.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"

/* ---- the quota of a session --------------------------------------------- */

void hub_quota_config(const struct hub *hub, struct quota *q)
{
	q->records = hub->cfg.quota_records;
	q->bytes = hub->cfg.quota_bytes;
	q->per_hour = hub->cfg.quota_per_hour;
}

/* lower: some field of q is below before's. */
static int lower(const struct quota *q, const struct quota *before)
{
	return q->records < before->records || q->bytes < before->bytes ||
	       q->per_hour < before->per_hour;
}

void hub_quota_welcome(struct session *s, struct quota *q)
{
	struct community *c = s->community;
	struct quota before = c->announced;

	hub_quota_config(s->hub, q);
	/* a community never told one gets none: its first Welcome is what
	 * it is held to (a node that never had a session keeps the
	 * defaults, so a district below them sets them before enrolling) */
	if (before.records && lower(q, &before)) {
		if (c->grace_seq)
			quota_max(&c->grace, &c->grace, &before);
		else
			c->grace = before;
		c->grace_seq = QUOTA_GRACE_OPEN;
		log_info("quota %s: lowered to %" PRIu64 " records, %" PRIu64
			 " bytes, %" PRIu64 " changes an hour; what its node "
			 "logged before it is judged by the quota it knew",
			 c->id, q->records, q->bytes, q->per_hour);
	}
	c->announced = *q;
	s->quota = *q;
}

const struct quota_usage *hub_quota_usage(struct hub *hub,
					  struct community *c)
{
	if (!c->usage_known &&
	    catalog_usage(hub->cat, c->id, &c->usage.records,
			  &c->usage.bytes) == ERR_OK)
		c->usage_known = 1;
	return &c->usage;
}

/* ---- judging a batch ---------------------------------------------------- */

void hub_quota_begin(struct session *s, const Alliance__V1__Changes *cs,
		     struct quota_batch *qb)
{
	struct community *c = s->community;

	if (c->grace_seq == QUOTA_GRACE_OPEN) {
		c->grace_seq = cs->head > cs->last_seq ? cs->head
						       : cs->last_seq;
		if (!c->grace_seq)
			c->grace_seq = c->up_cursor;
	}
	qb->usage = *hub_quota_usage(s->hub, c);
	qb->bucket = c->bucket;
}

int hub_quota_change(struct session *s, struct quota_batch *qb,
		     const Change *ch, int old_live, uint64_t old_bytes,
		     char *why, size_t whylen)
{
	struct community *c = s->community;
	struct quota_delta d = { 0, 0, 0 };
	struct quota limit = s->quota;
	int rc;

	if (!s->community->usage_known)
		return ERR_IO;
	if (c->grace_seq && ch->seq <= c->grace_seq)
		quota_max(&limit, &limit, &c->grace);
	quota_delta_add(&d, old_live, old_bytes, ch);
	rc = quota_admit(&limit, &qb->usage, &d, why, whylen);
	if (rc == ERR_OK && d.changes)
		rc = quota_bucket_take(&qb->bucket, limit.per_hour,
				       limit.per_hour + limit.records,
				       hub_now(), d.changes, why, whylen);
	if (rc == ERR_OK)
		quota_usage_apply(&qb->usage, &d);
	return rc;
}

void hub_quota_commit(struct session *s, const struct quota_batch *qb)
{
	struct community *c = s->community;

	c->usage = qb->usage;
	c->bucket = qb->bucket;
	if (c->grace_seq && c->grace_seq != QUOTA_GRACE_OPEN &&
	    c->up_cursor >= c->grace_seq) {
		c->grace_seq = 0;
		memset(&c->grace, 0, sizeof(c->grace));
		hub_store_save_link(s->hub, c);
		log_info("quota %s: its node sent what it logged before the "
			 "lower quota; the quota applies in full", c->id);
	}
}

/* ---- batch limits -------------------------------------------------------- */

size_t hub_batch_bytes(const struct hub *hub)
{
	return hub->cfg.max_frame < LIMIT_BATCH_BYTES ? hub->cfg.max_frame
						      : LIMIT_BATCH_BYTES;
}

size_t hub_batch_down(uint32_t batch_bytes)
{
	return batch_bytes && batch_bytes < LIMIT_BATCH_BYTES
	       ? batch_bytes : LIMIT_BATCH_BYTES;
}

int hub_quota_batch(struct session *s, const Frame *f, size_t len)
{
	char why[160];

	/* a node that predates Welcome.batch_bytes sends up to LIMIT_BATCH
	 * changes whatever their bytes: held to our bytes it would send the
	 * same frame again at every session */
	if (wire_batch_check(f, len, LIMIT_BATCH, s->count_bound
			     ? s->hub->cfg.max_frame : hub_batch_bytes(s->hub),
			     why, sizeof(why)) == ERR_OK)
		return ERR_OK;
	if (s->community)
		s->community->closed_batch++;
	session_close(s, REFUSE_BATCH, WIRE_CLOSE_BATCH,
		      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME, "%s", why);
	return ERR_TOOBIG;
}

/* ---- what the console and metrics show ---------------------------------- */

json_t *hub_quota_json(struct hub *hub, struct community *c)
{
	struct quota q;
	const struct quota_usage *u = hub_quota_usage(hub, c);

	hub_quota_config(hub, &q);
	return json_pack("{s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I},"
			 " s:I, s:I}",
		"records", "used", (json_int_t)u->records,
			   "limit", (json_int_t)q.records,
		"bytes", "used", (json_int_t)u->bytes,
			 "limit", (json_int_t)q.bytes,
		"changes_per_hour",
			"available", (json_int_t)quota_bucket_level(
				&c->bucket, q.per_hour, q.per_hour + q.records,
				hub_now()),
			"limit", (json_int_t)q.per_hour,
		"closed_quota", (json_int_t)c->closed_quota,
		"closed_batch", (json_int_t)c->closed_batch);
}

/* One community's lines of each metric (registry_each's callback). */
struct quota_lines {
	struct hub *hub;
	FILE *f;
	int part;                   /* which metric is being written */
};

static void quota_line(struct community *c, void *arg)
{
	struct quota_lines *l = arg;
	const struct quota_usage *u = hub_quota_usage(l->hub, c);
	struct quota q;

	hub_quota_config(l->hub, &q);
	switch (l->part) {
	case 0:
		fprintf(l->f, "alliance_quota_used{community=\"%s\","
			"quota=\"records\"} %" PRIu64 "\n"
			"alliance_quota_used{community=\"%s\","
			"quota=\"bytes\"} %" PRIu64 "\n", c->id, u->records,
			c->id, u->bytes);
		break;
	case 1:
		fprintf(l->f, "alliance_quota_changes_available{community="
			"\"%s\"} %.0f\n", c->id,
			quota_bucket_level(&c->bucket, q.per_hour,
					   q.per_hour + q.records, hub_now()));
		break;
	default:
		fprintf(l->f, "alliance_quota_closes_total{community=\"%s\","
			"reason=\"quota\"} %" PRIu64 "\n"
			"alliance_quota_closes_total{community=\"%s\","
			"reason=\"batch\"} %" PRIu64 "\n", c->id,
			c->closed_quota, c->id, c->closed_batch);
		break;
	}
}

void hub_quota_metrics(struct hub *hub, FILE *f)
{
	struct quota_lines l = { hub, f, 0 };
	struct quota q;

	hub_quota_config(hub, &q);
	fprintf(f, "# HELP alliance_quota_limit Each community's quota "
		"([quota]).\n# TYPE alliance_quota_limit gauge\n"
		"alliance_quota_limit{quota=\"records\"} %" PRIu64 "\n"
		"alliance_quota_limit{quota=\"bytes\"} %" PRIu64 "\n"
		"alliance_quota_limit{quota=\"changes_per_hour\"} %" PRIu64
		"\n", q.records, q.bytes, q.per_hour);
	fprintf(f, "# HELP alliance_quota_used A community's live records "
		"and their body bytes at the hub.\n"
		"# TYPE alliance_quota_used gauge\n");
	registry_each(hub, quota_line, &l);
	l.part = 1;
	fprintf(f, "# HELP alliance_quota_changes_available Creations and "
		"updates a community may send now.\n"
		"# TYPE alliance_quota_changes_available gauge\n");
	registry_each(hub, quota_line, &l);
	l.part = 2;
	fprintf(f, "# HELP alliance_quota_closes_total Sessions closed for "
		"passing the quota (4413) or the batch limits (4414).\n"
		"# TYPE alliance_quota_closes_total counter\n");
	registry_each(hub, quota_line, &l);
}
