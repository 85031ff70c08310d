/* escape.c: record text made safe for terminals and TSV files (tlp_escape),
 * and back (tlp_unescape).  Printable ASCII and valid UTF-8 pass; a backslash,
 * tab, newline and carriage return become \\ \t \n \r; any other byte \xHH. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* Length of the UTF-8 sequence at s (n bytes left), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (k == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0; /* overlong */
    if (k == 3 && s[0] == 0xed && s[1] >= 0xa0) return 0; /* surrogates */
    if (k == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0;
    if (k == 4 && s[0] == 0xf4 && s[1] >= 0x90) return 0;
    if (k == 2 && s[0] == 0xc2 && s[1] < 0xa0) return 0; /* C1 controls */
    return k;
}

size_t tlp_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char HEX[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t w = 0;
#define PUT(c)                              \
    do {                                    \
        if (w + 1 < cap) out[w] = (char)(c); \
        w++;                                \
    } while (0)
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            PUT(c);
            i++;
        } else if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            PUT('\\');
            PUT(c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
            i++;
        } else if (c >= 0x80 && (k = utf8_len(u + i, n - i)) > 0) {
            for (size_t j = 0; j < k; j++) PUT(u[i + j]);
            i += k;
        } else {
            PUT('\\');
            PUT('x');
            PUT(HEX[c >> 4]);
            PUT(HEX[c & 15]);
            i++;
        }
    }
#undef PUT
    if (cap) out[w < cap ? w : cap - 1] = 0;
    return w;
}

void tlp_clean_name(char *s)
{
    unsigned char *u = (unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = u[i] >= 0x80 ? utf8_len(u + i, n - i) : u[i] >= 0x20 && u[i] != 0x7f;
        if (k == 0) u[i++] = '_';
        else i += k;
    }
}

char *tlp_escape_dup(const char *s)
{
    size_t n = strlen(s), need = tlp_escape(NULL, 0, s, n) + 1;
    char *out = malloc(need);
    if (out) tlp_escape(out, need, s, n);
    return out;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void tlp_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1]) {
            char c = r[1];
            if (c == 't' || c == 'n' || c == 'r' || c == '\\') {
                *w++ = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
                r += 2;
                continue;
            }
            if (c == 'x' && hexval(r[2]) >= 0 && hexval(r[3]) >= 0) {
                *w++ = (char)(hexval(r[2]) * 16 + hexval(r[3]));
                r += 4;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = 0;
}
