/* utf8.h: UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef BF_UTF8_H
#define BF_UTF8_H

#include <stddef.h>

/* Returns len when s[0..len) is valid UTF-8, else the offset of the first bad byte. */
size_t utf8_check(const char *s, size_t len);
/* Length of the longest prefix of s[0..len) that ends on a character boundary
 * and is at most max bytes. */
size_t utf8_truncate(const char *s, size_t len, size_t max);

#endif
