/* schema.c: the sections a run reads itself ([data], [model], [train],
 * [eval]; [env] in schema_env.c) and the run's checks across keys. */
#include "experiments/run/schema.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "env/corrupt.h"
#include "experiments/run/datasets.h"
#include "nn/models.h"

#define FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)

static const char *const norm_names[] = {"dataset", "fixed", "none", NULL};

const cfg_key exp_data_keys[] = {
    {.key = "dataset", .type = CFG_ENUM, FIELD(exp_data_cfg, dataset), .def = "fmnist",
     .choice = exp_dataset_choice, .help = "image source"},
    {.key = "dir", .type = CFG_STRING, FIELD(exp_data_cfg, dir), .def = "",
     .help = "dataset directory, empty = the dataset's default location"},
    {.key = "folder_side", .type = CFG_INT, FIELD(exp_data_cfg, folder_side), .def = "32",
     .min = 8, .max = 4096,
     .help = "dataset = folder: side of the square RGB images (shorter side resized with an "
             "antialiased bilinear filter, centre crop); env.table should match (cifar up to 32 "
             "px, tiny 64)"},
    {.key = "limit", .type = CFG_INT, FIELD(exp_data_cfg, limit), .def = "0", .min = 0,
     .max = 2147483647, .help = "use only the first N training images, 0 = all"},
    {.key = "test_limit", .type = CFG_INT, FIELD(exp_data_cfg, test_limit), .def = "0", .min = 0,
     .max = 2147483647, .help = "evaluate on the first N test images only, 0 = all"},
    {.key = "val_fraction", .type = CFG_DOUBLE, FIELD(exp_data_cfg, val_fraction), .def = "0",
     .min = 0, .max = 0.9, .help = "fraction of the training images held out for validation"},
    {.key = "normalize", .type = CFG_ENUM, FIELD(exp_data_cfg, normalize), .def = "dataset",
     .names = norm_names,
     .help = "input normalisation: per-channel mean/std of the training images, fixed "
             "(mean, std keys) or none (pixels / 255)"},
    {.key = "mean", .type = CFG_NUM_LIST, FIELD(exp_data_cfg, mean), .def = "", .min = 0,
     .max = 1, .help = "normalize = fixed: per-channel mean of pixels / 255"},
    {.key = "std", .type = CFG_NUM_LIST, FIELD(exp_data_cfg, std), .def = "", .min = 1e-6,
     .max = 1, .help = "normalize = fixed: per-channel standard deviation of pixels / 255"},
    {0},
};

static const char *model_choice(int i)
{
    const char *const *names = nn_model_names();
    for (int j = 0; names[j]; j++)
        if (j == i)
            return names[j];
    return NULL;
}

static const char *const init_names[] = {"kaiming_uniform", "he_normal", NULL};

const cfg_key exp_model_keys[] = {
    {.key = "arch", .type = CFG_ENUM, FIELD(exp_model_cfg, arch), .def = "small",
     .choice = model_choice, .help = "network architecture (nn/models.h)"},
    {.key = "init", .type = CFG_ENUM, FIELD(exp_model_cfg, init), .def = "kaiming_uniform",
     .names = init_names,
     .help = "conv/dense weights: kaiming_uniform (PyTorch's default, U(+-1/sqrt(fan_in)), "
             "biases too) or he_normal (N(0, 2/fan_in), zero biases)"},
    {.key = "pretrained", .type = CFG_STRING, FIELD(exp_model_cfg, pretrained), .def = "",
     .help = "start from a finished run of the same arch, dataset and normalisation (its run "
             "file or ckpt.h5): its weights and batchnorm statistics replace the initial ones; "
             "views only one side has (quantizer steps) are left as they are; \"\" = none"},
    {0},
};

static const char *const optimizer_names[] = {"sgd", "adamw", NULL};
static const char *const schedule_names[] = {"const", "cosine", "step", NULL};

