/* phone.h: the phone numbers in a bulletin's text, which the pages show
 * as tel: links (lib/pages.c on the daemon; web/js/resident.js, phoneSpans,
 * does the same in the browser: tests/browser/fixtures/phones.json holds
 * the cases both must agree on). */
#ifndef ALLIANCE_PHONE_H
#define ALLIANCE_PHONE_H

#include <stddef.h>

/* phone_next: the first phone number in s[from..len): a Chinese mobile
 * (13800138000, 138-0013-8000), a number with its area code
 * (0532-12345678, 010 1234567), +86 before either, 400/800 numbers, 95xxx
 * service numbers and the public hotlines (110, 119, 120, 122, 12345 and
 * the other 12xxx lines), not part of a longer number or word, a short
 * hotline not followed by a unit (120人). Digits may be grouped by single
 * '-' or ' '. Sets [*start, *end) and the tel: target (digits, '+86'
 * first for +86) in tel (at least 24 bytes); returns 1, or 0 when there
 * is none. */
int phone_next(const char *s, size_t len, size_t from, size_t *start,
	       size_t *end, char *tel, size_t tellen);

#endif
