/* bert_config.c: what a Hugging Face folder says about the model:
 * config.json (sizes, activation, positions), and for sentence-transformers
 * models modules.json, the Pooling module's config.json and
 * sentence_bert_config.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"
#include "file.h"

/* A config file of a model folder is small; a huge one is not one. */
#define BERT_CONFIG_MAX (16u << 20)

char *bert_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return p;
}

json_value *bert_read_json(const char *dir, const char *name, arena *a, int optional, bf_error *err)
{
	char *path = bert_join(dir, name);
	if (!path) {
		bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
		return NULL;
	}
	size_t len;
	char *buf;
	int rc = bf_read_whole(path, name, BERT_CONFIG_MAX, optional, BF_EMODEL, &buf, &len, err);
	if (!rc && !buf && !optional)
		rc = bf_err_set(err, BF_EMODEL, path, 0, 0, "cannot open: the model folder needs %s", name);
	if (rc || !buf) {
		free(path);
		return NULL;
	}
	json_value *v = NULL;
	json_error jerr;
	char *copy = arena_alloc(a, len + 1);
	if (!copy) {
		bf_err_set(err, BF_ENOMEM, path, 0, 0, "out of memory");
	} else {
		memcpy(copy, buf, len);
		if (json_parse(copy, len, a, &v, &jerr) < 0) {
			bf_err_set(err, BF_EMODEL, path, jerr.line, jerr.column, "%s", jerr.message);
			v = NULL;
		}
	}
	free(buf);
	free(path);
	return v;
}

static int cfg_int(const json_value *cfg, const char *key, size_t *out, size_t def)
{
	const json_value *v = json_get(cfg, key);
	if (!v) {
		*out = def;
		return def ? 0 : -1;
	}
	if (v->type != JSON_NUMBER || v->u.number < 1 || v->u.number > 1e8 || v->u.number != floor(v->u.number))
		return -1;
	*out = (size_t)v->u.number;
	return 0;
}

int bert_read_config(bert *B, const json_value *cfg, const char *dir, bf_error *err)
{
	char *cfg_path = bert_join(dir, "config.json");
	if (!cfg_path)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	int rc = BF_OK;
	const json_value *act = json_get(cfg, "hidden_act");
	const json_value *pet = json_get(cfg, "position_embedding_type");
	const json_value *eps = json_get(cfg, "layer_norm_eps");
	if (cfg_int(cfg, "hidden_size", &B->H, 0) || cfg_int(cfg, "num_hidden_layers", &B->L, 0) ||
	    cfg_int(cfg, "num_attention_heads", &B->heads, 0) || cfg_int(cfg, "intermediate_size", &B->inter, 0) ||
	    cfg_int(cfg, "vocab_size", &B->vocab, 0) || cfg_int(cfg, "max_position_embeddings", &B->max_pos, 512) ||
	    cfg_int(cfg, "type_vocab_size", &B->types, 2) || B->H % B->heads)
		rc = bf_err_set(err, BF_EMODEL, cfg_path, 0, 0,
				"needs hidden_size, num_hidden_layers, num_attention_heads (dividing hidden_size), "
				"intermediate_size and vocab_size as positive integers");
	else if ((act && (act->type != JSON_STRING || strcmp(act->u.string, "gelu") != 0)) ||
		 (pet && (pet->type != JSON_STRING || strcmp(pet->u.string, "absolute") != 0)))
		rc = bf_err_set(err, BF_EMODEL, cfg_path, 0, 0,
				"hidden_act must be \"gelu\" and position_embedding_type \"absolute\" (BERT)");
	B->eps = eps && eps->type == JSON_NUMBER ? (float)eps->u.number : 1e-12f;
	free(cfg_path);
	return rc;
}

/* The modes of sentence-transformers' Pooling config, and which binfer runs. */
static const struct {
	const char *key;
	int runs;
	bert_pool pool;
} pool_modes[] = {
	{"pooling_mode_cls_token", 1, BERT_POOL_CLS},
	{"pooling_mode_mean_tokens", 1, BERT_POOL_MEAN},
	{"pooling_mode_max_tokens", 1, BERT_POOL_MAX},
	{"pooling_mode_mean_sqrt_len_tokens", 0, 0},
	{"pooling_mode_weightedmean_tokens", 0, 0},
	{"pooling_mode_lasttoken", 0, 0},
};