const cfg_key exp_train_keys[] = {
    {.key = "epochs", .type = CFG_INT, FIELD(exp_train_cfg, epochs), .def = "10", .min = 1,
     .max = 100000,
     .help = "passes over the training images (or train.epoch_steps steps each)"},
    {.key = "epoch_steps", .type = CFG_INT, FIELD(exp_train_cfg, epoch_steps), .def = "0",
     .min = 0, .max = 100000000,
     .help = "optimizer steps per epoch: the first N batches of each epoch's shuffle (a short "
             "fine-tune); 0 or more than a pass = the whole pass"},
    {.key = "batch", .type = CFG_INT, FIELD(exp_train_cfg, batch), .def = "128", .min = 1,
     .max = 65536, .help = "training batch size"},
    {.key = "drop_last", .type = CFG_BOOL, FIELD(exp_train_cfg, drop_last), .def = "true",
     .help = "skip each epoch's final short batch"},
    {.key = "optimizer", .type = CFG_ENUM, FIELD(exp_train_cfg, optimizer), .def = "sgd",
     .names = optimizer_names, .help = "sgd (momentum, coupled weight decay) or adamw"},
    {.key = "lr", .type = CFG_FLOAT, FIELD(exp_train_cfg, lr), .def = "0.05", .min = 1e-8,
     .max = 100, .help = "base learning rate"},
    {.key = "momentum", .type = CFG_FLOAT, FIELD(exp_train_cfg, momentum), .def = "0.9",
     .min = 0, .max = 0.999, .help = "SGD momentum"},
    {.key = "nesterov", .type = CFG_BOOL, FIELD(exp_train_cfg, nesterov), .def = "false",
     .help = "SGD with Nesterov momentum"},
    {.key = "weight_decay", .type = CFG_FLOAT, FIELD(exp_train_cfg, weight_decay),
     .def = "0.0005", .min = 0, .max = 1, .help = "L2 (SGD) or decoupled (AdamW) weight decay"},
    {.key = "beta1", .type = CFG_FLOAT, FIELD(exp_train_cfg, beta1), .def = "0.9", .min = 0,
     .max = 0.9999, .help = "AdamW first-moment decay"},
    {.key = "beta2", .type = CFG_FLOAT, FIELD(exp_train_cfg, beta2), .def = "0.999", .min = 0,
     .max = 0.99999, .help = "AdamW second-moment decay"},
    {.key = "eps", .type = CFG_FLOAT, FIELD(exp_train_cfg, eps), .def = "1e-08", .min = 1e-12,
     .max = 1, .help = "AdamW denominator epsilon"},
    {.key = "schedule", .type = CFG_ENUM, FIELD(exp_train_cfg, schedule), .def = "cosine",
     .names = schedule_names, .help = "learning-rate schedule over all steps: const, cosine, step"},
    {.key = "warmup", .type = CFG_INT, FIELD(exp_train_cfg, warmup), .def = "0", .min = 0,
     .max = 100000, .help = "epochs of linear learning-rate warm-up before the schedule"},
    {.key = "step_epochs", .type = CFG_INT, FIELD(exp_train_cfg, step_epochs), .def = "30",
     .min = 1, .max = 100000, .help = "schedule = step: epochs between decays"},
    {.key = "gamma", .type = CFG_FLOAT, FIELD(exp_train_cfg, gamma), .def = "0.1", .min = 1e-6,
     .max = 1, .help = "schedule = step: learning-rate factor at each decay"},
    {0},
};

/* Every corruption of env/corrupt.h by id; check_grid refuses unavailable ones. */
static const char *corruption_choice(int i)
{
    const env_corruption_info *in = env_corruption_get(i);
    return in ? in->name : NULL;
}

const cfg_key exp_eval_keys[] = {
    {.key = "batch", .type = CFG_INT, FIELD(exp_eval_cfg, batch), .def = "0", .min = 0,
     .max = 65536, .help = "test batch size, 0 = train.batch (the net is built for the larger)"},
    {.key = "every", .type = CFG_INT, FIELD(exp_eval_cfg, every), .def = "1", .min = 0,
     .max = 100000, .help = "test every N epochs and after the last; 0 = after the last only"},
    {.key = "grid", .type = CFG_BOOL, FIELD(exp_eval_cfg, grid), .def = "false",
     .help = "after the last epoch, evaluate the clean test set and every grid corruption x "
             "severity into /eval/grid"},
    {.key = "grid_corruptions", .type = CFG_NAME_LIST, FIELD(exp_eval_cfg, grid_corruptions),
     .def = "", .choice = corruption_choice,
     .help = "corruptions of the grid, empty = every available one that changes the images"},
    {.key = "grid_severities", .type = CFG_INT_LIST, FIELD(exp_eval_cfg, grid_severities),
     .def = "1, 2, 3, 4, 5", .min = 1, .max = 5, .help = "severities of the grid"},
    {.key = "grid_seed", .type = CFG_INT, FIELD(exp_eval_cfg, grid_seed), .def = "0", .min = 0,
     .max = 2147483647,
     .help = "seed of the grid's corruption noise (not the run's: runs compared see the same "
             "images)"},
    {.key = "reference", .type = CFG_STRING, FIELD(exp_eval_cfg, reference), .def = "",
     .help = "run file with an /eval/grid to compute mCE and relative mCE against, empty = none"},
    {0},
};

