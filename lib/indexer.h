/* indexer.h: the search index, kept up to date off the ack path.
 *
 * Applying a record only queues its rid (catalog_schema_v2's triggers);
 * this thread, with its own sqlite connection, copies queued records into
 * service_fts in short BEGIN IMMEDIATE..COMMIT transactions (a few hundred
 * rows each) while work is queued, and otherwise sleeps on a condition
 * variable with a timeout. It makes no lws calls. Hub and node start one
 * after their store is open and stop it before closing the store. */
#ifndef ALLIANCE_INDEXER_H
#define ALLIANCE_INDEXER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct indexer;

/* indexer_start: start the thread on db, a connection of its own to an
 * already migrated store (the indexer owns it from here on, also on
 * failure, and closes it at indexer_stop). Stores the indexer in *out and
 * returns ERR_OK, or ERR_IO / ERR_NOMEM with a message in err. */
int indexer_start(sqlite3 *db, struct indexer **out, char *err,
		  size_t errlen);

/* indexer_kick: wake the thread now (after a commit that queued work);
 * optional, it also looks every INDEXER_IDLE_MS. Thread-safe; NULL is a
 * no-op. */
void indexer_kick(struct indexer *ix);

/* indexer_caught_up: 1 when every change logged up to head (the log
 * head the caller knows, e.g. catalog_log_head on the writer's
 * connection) is in the index as committed, else 0 (also before the
 * thread's first transaction). In *gen: the newest index generation
 * committed; a read snapshot showing at least that generation holds
 * everything this call vouched for (a cached answer may be made from
 * it), and every change indexed so far. No store access; thread-safe.
 * NULL: 0, and *gen 0. */
int indexer_caught_up(struct indexer *ix, uint64_t head, int64_t *gen);

/* indexer_stop: ask the thread to stop, join it (a running transaction
 * commits first), close its connection, free *ix and set it to NULL.
 * NULL or *ix NULL is a no-op. */
void indexer_stop(struct indexer **ix);

#endif
