/* fuzz_search.c: libFuzzer target for the catalog search's query
 * (lib/search.c's search_match and tokenizer, lib/catalog_search.c's
 * finder with its `after` tokens, filters and synonyms).
 *
 * Once: an in-memory store with the catalog's migrations, six services
 * in Chinese and English from three communities, the district's synonyms,
 * and the search index built. Each input is a query string as GET
 * /api/v1/catalog takes it (q, category, community, delivery, free,
 * limit, after, prefer; form-encoded), given to catalog_search unchecked
 * (the HTTP layer's checks are a subset of what it must survive). An
 * answer must be a JSON object with "items"; a refusal must be
 * ERR_INVALID naming the parameter. search_match and search_each_word
 * also get the whole input as text. Any other outcome aborts. Seeds in
 * tests/fuzz/corpus/search/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "../unit/catalog_fixture.h"
#include "err.h"
#include "form.h"
#include "log.h"
#include "search.h"
#include "store.h"
#include "synonyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct catalog *cat;

static const char *const services[][3] = {
	{ "north-gate", "hair", "{\"title\":\"上门理发服务\",\"description\":"
	  "\"为行动不便的老人提供上门理发\",\"category\":\"elderly-care\","
	  "\"delivery\":[\"home-visit\"],\"fee\":\"免费\","
	  "\"keywords\":[\"剪发\"]}" },
	{ "north-gate", "meals", "{\"title\":\"Meals for seniors\","
	  "\"description\":\"Hot lunch delivered daily\",\"category\":"
	  "\"elderly-care\",\"delivery\":[\"walk-in\",\"home-visit\"],"
	  "\"fee\":\"5 yuan\"}" },
	{ "river-side", "legal", "{\"title\":\"免费法律咨询 Legal advice\","
	  "\"summary\":\"每周三下午\",\"category\":\"legal-civil\","
	  "\"delivery\":\"walk-in\",\"languages\":[\"zh\",\"en\"]}" },
	{ "river-side", "jobs", "{\"title\":\"Job fair\",\"description\":"
	  "\"Employers hiring: cooks, drivers, nurses\",\"category\":"
	  "\"employment\",\"delivery\":[\"online\"]}" },
	{ "east-lake", "clinic", "{\"title\":\"社区卫生服务站\",\"description\":"
	  "\"孕产妇保健 prenatal care\",\"category\":\"health-maternity\","
	  "\"delivery\":[\"walk-in\",\"phone\"],\"phone\":\"0756-1234567\"}" },
	{ "east-lake", "gone", "{\"title\":\"Closed reading room\","
	  "\"category\":\"education-culture\",\"status\":\"inactive\"}" },
};

static const char synonyms_text[] =
	"理发 剪发 美发\n"
	"老人 长者 elderly senior\n"
	"# comment\n"
	"lawyer / legal / 法律\n";

/* put: apply ch or abort. */
static void put(const Change *ch)
{
	int applied = 0;

	if (catalog_apply(cat, ch, 1, &applied) != ERR_OK || !applied)
		abort();
}

/* setup: the store, the services, the synonyms and the index. */
static void setup(void)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	struct synonyms *syn = NULL;
	sqlite3 *db = NULL;
	char err[256];
	size_t done;

	log_init("fuzz_search", LOG_ERROR);
	if (store_open(":memory:", catalog_migrations,
		       CATALOG_N_MIGRATIONS, &db, err,
		       sizeof(err)) != ERR_OK ||
	    catalog_open(db, &cat) != ERR_OK)
		abort();
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		json_t *j = json_loads(services[i][2], 0, NULL);

		ch = (Change)ALLIANCE__V1__CHANGE__INIT;
		ch.origin = (char *)services[i][0];
		ch.id = (char *)services[i][1];
		ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
		ch.version = 1;
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
		if (!j || catalog_service_from_json(j, &ch.service, err,
						    sizeof(err)) != ERR_OK)
			abort();
		json_decref(j);
		put(&ch);
		alliance__v1__service__free_unpacked(ch.service, NULL);
	}
	ch = (Change)ALLIANCE__V1__CHANGE__INIT;
	ch.origin = "district";
	ch.id = "synonyms";
	ch.kind = ALLIANCE__V1__KIND__KIND_SEARCH_WORDS;
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS;
	if (synonyms_parse(synonyms_text, strlen(synonyms_text), "synonyms",
			   &syn, err, sizeof(err)) != ERR_OK ||
	    synonyms_to_proto(syn, &ch.search_words) != ERR_OK)
		abort();
	put(&ch);
	alliance__v1__search_words__free_unpacked(ch.search_words, NULL);
	synonyms_free(&syn);
	do {
		if (catalog_index_pending(cat, 100, &done) != ERR_OK)
			abort();
	} while (done);
	/* the store lives as long as the process */
}

/* param: the decoded value of name in the input into buf, or NULL when
 * it is absent, empty or malformed (as the HTTP layer treats it). */
static const char *param(const uint8_t *data, size_t size, const char *name,
			 char *buf, size_t buflen)
{
	int n = form_get((const char *)data, size, name, buf, buflen);

	return n > 0 ? buf : NULL;
}

static int count_word(void *ctx, const char *word, int len)
{
	(void)word;
	if (len <= 0)
		abort();
	++*(int *)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog_query q;
	char qv[1100], cv[80], ov[80], dv[80], fv[8], lv[24], av[200], pv[80];
	char why[256], *body = NULL, *text, *match;
	json_t *answer;
	size_t len = 0;
	int rc, words = 0;

	if (!cat)
		setup();
	memset(&q, 0, sizeof(q));
	q.q = param(data, size, "q", qv, sizeof(qv));
	q.category = param(data, size, "category", cv, sizeof(cv));
	q.community = param(data, size, "community", ov, sizeof(ov));
	q.delivery = param(data, size, "delivery", dv, sizeof(dv));
	q.free_only = param(data, size, "free", fv, sizeof(fv)) &&
		      fv[0] == '1';
	q.limit = param(data, size, "limit", lv, sizeof(lv))
		  ? (int)strtol(lv, NULL, 10) : 20;
	q.after = param(data, size, "after", av, sizeof(av));
	q.prefer = param(data, size, "prefer", pv, sizeof(pv));
	why[0] = '\0';
	rc = catalog_search(cat, &q, &body, &len, why, sizeof(why));
	if (rc == ERR_OK) {
		answer = body ? json_loadb(body, len, 0, NULL) : NULL;
		if (!answer || !json_is_array(json_object_get(answer,
							      "items")))
			abort();
		json_decref(answer);
		free(body);
	} else if (rc != ERR_INVALID || !why[0] || body) {
		abort();
	}

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	match = search_match(text);
	free(match);
	search_each_word(text, count_word, &words);
	free(text);
	return 0;
}
