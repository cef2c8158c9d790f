/* csv.c: RFC 4180 framing (fast, sequential) and field splitting; see csv.h.
 *
 * Framing rule: every quote byte toggles an in-quote state that starts out
 * off at the record start; a record ends at the first LF seen with the state
 * off. For well-formed RFC 4180 input this is exact whatever the delimiter
 * (csv_frame is not told it): a quoted field toggles on at its opening quote,
 * twice for each doubled quote, and off at its closing quote, so its LFs are
 * all inside. It needs no lookahead, which lets csv_frame work on 64-byte
 * blocks: one bit mask of quotes and one of LFs per block, and the in-quote
 * mask is the prefix XOR of the quote mask.
 *
 * The price: a quote inside an unquoted field (5"10), which csv_split takes
 * literally, toggles the framer's state too, so an odd number of such quotes
 * on a line carries the record on past its LF. csv_split notices (it meets an
 * LF outside a quoted field with an odd number of literal quotes before it)
 * and reports the stray quote, rather than handing on a merged record. */
#include "csv.h"

#include <stdio.h>
#include <string.h>

#if defined(__AVX2__) && !defined(CSV_PORTABLE)
#include <immintrin.h>
#define CSV_AVX2 1
#elif defined(__SSE2__) && !defined(CSV_PORTABLE)
#include <emmintrin.h>
#define CSV_SSE2 1
#endif
#if defined(__PCLMUL__) && defined(__SSE2__) && !defined(CSV_PORTABLE)
#include <wmmintrin.h>
#define CSV_CLMUL 1
#endif

/* ---- framing ---------------------------------------------------------- */

#if !defined(CSV_AVX2) && !defined(CSV_SSE2)
/* Bit i of the result is set when byte i of the 8 bytes at p equals c. */
static inline uint64_t csv_eq8(const unsigned char *p, unsigned char c)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t w;
	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	uint64_t x = w ^ (0x0101010101010101ULL * c);
	/* 0x80 in each byte of x that is zero, exactly (no borrow between bytes) */
	uint64_t z = ~(((x & lo7) + lo7) | x | lo7);
	return ((z >> 7) * 0x0102040810204080ULL) >> 56;
}
#endif

/* Bit i of the result is set when p[i] == c, for the 64 bytes at p. */
static inline uint64_t csv_eqmask(const unsigned char *p, unsigned char c)
{
#if defined(CSV_AVX2)
	const __m256i v = _mm256_set1_epi8((char)c);
	__m256i a = _mm256_loadu_si256((const __m256i *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(p + 32));
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, v)) |
	       (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, v)) << 32;
#elif defined(CSV_SSE2)
	const __m128i v = _mm_set1_epi8((char)c);
	uint64_t m = 0;
	for (int k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, v)) << (16 * k);
	}
	return m;
#else
	uint64_t m = 0;
	for (int k = 0; k < 8; k++)
		m |= csv_eq8(p + 8 * k, c) << (8 * k);
	return m;
#endif
}

/* The 64 bytes of buf[0..len) from base on: buf + base itself when they are
 * all there, else a zero-padded copy in tail (nothing past len is read).
 * *valid gets a bit for each byte below len. */
static inline const unsigned char *csv_block(const unsigned char *buf, size_t len,
					     size_t base, unsigned char tail[64],
					     uint64_t *valid)
{
	size_t n = len - base;
	if (n >= 64) {
		*valid = ~(uint64_t)0;
		return buf + base;
	}
	memset(tail, 0, 64);
	memcpy(tail, buf + base, n);
	*valid = ((uint64_t)1 << n) - 1;
	return tail;
}

/* Bit i of the result is the XOR of bits 0..i of x. */
static inline uint64_t csv_prefix_xor(uint64_t x)
{
#if defined(CSV_CLMUL)
	__m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x),
					 _mm_set1_epi8(-1), 0);
	return (uint64_t)_mm_cvtsi128_si64(r);
#else
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
#endif
}

/* The record's first line as a frame of its own, flagged: a quote opened
 * in it does not close in time (a stray quote), and reading goes on at the
 * next line. */
static int csv_first_line(const unsigned char *p, size_t first_lf, record_frame *out)
{
	out->len = first_lf > 0 && p[first_lf - 1] == '\r' ? first_lf - 1 : first_lf;
	out->next = first_lf + 1;
	out->newlines = 1;
	out->open_quote = 1;
	return 1;
}

