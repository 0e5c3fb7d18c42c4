/* text.h: validation of text that crosses a trust boundary.
 *
 * protobuf-c checks no UTF-8 and an embedded NUL silently truncates a
 * string, so every string from a peer or a request passes through here. */
#ifndef ALLIANCE_TEXT_H
#define ALLIANCE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* text_utf8_valid: true iff buf[0..len) is well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF) and holds no NUL byte. */
bool text_utf8_valid(const char *buf, size_t len);

/* text_utf8_chars: the characters (code points) of the UTF-8 string s:
 * its bytes that do not continue a sequence. */
size_t text_utf8_chars(const char *s);

/* text_community_valid: true iff s matches [a-z0-9][a-z0-9-]{1,62}. */
bool text_community_valid(const char *s);

/* text_record_id_valid: true iff s is 1..LIMIT_RECORD_ID bytes of
 * [A-Za-z0-9._-], the ids of services, announcements and bulletins. */
bool text_record_id_valid(const char *s);

/* text_phone_digits: true iff in is a phone number as residents type it
 * (at most LIMIT_PHONE_INPUT bytes of digits among spaces and + - ( ));
 * then out (LIMIT_PHONE_DIGITS + 1 bytes) holds its digits, a leading 86
 * (the country code) of a mobile number dropped. With mobile set it must
 * be a mainland mobile number (1[3-9] and 9 more digits, as registrations
 * are); else LIMIT_PHONE_DIGITS_MIN to LIMIT_PHONE_DIGITS digits. */
bool text_phone_digits(const char *in, char *out, bool mobile);

/* text_phone_valid: text_phone_digits(s, ..., false) without the digits. */
bool text_phone_valid(const char *s);

/* text_phone_mask: in (a phone number, or any text holding one) as logs
 * may show it, into out (outlen bytes, truncated): every digit '*' but,
 * when there are at least 9, the first three and the last two. */
void text_phone_mask(const char *in, char *out, size_t outlen);

/* text_hash: FNV-1a of the NUL-terminated s, for the in-memory tables
 * (communities, bulletin links, cached searches and sets) that pick a
 * bucket by name. */
uint32_t text_hash(const char *s);

#endif
