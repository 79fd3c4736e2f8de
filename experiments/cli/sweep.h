/* sweep.h: sweeps, the grid of runs a config's [sweep] section spans.
 *
 *   [sweep]
 *   train.lr = 0.1, 0.05          ; an axis: section.key = v1, v2, ...
 *   model.arch = small, resnet20
 *   quant.layer_bits = 4,4,8 | 2,2,8   ; '|' separates values holding commas
 *   zip = quant.w_bits, quant.a_bits   ; these axes advance together
 *
 * Points are the Cartesian product of the axes, the first axis varying
 * slowest; the axes named by one `zip` line (several zip groups: separate
 * them with '|') have equal lengths and form one dimension, placed where its
 * first axis stands. A point is the base config plus one `--set
 * section.key=value` per axis, and lives in OUT/<hash>/, hash being a short
 * FNV-1a of its resolved config (every key rendered, less [experiment] name
 * and out_dir, which say where, label and group, which name it in reports,
 * and the [eval] grid keys and reference, which say what is measured after
 * training: `qadapt eval` may change them on a finished point without
 * making it another point). The config engine
 * skips [sweep] (schema.c lists it as a foreign section); this file reads it.
 *
 * The sweep runs each point as a child process `qadapt run CONFIG --set ...
 * --set experiment.name=<hash> --out OUT` (sweep_exec.c), skipping points
 * whose run file is complete and holds the same config, retrying a failed
 * point once, and keeps OUT/index.csv: one row per point with its hash,
 * axis values, status and headline metrics. Under mpirun the points are
 * spread over the job's ranks, --jobs on each (sweep_exec.h says how).
 *
 * Deliberately not here: the run itself (run.c), argument parsing
 * (cmd_sweep.c), reading run files (runfile.h). */
#ifndef EXP_SWEEP_H
#define EXP_SWEEP_H

#include <signal.h>
#include <stdio.h>

#include "experiments/cli/schema.h"
#include "nn/status.h"

#define EXP_SWEEP_MAX_AXES 16
#define EXP_SWEEP_MAX_VALUES 64
#define EXP_SWEEP_VALUE_LEN 256
#define EXP_SWEEP_HASH_LEN 10 /* hex digits of a point's folder name */
#define EXP_SWEEP_MAX_POINTS 100000

typedef struct {
    char key[128]; /* section.key */
    int line;      /* where it was set in the config */
    int nvalues;
    char values[EXP_SWEEP_MAX_VALUES][EXP_SWEEP_VALUE_LEN];
    int dim;       /* the dimension it belongs to (zipped axes share one) */
} exp_sweep_axis;

typedef struct {
    char file[512];
    int line;  /* of the [sweep] header, 0 when the file has none */
    int naxes;
    exp_sweep_axis axes[EXP_SWEEP_MAX_AXES];
    int ndims;
    int dim_len[EXP_SWEEP_MAX_AXES]; /* values along each dimension */
    long npoints;                    /* product of dim_len, 1 without axes */
} exp_sweep_spec;

typedef enum {
    EXP_POINT_PENDING,     /* not run (yet) */
    EXP_POINT_COMPLETE,    /* run file complete */
    EXP_POINT_FAILED,      /* failed twice, or its run file says failed */
    EXP_POINT_INTERRUPTED, /* stopped by a signal */
} exp_point_status;

/* Headline metrics of a point's run file (NaN when absent). */
typedef struct {
    double test_acc, test_loss, bitops, seconds;
    double grid_acc, mce, rel_mce; /* /eval/grid: mean corrupted accuracy, mCE */
} exp_point_metrics;

typedef struct {
    char hash[EXP_SWEEP_HASH_LEN + 1];
    int value[EXP_SWEEP_MAX_AXES]; /* index of each axis's value */
    int status;                    /* exp_point_status */
    int attempts;                  /* child processes started for it by this sweep */
    int rank;                      /* of the MPI job, where it last started */
    int skipped;                   /* complete before this sweep started */
    exp_point_metrics m;
} exp_sweep_point;

/* Reads the [sweep] section of the file at path (spec->line = 0 when there
 * is none) and checks every axis names a known key of exp_schema, not
 * experiment.name/out_dir, and zip groups. Errors name file:line. */
int exp_sweep_parse(exp_sweep_spec *spec, const char *path, qa_err *err);

/* The --set arguments of point p (0 <= p < npoints): "key=value" into
 * sets[0..naxes), each of size EXP_SWEEP_VALUE_LEN + 128; its value
 * indices into value (may be NULL). */
void exp_sweep_point_sets(const exp_sweep_spec *spec, long p, char (*sets)[EXP_SWEEP_VALUE_LEN + 128],
                          int *value);

/* Short hash of resolved INI text (as cfg_render writes it): FNV-1a 64 of
 * every line but [experiment] name, out_dir, threads, label and group
 * (results do not depend on them) and [eval] grid* and reference, as 10
 * hex digits. */
void exp_sweep_hash_text(const char *ini, char out[EXP_SWEEP_HASH_LEN + 1]);
/* The same of a loaded config. */
int exp_sweep_hash_config(exp_config *c, char out[EXP_SWEEP_HASH_LEN + 1], qa_err *err);

/* Resolves every point of spec: loads the config with the user's sets then
 * the point's (an error names the [sweep] line), hashes it; points with the
 * hash of an earlier point are dropped (*npoints says how many are left).
 * The user's sets may not name an axis key. pts: spec->npoints entries. */
int exp_sweep_resolve(const exp_sweep_spec *spec, char *const *sets, int nsets,
                      exp_sweep_point *pts, long *npoints, qa_err *err);

/* A point's status and metrics from dir/<hash>/run.h5; complete only when
 * the file says so and its config hashes to the point's hash. */
void exp_sweep_read_point(const char *dir, exp_sweep_point *pt);

/* Writes dir/index.csv (through a temporary file and rename). */
int exp_sweep_write_index(const char *dir, const exp_sweep_spec *spec,
                          const exp_sweep_point *pts, long npoints, qa_err *err);

const char *exp_point_status_name(int status);

/* For qadapt run: a note on f when the config at path has [sweep] axes,
 * which a run ignores (it trains the base config). */
void exp_sweep_note(const char *path, FILE *f);

typedef struct {
    const char *config;     /* the sweep config */
    char *const *sets;      /* the user's --set arguments */
    int nsets;
    const char *out_dir;    /* NULL: [experiment] out_dir / name */
    int jobs;               /* points run at once (on each rank), >= 1 */
    const char *exe;        /* the qadapt binary; NULL: /proc/self/exe */
    volatile sig_atomic_t *stop; /* raised by SIGINT/SIGTERM (cmd_sweep.c) */
    FILE *progress;         /* progress lines, NULL: quiet */
} exp_sweep_opts;

typedef struct {
    char dir[1024];   /* the sweep folder */
    long points, complete, skipped, failed, interrupted, pending;
    double seconds;
} exp_sweep_result;

/* The whole sweep: parse, resolve, run what is not complete, write the
 * index. Returns 0 when it ran to the end (failed points are counted in
 * res, not an error), QA_ERR_INTERRUPTED when stopped by a signal. */
int exp_sweep_run(const exp_sweep_opts *o, exp_sweep_result *res, qa_err *err);

#endif