int exp_config_reset(exp_config *c, const cfg_schema *schema, qa_err *err)
{
    memset(c, 0, sizeof *c);
    c->schema = schema;
    cfg_doc d = exp_config_doc(c);
    return cfg_defaults(&d, err);
}

cfg_doc exp_config_doc(exp_config *c)
{
    cfg_doc d = {.schema = c->schema, .base = c, .trace = &c->trace};
    return d;
}

void exp_config_key_where(const exp_config *c, const char *section, const char *key, char *buf,
                          size_t n)
{
    int idx = -1;
    cfg_lookup(c->schema, section, key, NULL, &idx);
    /* cfg_where only reads the trace: the casts do not let anything write */
    cfg_doc d = {.schema = c->schema, .base = (void *)c, .trace = (cfg_trace *)&c->trace};
    char where[300];
    cfg_where(&d, idx, where, sizeof where);
    snprintf(buf, n, "%s.%s (%s)", section, key, where);
}

static void key_where(exp_config *c, const char *section, const char *key, char *buf, size_t n)
{
    exp_config_key_where(c, section, key, buf, n);
}

static int check_normalize(exp_config *c, qa_err *err)
{
    const exp_data_cfg *dc = &c->data;
    char a[400], b[400];
    if (dc->normalize != EXP_NORM_FIXED)
        return QA_OK;
    key_where(c, "data", "mean", a, sizeof a);
    key_where(c, "data", "std", b, sizeof b);
    if (dc->mean.n == 0 || dc->mean.n != dc->std.n)
        return qa_fail(err, QA_ERR_CONFIG,
                       "data.normalize = fixed needs as many values in %s as in %s, one per "
                       "channel (got %d and %d)",
                       a, b, dc->mean.n, dc->std.n);
    return QA_OK;
}

/* experiment.name is one folder inside out_dir: never a path out of it. */
static int check_name(exp_config *c, qa_err *err)
{
    const char *name = c->experiment.name;
    if (name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
        return QA_OK;
    char where[400];
    key_where(c, "experiment", "name", where, sizeof where);
    return qa_fail(err, QA_ERR_CONFIG, "%s = '%s': a run name is one folder name (not empty, "
                   "no '/', not '.' or '..')", where, name);
}

/* An empty out_dir put the run file at /<name>/run.h5, at the root of the
 * file system, without a word. */
static int check_out_dir(exp_config *c, qa_err *err)
{
    if (c->experiment.out_dir[0])
        return QA_OK;
    char where[400];
    key_where(c, "experiment", "out_dir", where, sizeof where);
    return qa_fail(err, QA_ERR_CONFIG, "%s is empty: runs would be written to /%s/ at the root "
                   "of the file system; name a folder (the default is runs)", where,
                   c->experiment.name);
}

/* The grid's corruptions must be implemented: found when the config is
 * bound, before a run file exists, not after the training. */
static int check_grid(exp_config *c, qa_err *err)
{
    const cfg_name_list *l = &c->eval.grid_corruptions;
    for (int i = 0; i < l->n; i++) {
        const env_corruption_info *in = env_corruption_get(l->v[i]);
        if (in && in->available)
            continue;
        char where[400];
        key_where(c, "eval", "grid_corruptions", where, sizeof where);
        return qa_fail(err, QA_ERR_CONFIG, "%s: %s is not implemented (qadapt corrupt --list "
                       "shows the available corruptions)", where, in ? in->name : "?");
    }
    return QA_OK;
}

int exp_run_config_check(exp_config *c, qa_err *err)
{
    char a[400], b[400];
    if (c->train.warmup >= c->train.epochs) {
        key_where(c, "train", "warmup", a, sizeof a);
        key_where(c, "train", "epochs", b, sizeof b);
        return qa_fail(err, QA_ERR_CONFIG, "%s = %d must be less than %s = %d", a,
                       c->train.warmup, b, c->train.epochs);
    }
    int rc = check_normalize(c, err);
    if (!rc)
        rc = check_name(c, err);
    if (!rc)
        rc = check_out_dir(c, err);
    if (!rc)
        rc = check_grid(c, err);
    return rc ? rc : exp_env_check(c, 0, err);
}
