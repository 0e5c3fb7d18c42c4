/* err.h: the one set of return codes every module uses.
 *
 * Functions return ERR_OK (0) or one of the negative codes below; a caller
 * that needs more than the code gets a message through an out buffer. */
#ifndef ALLIANCE_ERR_H
#define ALLIANCE_ERR_H

enum err {
	ERR_OK = 0,
	ERR_FAIL = -1,       /* anything not listed below */
	ERR_NOMEM = -2,      /* an allocation failed */
	ERR_INVALID = -3,    /* input broke a rule: malformed, wrong field */
	ERR_TOOBIG = -4,     /* input over a named limit */
	ERR_IO = -5,         /* a file, socket or database call failed */
	ERR_NOTFOUND = -6,   /* no such record */
	ERR_DENIED = -7,     /* identity or role does not allow it */
	ERR_AGAIN = -8,      /* not now: queue full, rate limited */
};

/* err_name: a short lowercase name of an err code, for logs. */
const char *err_name(int code);

#endif