/* The Pooling module's config (dir/sub/config.json): exactly one mode on,
 * one that binfer runs. */
static int read_pooling(bert *B, const char *dir, const char *sub, arena *a, bf_error *err)
{
	char name[512];
	snprintf(name, sizeof name, "%s/config.json", sub);
	json_value *pc = bert_read_json(dir, name, a, 0, err);
	if (!pc)
		return err ? err->code : BF_EMODEL;
	char *path = bert_join(dir, name);
	if (!path)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	char on[256] = "";
	size_t n_on = 0, o = 0;
	int runs = 0;
	for (size_t i = 0; i < sizeof pool_modes / sizeof *pool_modes; i++) {
		const json_value *v = json_get(pc, pool_modes[i].key);
		if (!v || v->type != JSON_TRUE)
			continue;
		o += (size_t)snprintf(on + o, o < sizeof on ? sizeof on - o : 0, "%s%s", n_on ? ", " : "",
				      pool_modes[i].key);
		n_on++;
		runs = pool_modes[i].runs;
		B->pool = pool_modes[i].pool;
	}
	int rc = BF_OK;
	if (n_on != 1 || !runs)
		rc = bf_err_set(err, BF_EMODEL, path, 0, 0,
				"pooling %s%s is not supported; binfer pools with exactly one of "
				"pooling_mode_mean_tokens, pooling_mode_cls_token or pooling_mode_max_tokens",
				n_on ? "mode " : "with no mode set", on);
	const json_value *dim = json_get(pc, "word_embedding_dimension");
	if (!rc && dim && (dim->type != JSON_NUMBER || dim->u.number != (double)B->H))
		rc = bf_err_set(err, BF_EMODEL, path, 0, 0,
				"word_embedding_dimension is not the model's hidden_size %zu", B->H);
	free(path);
	return rc;
}

int bert_read_sentence_config(bert *B, const char *dir, arena *a, int *has_st, bf_error *err)
{
	*has_st = 0;
	bf_error none = {0};
	json_value *modules = bert_read_json(dir, "modules.json", a, 1, &none);
	if (!modules) {
		if (!none.code)
			return BF_OK; /* not a sentence-transformers folder */
		if (err)
			*err = none;
		return none.code;
	}
	char *path = bert_join(dir, "modules.json");
	if (!path)
		return bf_err_set(err, BF_ENOMEM, dir, 0, 0, "out of memory");
	int rc = BF_OK;
	if (modules->type != JSON_ARRAY)
		rc = bf_err_set(err, BF_EMODEL, path, 0, 0, "expected a list of modules");
	*has_st = 1;
	for (uint32_t i = 0; !rc && modules->type == JSON_ARRAY && i < modules->len; i++) {
		const json_value *type = json_get(&modules->u.items[i], "type");
		const json_value *sub = json_get(&modules->u.items[i], "path");
		if (!type || type->type != JSON_STRING) {
			rc = bf_err_set(err, BF_EMODEL, path, 0, 0, "module %u has no \"type\" string", i);
			break;
		}
		const char *t = type->u.string, *dot = strrchr(t, '.');
		const char *base = dot ? dot + 1 : t;
		if (strcmp(base, "Normalize") == 0) {
			B->normalize = 1;
		} else if (strcmp(base, "Pooling") == 0) {
			if (!sub || sub->type != JSON_STRING)
				rc = bf_err_set(err, BF_EMODEL, path, 0, 0, "the Pooling module has no \"path\" string");
			else
				rc = read_pooling(B, dir, sub->u.string, a, err);
		} else if (strcmp(base, "Transformer") != 0) {
			rc = bf_err_set(err, BF_EMODEL, path, 0, 0,
					"module '%s' is not supported; binfer runs Transformer, Pooling and "
					"Normalize modules",
					t);
		}
	}
	free(path);
	if (rc)
		return rc;
	json_value *sb = bert_read_json(dir, "sentence_bert_config.json", a, 1, &none);
	if (!sb && none.code) {
		if (err)
			*err = none;
		return none.code;
	}
	const json_value *msl = json_get(sb, "max_seq_length");
	if (msl && msl->type == JSON_NUMBER && msl->u.number >= 2 && msl->u.number <= (double)B->max_pos)
		B->max_length = (size_t)msl->u.number;
	return BF_OK;
}
