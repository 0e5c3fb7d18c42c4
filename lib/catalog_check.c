/* catalog_check.c: records from peers held to the rules of manager input.
 *
 * A record is shown as JSON and read back through the same validation a
 * manager's request passes, so there is one definition of a valid service
 * or announcement, whichever way it arrives. */
#include <stdio.h>

#include "catalog.h"
#include "err.h"

int catalog_check(const Change *ch, char *why, size_t whylen)
{
	json_t *json;
	int rc;

	if (ch->deleted)
		return ERR_OK;
	json = catalog_change_json(ch);
	if (!json) {
		snprintf(why, whylen, "record %s has no body for its kind",
			 ch->id);
		return ERR_INVALID;
	}
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE) {
		Alliance__V1__Service *s = NULL;

		rc = catalog_service_from_json(json, &s, why, whylen);
		if (s)
			alliance__v1__service__free_unpacked(s, NULL);
	} else {
		Alliance__V1__Announcement *a = NULL;

		rc = catalog_announcement_from_json(json, &a, why, whylen);
		if (a)
			alliance__v1__announcement__free_unpacked(a, NULL);
	}
	json_decref(json);
	return rc == ERR_OK ? ERR_OK : ERR_INVALID;
}
