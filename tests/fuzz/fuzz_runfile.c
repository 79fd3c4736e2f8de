/* fuzz_runfile.c: a run file built from the input (fuzz_h5.h) through the
 * readers behind qadapt report, qadapt sweep and qadapt eval:
 * exp_report_run and exp_report_grid (printing to /dev/null),
 * exp_sweep_read_point (the file as a point's run.h5) and the config a
 * run file stores read back as qadapt eval reads it. Input: the root's
 * attributes (each present or not, of a chosen type), /config (absent,
 * the input's text, or the defaults' text), /train/epochs and /eval/grid
 * (fuzz_h5_table) with the grid's attributes, then perhaps a cut.
 * Each reader must answer 0 or a negative status with a message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiments/cli/report.h"
#include "experiments/cli/schema.h"
#include "experiments/cli/sweep.h"
#include "experiments/io/runfile.h"
#include "fuzz_h5.h"

static const char *const ROOT_ATTRS[] = {"status", "error", "qadapt_version", "git_revision",
                                         "start_time", "end_time", "epochs_completed",
                                         "seconds", "test_acc", "test_loss", NULL};
static const char *const EPOCH_COLS[] = {"epoch", "train_loss", "train_acc", "test_loss",
                                         "test_acc", "lr", "bitops", "bitops_vs_fp32",
                                         "seconds", "img_per_s", NULL};
static const char *const GRID_COLS[] = {"corruption", "corruption_id", "severity", "accuracy",
                                        NULL};
static const char *const GRID_ATTRS[] = {"mce", "rel_mce", "reference", "clean_bitops",
                                         "mean_corrupted_acc", NULL};
static const char *const STATUS[] = {"complete", "failed", "interrupted", "running"};

/* The defaults' config text, as a run file stores it (made once). */
static const char *defaults_text(void)
{
    static char *text;
    if (!text) {
        exp_config *c = malloc(sizeof *c);
        qa_err err = {0};
        FUZZ_ASSERT(c && exp_config_defaults(c, &err) == 0);
        cfg_doc d = exp_config_doc(c);
        FUZZ_ASSERT(cfg_render(&d, &text, &err) == 0);
        free(c);
    }
    return text;
}

static void attrs(fuzz_bytes *b, hid_t obj, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        unsigned how = fuzz_u8(b) % 4;
        if (how == 1 && strcmp(names[i], "status") == 0)
            fuzz_h5_attr_text(obj, names[i], STATUS[fuzz_u8(b) % 4]);
        else if (how >= 2)
            fuzz_h5_attr(b, obj, names[i]);
    }
}

static void build(fuzz_bytes *b, const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the readers' messages are checked, not printed */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    FUZZ_ASSERT(f >= 0);
    attrs(b, f, ROOT_ATTRS);
    unsigned cfg = fuzz_u8(b) % 3;
    char text[256];
    if (cfg == 1)
        fuzz_h5_text(f, "/config", defaults_text());
    else if (cfg == 2) {
        fuzz_h5_take_text(b, text, sizeof text);
        fuzz_h5_text(f, "/config", text);
    }
    if (fuzz_u8(b) % 4)
        fuzz_h5_table(b, f, "/train/epochs", EPOCH_COLS);
    if (fuzz_u8(b) % 2) {
        fuzz_h5_table(b, f, "/eval/grid", GRID_COLS);
        hid_t g = H5Oopen(f, "/eval/grid", H5P_DEFAULT);
        if (g >= 0) {
            attrs(b, g, GRID_ATTRS);
            H5Oclose(g);
        }
    }
    H5Fclose(f);
    fuzz_h5_maybe_cut(b, path);
}

/* What qadapt eval does with a run file's config (cmd_eval.c). */
static void read_config(const char *path)
{
    hid_t f;
    qa_err err = {0};
    int rc = exp_rf_open_run(&f, path, &err);
    fuzz_check_status(rc, &err, "exp_rf_open_run");
    if (rc)
        return;
    char *text = exp_rf_config(f);
    exp_rf_close(f);
    exp_config *c = malloc(sizeof *c);
    FUZZ_ASSERT(c && exp_config_defaults(c, &err) == 0);
    cfg_doc d = exp_config_doc(c);
    if (text) {
        rc = cfg_load_stored(&d, text, "run.h5:/config", &err);
        if (!rc)
            rc = exp_config_check(c, &err);
        fuzz_check_status(rc, &err, "cfg_load_stored");
    }
    free(text);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = {data, size};
    char dir[512], path[600];
    fuzz_path(dir, sizeof dir, fuzz_dir(), "0123456789");
    mkdir(dir, 0777);
    fuzz_path(path, sizeof path, dir, "run.h5");
    build(&b, path);
    FILE *null = fopen("/dev/null", "w");
    FUZZ_ASSERT(null != NULL);
    qa_err err = {0};
    fuzz_check_status(exp_report_run(null, path, &err), &err, "exp_report_run");
    qa_err err2 = {0};
    fuzz_check_status(exp_report_grid(null, path, &err2), &err2, "exp_report_grid");
    fclose(null);
    exp_sweep_point pt = {.hash = "0123456789"};
    exp_sweep_read_point(fuzz_dir(), &pt);
    FUZZ_ASSERT(pt.status >= EXP_POINT_PENDING && pt.status <= EXP_POINT_INTERRUPTED);
    read_config(path);
    return 0;
}
