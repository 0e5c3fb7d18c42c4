/* phone.c: phone numbers in a bulletin's text (see phone.h).
 *
 * A number is read as groups of ASCII digits one '-' or ' ' apart; the
 * longest run of groups that is a number, and may start and end where it
 * stands, is taken. Byte by byte: UTF-8 text around it is never split, as
 * digits and the separators are ASCII.
 *
 * Parts: what a number is; where it may start and end; finding one. */
#include <stdio.h>
#include <string.h>

#include "phone.h"

/* ---- what a number is ----------------------------------------------------- */

/* Most digits a phone number may have (+86 and a 12-digit landline). */
#define PHONE_DIGITS_MAX 16
/* Most groups of digits one number is read in (138 0013 8000: 3). */
#define PHONE_GROUPS_MAX 6

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The public hotlines dialled as they are (3 and 5 digits). */
static const char *const hotlines[] = {
	"110", "119", "120", "122", "12110", "12121", "12123", "12315",
	"12320", "12333", "12345", "12348", "12350", "12355", "12358",
	"12369", "12395",
};

/* Words after which a short number is a count, not a hotline (120人). */
static const char *const units[] = {
	"人", "个", "名", "位", "户", "岁", "元", "块", "米", "公", "千",
	"万", "亿", "年", "月", "日", "号", "楼", "室", "层", "栋", "次",
	"辆", "台", "度", "分", "秒", "小", "天", "周", "条", "家", "所",
	"间", "套", "平", "吨", "斤", "克", "里", "%", "℃",
};

enum phone_kind { PHONE_NONE, PHONE_LONG, PHONE_SHORT };

/* classify: what the digits d[0..n) are, with the tel: target in tel. */
static enum phone_kind classify(const char *d, size_t n, int plus, char *tel,
				size_t tellen)
{
	size_t i;

	if (plus) {
		const char *r = d + 2;
		size_t rn = n - 2;

		if (n < 3 || d[0] != '8' || d[1] != '6')
			return PHONE_NONE;
		/* a mobile, or a landline without its leading 0 */
		if ((rn == 11 && r[0] == '1' && r[1] >= '3') ||
		    (rn >= 9 && rn <= 11 && r[0] != '0')) {
			snprintf(tel, tellen, "+86%.*s", (int)rn, r);
			return PHONE_LONG;
		}
		return PHONE_NONE;
	}
	if ((n == 11 && d[0] == '1' && d[1] >= '3') ||
	    (n >= 10 && n <= 12 && d[0] == '0' && d[1] != '0') ||
	    (n == 10 && (!memcmp(d, "400", 3) || !memcmp(d, "800", 3)))) {
		snprintf(tel, tellen, "%.*s", (int)n, d);
		return PHONE_LONG;
	}
	if (n == 5 && d[0] == '9' && d[1] == '5') {
		snprintf(tel, tellen, "%.*s", (int)n, d);
		return PHONE_SHORT;
	}
	for (i = 0; i < sizeof(hotlines) / sizeof(hotlines[0]); i++)
		if (strlen(hotlines[i]) == n && !memcmp(hotlines[i], d, n)) {
			snprintf(tel, tellen, "%.*s", (int)n, d);
			return PHONE_SHORT;
		}
	return PHONE_NONE;
}

/* ---- where it may start and end ------------------------------------------ */

/* ends_well: whether a number of kind may end at s[end]. */
static int ends_well(const char *s, size_t len, size_t end,
		     enum phone_kind kind)
{
	size_t i;
	char c;

	if (end >= len)
		return 1;
	c = s[end];
	if (is_alnum(c) || c == '%')
		return 0;
	if ((c == '.' || c == ',') && end + 1 < len && is_digit(s[end + 1]))
		return 0;   /* 1.20, 120,000 */
	if (kind != PHONE_SHORT)
		return 1;
	if ((c == '-' || c == '~') && end + 1 < len && is_digit(s[end + 1]))
		return 0;   /* 110-120: a range */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t ul = strlen(units[i]);

		if (len - end >= ul && !memcmp(s + end, units[i], ul))
			return 0;
	}
	return 1;
}

/* starts_well: whether a number may start at s[i]. */
static int starts_well(const char *s, size_t i)
{
	char c;

	if (i == 0)
		return 1;
	c = s[i - 1];
	return !(is_alnum(c) || c == '.' || c == ',' || c == '+' || c == '-' ||
		 c == '/' || c == '_');
}

/* ---- finding one ------------------------------------------------------------ */

int phone_next(const char *s, size_t len, size_t from, size_t *start,
		     size_t *end, char *tel, size_t tellen)
{
	size_t i = from;

	while (i < len) {
		char digits[PHONE_DIGITS_MAX + 1];
		size_t ends[PHONE_GROUPS_MAX], counts[PHONE_GROUPS_MAX];
		size_t j, first_end = 0, nd = 0, ng = 0;
		int plus = s[i] == '+', overflow = 0;

		if (!(is_digit(s[i]) || (plus && i + 1 < len &&
					 is_digit(s[i + 1]))) ||
		    !starts_well(s, i)) {
			i++;
			continue;
		}
		/* the groups of digits from i, one '-' or ' ' apart */
		j = i + (size_t)plus;
		for (;;) {
			while (j < len && is_digit(s[j])) {
				if (nd < PHONE_DIGITS_MAX)
					digits[nd++] = s[j];
				else
					overflow = 1;
				j++;
			}
			if (!first_end)
				first_end = j;
			ends[ng] = j;
			counts[ng++] = nd;
			if (overflow || ng == PHONE_GROUPS_MAX ||
			    j + 1 >= len || (s[j] != '-' && s[j] != ' ') ||
			    !is_digit(s[j + 1]))
				break;
			j++;
		}
		/* the longest run of groups that reads as a number */
		while (!overflow && ng > 0) {
			enum phone_kind kind = classify(digits, counts[ng - 1],
							plus, tel, tellen);

			if (kind != PHONE_NONE &&
			    ends_well(s, len, ends[ng - 1], kind)) {
				*start = i;
				*end = ends[ng - 1];
				return 1;
			}
			ng--;
		}
		i = first_end;   /* none: go on after the first group */
	}
	return 0;
}