int csv_frame(const char *buf, size_t len, int at_eof, char quote, uint32_t max_lines, record_frame *out)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint64_t inq = 0; /* all ones while inside quotes at a block start */
	size_t lfs = 0, first_lf = SIZE_MAX;
	out->open_quote = 0;

	for (size_t i = 0; i < len; i += 64) {
		unsigned char tail[64];
		uint64_t valid;
		const unsigned char *blk = csv_block(p, len, i, tail, &valid);
		uint64_t qm = csv_eqmask(blk, (unsigned char)quote) & valid;
		uint64_t lm = csv_eqmask(blk, '\n') & valid;

		/* without a branch on qm: records mixing quoted and plain fields
		 * would mispredict it */
		uint64_t in = csv_prefix_xor(qm) ^ inq;
		uint64_t ends = lm & ~in;
		inq = (uint64_t)0 - (in >> 63);
		if (lm && first_lf == SIZE_MAX)
			first_lf = i + (size_t)__builtin_ctzll(lm);
		if (ends) {
			unsigned b = (unsigned)__builtin_ctzll(ends);
			size_t pos = i + b;
			lfs += (size_t)__builtin_popcountll(lm & (((uint64_t)1 << b) - 1)) + 1;
			if (max_lines && lfs > max_lines)
				return csv_first_line(p, first_lf, out);
			out->len = pos > 0 && p[pos - 1] == '\r' ? pos - 1 : pos;
			out->next = pos + 1;
			out->newlines = lfs > UINT32_MAX ? UINT32_MAX : (uint32_t)lfs;
			return 1;
		}
		lfs += (size_t)__builtin_popcountll(lm);
		if (max_lines && lfs >= max_lines)
			return csv_first_line(p, first_lf, out);
	}

	if (!at_eof || len == 0)
		return 0;
	/* the end of the input inside a quote: a stray quote, unless the
	 * record is one line (csv_split reports the unterminated quote) */
	if (max_lines && inq && first_lf != SIZE_MAX)
		return csv_first_line(p, first_lf, out);
	out->len = len;
	out->next = len;
	out->newlines = lfs > UINT32_MAX ? UINT32_MAX : (uint32_t)lfs;
	return 1;
}

/* ---- splitting -------------------------------------------------------- */

/* Finds delimiters, quotes and LFs 64 bytes at a time in a record. */
typedef struct csv_scan {
	const unsigned char *p;
	size_t len;
	size_t base;    /* offset of the block the masks describe */
	uint64_t stops; /* bits of its delimiters, quotes and LFs */
	unsigned char delim, quote;
} csv_scan;

static void csv_scan_load(csv_scan *s, size_t base)
{
	unsigned char tail[64];
	uint64_t valid;
	const unsigned char *blk = csv_block(s->p, s->len, base, tail, &valid);
	s->base = base;
	s->stops = (csv_eqmask(blk, s->delim) | csv_eqmask(blk, s->quote) |
		    csv_eqmask(blk, '\n')) & valid;
}

/* Offset of the first delimiter, quote or LF at or after pos (which never
 * goes back), or len when there is none. */
static inline size_t csv_scan_next(csv_scan *s, size_t pos)
{
	for (;;) {
		if (pos - s->base >= 64) {
			if (pos >= s->len)
				return s->len;
			csv_scan_load(s, pos & ~(size_t)63);
		}
		unsigned off = (unsigned)(pos - s->base);
		uint64_t m = s->stops >> off << off;
		if (m)
			return s->base + (size_t)__builtin_ctzll(m);
		pos = s->base + 64;
	}
}

/* Writes c as it should appear in a message: 'x', '\t', '\x01'. */
static void csv_char_name(char c, char *out, size_t size)
{
	unsigned char u = (unsigned char)c;
	switch (c) {
	case '\t': snprintf(out, size, "'\\t'"); break;
	case '\r': snprintf(out, size, "'\\r'"); break;
	case '\n': snprintf(out, size, "'\\n'"); break;
	case '\'': snprintf(out, size, "'\\''"); break;
	case '\\': snprintf(out, size, "'\\\\'"); break;
	default:
		if (u >= 0x20 && u < 0x7f)
			snprintf(out, size, "'%c'", c);
		else
			snprintf(out, size, "'\\x%02x'", u);
	}
}

static int64_t csv_fail(csv_error *err, size_t offset, const char *msg)
{
	if (err) {
		err->offset = offset;
		snprintf(err->message, sizeof err->message, "%s", msg);
	}
	return -1;
}

/* Records without a quote (most of them) split on delimiters alone: one
 * pass of 32-byte compares, then one field per set bit, written as a
 * csv_field (fields) or as the offset of its end (ends, when not NULL).
 * Returns -1 when the record holds a quote, for the general path. */
