/* status.c: status names and the error record. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const NAMES[] = {
#define X(name, text) text,
    TLP_STATUS_LIST(X)
#undef X
};

static const char *const IDS[] = {
#define X(name, text) #name,
    TLP_STATUS_LIST(X)
#undef X
};

const char *tlp_status_name(tlp_status s) { return (unsigned)s < TLP_STATUS_COUNT ? NAMES[s] : "?"; }
const char *tlp_status_id(tlp_status s) { return (unsigned)s < TLP_STATUS_COUNT ? IDS[s] : "?"; }

tlp_status tlp_error_set(tlp_error *err, tlp_status s, const char *file, long line, const char *fmt, ...)
{
    if (!err) return s;
    err->status = s;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return s;
}
