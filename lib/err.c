/* err.c: names of the shared return codes (err.h), for log lines. */
#include "err.h"

/* err_name: a static lowercase name for code, "unknown" for a code not in
 * enum err. The string is never freed. */
const char *err_name(int code)
{
	switch (code) {
	case ERR_OK:       return "ok";
	case ERR_FAIL:     return "fail";
	case ERR_NOMEM:    return "nomem";
	case ERR_INVALID:  return "invalid";
	case ERR_TOOBIG:   return "toobig";
	case ERR_IO:       return "io";
	case ERR_NOTFOUND: return "notfound";
	case ERR_DENIED:   return "denied";
	case ERR_AGAIN:    return "again";
	}
	return "unknown";
}
