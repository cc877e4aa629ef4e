/* SPDX-License-Identifier: MIT */
/* results.c - results.tsv back into a struct bench_run; see results.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "suites.h"
#include "variants.h"

/*
 * The columns bench_report_tsv() writes, in order. Files from before
 * --load have no load column: their samples are idle ones.
 */
enum col {
	C_SUITE, C_CELL, C_VARIANT, C_LOAD, C_ROUND, C_STATE,
	C_R_MIBS, C_R_IOPS, C_R_LAT, C_R_P99, C_W_MIBS, C_W_IOPS, C_W_LAT, C_W_P99,
	C_IOS, C_REQUESTS, C_WINDOW, C_CPU, C_RSS, C_TRANSPORT, C_ERROR, C_NCOLS,
};

/* Split line at tabs into fields[]; the last one may be empty. Returns the count. */
static int split_tabs(char *line, char *fields[], int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static struct bench_suite *find_suite(struct bench_run *run, const char *name)
{
	int i;

	for (i = 0; i < run->nsuites; i++)
		if (!strcmp(run->s[i].name, name))
			return &run->s[i];
	if (run->nsuites == BENCH_MAX_SUITES ||
	    bench_suite_build(&run->s[run->nsuites], name, false))
		return NULL;
	run->s[run->nsuites].run = true;
	return &run->s[run->nsuites++];
}

static struct bench_cell *find_cell(struct bench_suite *s, const char *id)
{
	int i;

	for (i = 0; i < s->ncells; i++)
		if (!strcmp(s->cells[i].id, id))
			return &s->cells[i];
	return NULL;
}

static int find_variant(const struct bench_run *run, const char *label)
{
	int v;

	for (v = 0; v < run->nvariants; v++)
		if (!strcmp(run->v[v].label, label))
			return v;
	return -1;
}

/*
 * The variants, built as the run built them: the filesystems are the first
 * words of the labels that are not native ("memfs io_uring"), in order.
 */
static int build_variants(struct bench_run *run, char *const labels[], int n, char *err,
			  size_t errlen)
{
	char list[256] = ",", name[32], needle[40];
	size_t used = 1;
	bool peers = false;
	int i;

	for (i = 0; i < n; i++) {
		if (!strncmp(labels[i], "native", 6))
			continue;
		peers |= strstr(labels[i], " libfuse io_uring") != NULL;
		bench_str(name, sizeof(name), "%.*s", (int)strcspn(labels[i], " "), labels[i]);
		bench_str(needle, sizeof(needle), ",%s,", name);
		if (!strstr(list, needle) && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s,", name);
	}
	if (used == 1) {
		bench_str(err, errlen, "no furi variant in the results");
		return -1;
	}
	/* ",memfs,nullfs," -> "memfs,nullfs," (strtok skips the empty ends). The
	 * source directory only shapes descriptions, which plots do not show;
	 * "" builds libfuse's peers without looking for their binaries. */
	return bench_variants_build(run, list + 1, "(source)", peers ? "" : NULL, NULL, NULL, 0,
				    err, errlen);
}

/* The index of load name in run->loads, added if new; -1 if unknown. */
static int find_load(struct bench_run *run, const char *name)
{
	int l;

	for (l = 0; l < run->nloads; l++)
		if (!strcmp(bench_load_name(run->loads[l]), name))
			return l;
	for (l = 0; l < BENCH_NLOAD_KINDS; l++) {
		if (strcmp(bench_load_name((enum bench_load)l), name))
			continue;
		if (run->nloads == BENCH_MAX_LOADS)
			return -1;
		run->loads[run->nloads] = (enum bench_load)l;
		return run->nloads++;
	}
	return -1;
}

static void take_sample(struct bench_sample *x, char *const f[])
{
	memset(x, 0, sizeof(*x));
	x->state = !strcmp(f[C_STATE], "ok") ? BENCH_OK : BENCH_FAILED;
	x->rw[0] = (struct bench_dir){ atof(f[C_R_MIBS]), atof(f[C_R_IOPS]), atof(f[C_R_LAT]),
				       atof(f[C_R_P99]) };
	x->rw[1] = (struct bench_dir){ atof(f[C_W_MIBS]), atof(f[C_W_IOPS]), atof(f[C_W_LAT]),
				       atof(f[C_W_P99]) };
	x->ios = atof(f[C_IOS]);
	x->requests = atof(f[C_REQUESTS]);
	x->window_s = atof(f[C_WINDOW]);
	x->cpu_s = atof(f[C_CPU]);
	x->rss_kb = atof(f[C_RSS]);
	bench_str(x->transport, sizeof(x->transport), "%s", f[C_TRANSPORT]);
	bench_str(x->err, sizeof(x->err), "%s", f[C_ERROR]);
}

/* Mount state as the samples show it; cells no sample reached are dropped. */
static void settle_suite(const struct bench_run *run, struct bench_suite *s)
{
	int i, v, r, l, kept = 0;

	for (v = 0; v < run->nvariants; v++) {
		const char *want = run->v[v].kind == BENCH_NATIVE ? "native" :
				   bench_kind_transport(run->v[v].kind);
		struct bench_mount *m = &s->m[v];

		m->verified = true;
		for (i = 0; i < s->ncells; i++) {
			for (l = 0; l < run->nloads; l++) {
				for (r = 0; r < run->rounds; r++) {
					const struct bench_sample *x = &s->cells[i].s[l][v][r];

					if (x->state == BENCH_NOT_RUN)
						continue;
					m->used = m->mounted = true;
					if (x->state != BENCH_OK || !want)
						continue;
					if (strcmp(x->transport, want)) {
						m->verified = false;
						m->fallen_back = run->v[v].kind == BENCH_URING &&
								 !strcmp(x->transport, "dev_fuse");
					}
				}
			}
		}
		m->verified &= m->used;
		bench_str(m->transport, sizeof(m->transport), "%s", want ? want : "");
	}
	for (i = 0; i < s->ncells; i++) {
		bool any = false;

		for (l = 0; l < run->nloads && !any; l++)
			for (v = 0; v < run->nvariants && !any; v++)
				for (r = 0; r < run->rounds && !any; r++)
					any = s->cells[i].s[l][v][r].state != BENCH_NOT_RUN;
		if (any && kept != i)
			s->cells[kept] = s->cells[i];
		kept += any;
	}
	s->ncells = kept;
}

int bench_results_read(FILE *f, struct bench_run *run, char *err, size_t errlen)
{
	char *line = NULL, *fields[C_NCOLS + 1], *labels[BENCH_MAX_VARIANTS];
	size_t cap = 0;
	long pos = ftell(f);
	int pass, lineno, n, nlabels = 0, i, rc = -1;

	/* Two passes: the variants first (from every label), then the samples. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (build_variants(run, labels, nlabels, err, errlen))
				goto out;
			fseek(f, pos, SEEK_SET);
		}
		lineno = 0;
		while (getline(&line, &cap, f) > 0) {
			struct bench_suite *s;
			struct bench_cell *c;
			int v, l, round;

			lineno++;
			if (line[0] == '#' || !strncmp(line, "suite\t", 6) || line[0] == '\n')
				continue;
			n = split_tabs(line, fields, C_NCOLS + 1);
			if (n == C_NCOLS - 1) {	/* no load column: idle */
				memmove(&fields[C_LOAD + 1], &fields[C_LOAD],
					(size_t)(C_NCOLS - 1 - C_LOAD) * sizeof(fields[0]));
				fields[C_LOAD] = (char *)"idle";
				n++;
			}
			if (n != C_NCOLS) {
				bench_str(err, errlen, "line %d: %d columns, expected %d", lineno, n,
					  C_NCOLS);
				goto out;
			}
			if (pass == 0) {
				for (i = 0; i < nlabels && strcmp(labels[i], fields[C_VARIANT]); i++)
					;
				if (i == nlabels && nlabels < BENCH_MAX_VARIANTS &&
				    !(labels[nlabels++] = strdup(fields[C_VARIANT]))) {
					bench_str(err, errlen, "out of memory");
					goto out;
				}
				continue;
			}
			s = find_suite(run, fields[C_SUITE]);
			c = s ? find_cell(s, fields[C_CELL]) : NULL;
			v = find_variant(run, fields[C_VARIANT]);
			l = find_load(run, fields[C_LOAD]);
			round = atoi(fields[C_ROUND]);
			if (!c || v < 0 || l < 0 || round < 1 || round > BENCH_MAX_ROUNDS) {
				bench_str(err, errlen, "line %d: unknown %s '%s'", lineno,
					  !s ? "suite" : !c ? "cell" : v < 0 ? "variant" :
					  l < 0 ? "load" : "round",
					  !s ? fields[C_SUITE] : !c ? fields[C_CELL] :
					  v < 0 ? fields[C_VARIANT] : l < 0 ? fields[C_LOAD] :
					  fields[C_ROUND]);
				goto out;
			}
			take_sample(&c->s[l][v][round - 1], fields);
			if (round > run->rounds)
				run->rounds = round;
		}
	}
	if (!run->nsuites) {
		bench_str(err, errlen, "no samples");
		goto out;
	}
	for (i = 0; i < run->nsuites; i++)
		settle_suite(run, &run->s[i]);
	rc = 0;
out:
	for (i = 0; i < nlabels; i++)
		free(labels[i]);
	free(line);
	return rc;
}