static inline __attribute__((always_inline)) int64_t
csv_split_plain(const char *rec, size_t len, char delim, char quote, csv_field *fields, uint32_t *ends,
		size_t max_fields)
{
	int64_t n = 0;
	size_t start = 0, i = 0;
#define CSV_FIELD_AT(pos)                                                                          \
	do {                                                                                       \
		if ((size_t)n < max_fields) {                                                      \
			if (ends)                                                                  \
				ends[n] = (uint32_t)(pos);                                         \
			else                                                                       \
				fields[n] = (csv_field){rec + start, (uint32_t)((pos) - start), 0}; \
		}                                                                                  \
		n++;                                                                               \
		start = (pos) + 1;                                                                 \
	} while (0)
#if defined(CSV_AVX2)
	const __m256i vd = _mm256_set1_epi8(delim), vq = _mm256_set1_epi8(quote);
	for (; i + 32 <= len; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(rec + i));
		if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vq)))
			return -1;
		uint32_t mask = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vd));
		while (mask) {
			CSV_FIELD_AT(i + (size_t)__builtin_ctz(mask));
			mask &= mask - 1;
		}
	}
#endif
	for (; i < len; i++) {
		if (rec[i] == quote)
			return -1;
		if (rec[i] == delim)
			CSV_FIELD_AT(i);
	}
	CSV_FIELD_AT(len);
#undef CSV_FIELD_AT
	return n;
}

int64_t csv_ends(const char *rec, size_t len, char delim, char quote, uint32_t *ends, size_t max)
{
	if (delim == quote || len > UINT32_MAX)
		return -1;
	if (len && rec[len - 1] == '\r')
		len--;
	return csv_split_plain(rec, len, delim, quote, NULL, ends, max);
}

int64_t csv_split(const char *rec, size_t len, char delim, char quote,
		  csv_field *fields, size_t max_fields, char *scratch, csv_error *err)
{
	if (delim == quote)
		return csv_fail(err, 0, "delimiter and quote are the same character");
	if (len && rec[len - 1] == '\r')
		len--;
	if (len <= UINT32_MAX) {
		int64_t n = csv_split_plain(rec, len, delim, quote, fields, NULL, max_fields);
		if (n >= 0)
			return n;
	}

	size_t pos = 0, sp = 0; /* sp: bytes of scratch used */
	size_t stray_at = 0;    /* offset of the last literal quote */
	int stray = 0;          /* parity of literal quotes so far */
	int64_t n = 0;
	csv_scan s = {.p = (const unsigned char *)rec, .len = len,
		      .delim = (unsigned char)delim, .quote = (unsigned char)quote};
	csv_scan_load(&s, 0);

	for (;;) {
		csv_field f;
		size_t flen, fstart = pos;
		if (pos < len && rec[pos] == quote) {
			size_t open = pos, seg = ++pos;
			char *dst = NULL; /* set once a doubled quote needs unescaping */
			for (;;) {
				const char *q = memchr(rec + pos, quote, len - pos);
				if (!q)
					return csv_fail(err, open, "unterminated quoted field");
				size_t qp = (size_t)(q - rec);
				if (qp + 1 < len && rec[qp + 1] == quote) {
					if (!dst)
						dst = scratch + sp;
					memcpy(scratch + sp, rec + seg, qp + 1 - seg);
					sp += qp + 1 - seg;
					pos = seg = qp + 2;
					continue;
				}
				if (dst) {
					memcpy(scratch + sp, rec + seg, qp - seg);
					sp += qp - seg;
					f.ptr = dst;
					flen = (size_t)(scratch + sp - dst);
				} else {
					f.ptr = rec + open + 1;
					flen = qp - open - 1;
				}
				pos = qp + 1;
				break;
			}
			if (pos < len && rec[pos] != delim) {
				char d[8], c[8], msg[160];
				csv_char_name(delim, d, sizeof d);
				csv_char_name(rec[pos], c, sizeof c);
				snprintf(msg, sizeof msg, "expected delimiter %s or end of record "
					 "after closing quote, found %s", d, c);
				return csv_fail(err, pos, msg);
			}
			f.quoted = 1;
		} else {
			for (;;) {
				pos = csv_scan_next(&s, pos);
				if (pos >= len || rec[pos] == delim)
					break;
				if (rec[pos] == quote) {
					stray ^= 1;
					stray_at = pos;
				} else if (stray) { /* an LF the framer took as quoted */
					return csv_fail(err, stray_at,
							"quote inside an unquoted field carries the record "
							"past a line break; expected the field quoted and "
							"the quote doubled");
				}
				pos++;
			}
			f.ptr = rec + fstart;
			flen = pos - fstart;
			f.quoted = 0;
		}
		if (flen > UINT32_MAX)
			return csv_fail(err, fstart, "field longer than 4 GiB");
		f.len = (uint32_t)flen;
		if ((size_t)n < max_fields)
			fields[n] = f;
		n++;
		if (pos >= len)
			return n;
		pos++; /* the delimiter */
	}
}
