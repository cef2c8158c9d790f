/* report.c: report.json and the stderr summary; see report.h. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "record.h"
#include "sink.h"

static double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void report_counts_add(report_counts *a, const report_counts *b)
{
	a->scored += b->scored;
	a->rejected += b->rejected;
	for (int k = 0; k < ROWS_N_REASONS; k++)
		a->by[k] += b->by[k];
	a->text_bytes += b->text_bytes;
	a->tokens += b->tokens;
	a->truncated += b->truncated;
	a->len_sq += b->len_sq;
	a->t_parse += b->t_parse;
	a->t_compute += b->t_compute;
	a->t_format += b->t_format;
}

void report_begin(report *r, const job_spec *spec)
{
	memset(r, 0, sizeof *r);
	snprintf(r->job, sizeof r->job, "%s", spec->name ? spec->name : "");
	snprintf(r->version, sizeof r->version, "%s", BF_VERSION);
	r->start_unix = wall_clock();
	snprintf(r->model_kind, sizeof r->model_kind, "%s", spec->model.kind);
	snprintf(r->model_path, sizeof r->model_path, "%s", spec->model.path);
	snprintf(r->input_path, sizeof r->input_path, "%s", spec->input.path);
	snprintf(r->input_format, sizeof r->input_format, "%s", record_format_get(spec->input.format)->name);
	snprintf(r->output_path, sizeof r->output_path, "%s", spec->output.path);
	snprintf(r->output_format, sizeof r->output_format, "%s", record_format_get(spec->output.format)->name);
	const char *rej = spec->rejects.path;
	snprintf(r->rejects_path, sizeof r->rejects_path, "%s", rej && strcmp(rej, "none") ? rej : "");
	r->max_ratio = spec->rejects.max_ratio;
	r->usd_per_hour = spec->cost.usd_per_hour;
	r->input_size = -1;
}

void report_setup(report *r, const model *m, int threads, size_t batch_rows, int input_zstd, int64_t input_size)
{
	snprintf(r->model_sha256, sizeof r->model_sha256, "%s", m->sha256);
	r->model_params = m->n_params;
	r->threads = threads;
	r->blas_threads = 1;
	r->batch_rows = batch_rows;
	r->text_model = m->text_input;
	r->input_zstd = input_zstd;
	r->input_size = input_size;
}

void report_add_batch(report *r, uint64_t rows, const report_counts *c, double flops, double latency_ms)
{
	r->batches++;
	r->rows_read += rows;
	r->output_bytes_raw += c->text_bytes;
	r->tokens += c->tokens;
	r->truncated_rows += c->truncated;
	r->model_flops += flops;
	r->rows_scored += c->scored;
	r->rows_rejected += c->rejected;
	for (int k = 0; k < ROWS_N_REASONS; k++)
		r->rejected_by[k] += c->by[k];
	r->t_parse_s += c->t_parse;
	r->t_compute_s += c->t_compute;
	r->t_format_s += c->t_format;
	report_add_latency(r, latency_ms);
}

void report_input(report *r, uint64_t bytes_in, uint64_t bytes_raw, double wall_s)
{
	r->input_bytes = bytes_in;
	r->input_bytes_raw = bytes_raw;
	r->wall_s = wall_s;
}

void report_end(report *r, double t_read, double t_write, uint64_t header_bytes, uint64_t output_bytes,
		uint64_t rejects_bytes, double wall_s)
{
	r->rejects_bytes = rejects_bytes;
	r->output_bytes_raw += header_bytes;
	r->rows_written = r->rows_scored;
	r->t_read_s = t_read;
	r->t_write_s = t_write;
	r->output_bytes = output_bytes;
	r->end_unix = wall_clock();
	r->wall_s = wall_s;
}

void report_add_latency(report *r, double ms)
{
	double us = ms * 1000;
	int b = us <= 1 ? 0 : (int)ceil(log(us) / log(1.01));
	if (b >= REPORT_LAT_BUCKETS)
		b = REPORT_LAT_BUCKETS - 1;
	r->lat_hist[b]++;
	if (ms > r->lat_max_ms)
		r->lat_max_ms = ms;
}

double report_latency_ms(const report *r, double q)
{
	uint64_t total = 0, seen = 0;
	for (int b = 0; b < REPORT_LAT_BUCKETS; b++)
		total += r->lat_hist[b];
	if (!total)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)total);
	if (want == 0)
		want = 1;
	for (int b = 0; b < REPORT_LAT_BUCKETS; b++) {
		seen += r->lat_hist[b];
		if (seen >= want) {
			double ms = pow(1.01, b) / 1000;
			return ms < r->lat_max_ms ? ms : r->lat_max_ms;
		}
	}
	return r->lat_max_ms;
}

static void put_str(FILE *f, const char *s)
{
	size_t len = strlen(s);
	char *buf = malloc(6 * len + 3);
	if (!buf) {
		fputs("null", f);
		return;
	}
	size_t n = json_escape(buf, s, len);
	fwrite(buf, 1, n, f);
	free(buf);
}

static void put_time(FILE *f, double unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[64];
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"%s.%03dZ\"", buf, (int)((unix_s - floor(unix_s)) * 1000));
}

/* Prints a number as JSON (non-finite -> null). */
static void put_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static char *render(const report *r, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		return NULL;
	double wall = r->wall_s > 0 ? r->wall_s : 1e-9;
	double run_usd = r->usd_per_hour * r->wall_s / 3600;
	fprintf(f, "{\n  \"job\": ");
	put_str(f, r->job);
	fprintf(f, ",\n  \"binfer_version\": ");
	put_str(f, r->version);
	fprintf(f, ",\n  \"start\": ");
	put_time(f, r->start_unix);
	fprintf(f, ",\n  \"end\": ");
	put_time(f, r->end_unix);
	fprintf(f, ",\n  \"wall_s\": ");
	put_num(f, r->wall_s);
	fprintf(f, ",\n  \"model\": {\"kind\": ");
	put_str(f, r->model_kind);
	fprintf(f, ", \"path\": ");
	put_str(f, r->model_path);
	fprintf(f, ", \"sha256\": \"%s\", \"parameters\": %llu},\n", r->model_sha256,
		(unsigned long long)r->model_params);
	fprintf(f, "  \"input\": {\"path\": ");
	put_str(f, r->input_path);
	fprintf(f, ", \"format\": \"%s\", \"zstd\": %s, \"bytes\": %llu, \"bytes_uncompressed\": %llu, "
		   "\"rows_read\": %llu},\n",
		r->input_format, r->input_zstd ? "true" : "false", (unsigned long long)r->input_bytes,
		(unsigned long long)r->input_bytes_raw, (unsigned long long)r->rows_read);
	fprintf(f, "  \"output\": {\"path\": ");
	put_str(f, r->output_path);
	fprintf(f, ", \"format\": \"%s\", \"rows_written\": %llu, \"bytes_uncompressed\": %llu, "
		   "\"bytes\": %llu},\n",
		r->output_format, (unsigned long long)r->rows_written, (unsigned long long)r->output_bytes_raw,
		(unsigned long long)r->output_bytes);
	fprintf(f, "  \"rows\": {\"read\": %llu, \"scored\": %llu, \"rejected\": %llu, \"balanced\": %s},\n",
		(unsigned long long)r->rows_read, (unsigned long long)r->rows_scored,
		(unsigned long long)r->rows_rejected,
		r->rows_read == r->rows_scored + r->rows_rejected ? "true" : "false");
	fprintf(f, "  \"rejects\": {\"path\": ");
	if (r->rejects_path[0])
		put_str(f, r->rejects_path);
	else
		fputs("null", f);
	fprintf(f, ", \"rows\": %llu, \"bytes\": %llu, \"max_ratio\": ", (unsigned long long)r->rows_rejected,
		(unsigned long long)r->rejects_bytes);
	put_num(f, r->max_ratio);
	fprintf(f, ", \"by_reason\": {");
	int first = 1;
	for (int k = 1; k < ROWS_N_REASONS; k++)
		if (r->rejected_by[k]) {
			fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", rows_reason_name[k],
				(unsigned long long)r->rejected_by[k]);
			first = 0;
		}
	fprintf(f, "}},\n");
	fprintf(f, "  \"throughput\": {\"rows_per_s\": ");
	put_num(f, (double)r->rows_read / wall);
	fprintf(f, ", \"input_mb_per_s\": ");
	put_num(f, (double)r->input_bytes_raw / 1e6 / wall);
	if (r->text_model) {
		fprintf(f, ", \"tokens_per_s\": ");
		put_num(f, (double)r->tokens / wall);
	}
	fprintf(f, "},\n");
	if (r->text_model) {
		/* binfer packs texts end to end: every computed token is a real one */
		fprintf(f, "  \"text\": {\"tokens\": %llu, \"truncated_rows\": %llu, \"padding_efficiency\": 1",
			(unsigned long long)r->tokens, (unsigned long long)r->truncated_rows);
		if (r->model_flops > 0) {
			fprintf(f, ", \"model_gflop\": ");
			put_num(f, r->model_flops / 1e9);
			fprintf(f, ", \"gflop_per_s_compute\": ");
			/* over the compute seconds per thread: the rate of all threads together */
			double per_thread = r->t_compute_s / (r->threads > 0 ? r->threads : 1);
			put_num(f, per_thread > 0 ? r->model_flops / 1e9 / per_thread : 0);
		}
		fprintf(f, "},\n");
	}
	fprintf(f, "  \"batches\": {\"count\": %llu, \"rows\": %zu, \"latency_ms\": {\"p50\": ",
		(unsigned long long)r->batches, r->batch_rows);
	put_num(f, report_latency_ms(r, 0.50));
	fprintf(f, ", \"p95\": ");
	put_num(f, report_latency_ms(r, 0.95));
	fprintf(f, ", \"p99\": ");
	put_num(f, report_latency_ms(r, 0.99));
	fprintf(f, ", \"max\": ");
	put_num(f, r->lat_max_ms);
	fprintf(f, "}},\n  \"time_s\": {\"read\": ");
	put_num(f, r->t_read_s);
	fprintf(f, ", \"parse\": ");
	put_num(f, r->t_parse_s);
	fprintf(f, ", \"compute\": ");
	put_num(f, r->t_compute_s);
	fprintf(f, ", \"format\": ");
	put_num(f, r->t_format_s);
	fprintf(f, ", \"write\": ");
	put_num(f, r->t_write_s);
	fprintf(f, "},\n  \"threads\": {\"compute\": %d, \"blas\": %d, \"reader\": 1, \"writer\": 1},\n",
		r->threads, r->blas_threads);
	fprintf(f, "  \"cost\": {\"usd_per_hour\": ");
	put_num(f, r->usd_per_hour);
	fprintf(f, ", \"run_usd\": ");
	put_num(f, run_usd);
	fprintf(f, ", \"usd_per_1k_rows\": ");
	put_num(f, r->rows_read ? run_usd * 1e3 / (double)r->rows_read : 0);
	fprintf(f, ", \"usd_per_1m_rows\": ");
	put_num(f, r->rows_read ? run_usd * 1e6 / (double)r->rows_read : 0);
	fprintf(f, "}\n}\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int report_write(const report *r, sink *s, bf_error *err)
{
	size_t len;
	char *text = render(r, &len);
	if (!text)
		return bf_err_set(err, BF_ENOMEM, "", 0, 0, "out of memory");
	int rc = sink_write(s, text, len, err);
	free(text);
	return rc;
}

/* A name for the terminal: control bytes (an escape sequence) as \xNN. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t o = 0;
	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		o += (size_t)(c < 0x20 || c == 0x7f ? snprintf(buf + o, size - o, "\\x%02x", c)
						   : snprintf(buf + o, size - o, "%c", c));
	}
	buf[o] = '\0';
	return buf;
}

void report_lost(const report *r, FILE *f)
{
	if (r->rows_rejected && !r->rejects_path[0])
		fprintf(f, "binfer: %llu rejected rows were not kept: rejects.path is none (the default when writing "
			   "to a stream); set it to keep them\n",
			(unsigned long long)r->rows_rejected);
}

void report_summary(const report *r, FILE *f)
{
	char a[1100], b[1100];
	double wall = r->wall_s > 0 ? r->wall_s : 1e-9;
	fprintf(f, "binfer: %s: %llu rows read, %llu scored, %llu rejected in %.2f s (%.0f rows/s, %.1f MB/s)\n",
		shown(r->job, a, sizeof a), (unsigned long long)r->rows_read, (unsigned long long)r->rows_scored,
		(unsigned long long)r->rows_rejected, r->wall_s, (double)r->rows_read / wall,
		(double)r->input_bytes_raw / 1e6 / wall);
	if (r->text_model)
		fprintf(f, "binfer: %llu tokens (%.0f tokens/s), %llu texts truncated\n", (unsigned long long)r->tokens,
			(double)r->tokens / wall, (unsigned long long)r->truncated_rows);
	fprintf(f, "binfer: batch latency p50 %.2f ms, p99 %.2f ms; %d threads; output %s (%.1f MB)\n",
		report_latency_ms(r, 0.5), report_latency_ms(r, 0.99), r->threads, shown(r->output_path, a, sizeof a),
		(double)r->output_bytes / 1e6);
	if (r->usd_per_hour > 0) {
		double run_usd = r->usd_per_hour * r->wall_s / 3600;
		fprintf(f, "binfer: cost $%.6f at $%.4g/h ($%.6f per 1M rows)\n", run_usd, r->usd_per_hour,
			r->rows_read ? run_usd * 1e6 / (double)r->rows_read : 0);
	}
	if (r->rows_rejected && r->rejects_path[0])
		fprintf(f, "binfer: rejected rows are in %s\n", shown(r->rejects_path, b, sizeof b));
	report_lost(r, f);
}
