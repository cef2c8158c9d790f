/* csv_fuzz.c: libFuzzer target for CSV framing and splitting: records
 * framed from any input tile it exactly; each splits (or fails with an
 * offset inside it); the quick split of quote-free records agrees with the
 * full one.
 *
 * corpus: testdata/fuzz/csv testdata/fixtures/csv-spectrum/csvs
 * max_len: 65536 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char delim = size && (data[0] == ';' || data[0] == '\t') ? (char)data[0] : ',';
	char *scratch = malloc(size + 1);
	if (!scratch)
		return 0;
	size_t pos = 0;
	record_frame f;
	while (pos < size && csv_frame(buf + pos, size - pos, 1, '"', size % 7, &f)) {
		if (f.next == 0 || f.len > f.next || pos + f.next > size)
			abort();
		csv_field fields[MAX_FIELDS];
		uint32_t ends[MAX_FIELDS];
		csv_error e;
		int64_t n = csv_split(buf + pos, f.len, delim, '"', fields, MAX_FIELDS, scratch, &e);
		if (n < 0 && e.offset > f.len)
			abort();
		int64_t q = csv_ends(buf + pos, f.len, delim, '"', ends, MAX_FIELDS);
		if (q >= 0) {
			/* no quote in the record: the same fields either way */
			if (n != q)
				abort();
			for (int64_t k = 0; k < n && k < MAX_FIELDS; k++) {
				uint32_t start = k ? ends[k - 1] + 1 : 0;
				if (fields[k].len != ends[k] - start || memcmp(fields[k].ptr, buf + pos + start, fields[k].len))
					abort();
			}
		}
		pos += f.next;
	}
	free(scratch);
	return 0;
}
