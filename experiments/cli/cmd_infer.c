/* cmd_infer.c: `qadapt infer MODEL.qam IMAGES...`: classify PNG/JPEG
 * files, folders of them and IDX files with an integer model, through the
 * public API (deploy/qadapt.h), printing each image's class and, for a
 * DQMQ model, the widths its policy chose. */
#include <dirent.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/folder.h"
#include "data/idx.h"
#include "data/jpeg_io.h"
#include "data/png_io.h"
#include "deploy/qadapt.h"
#include "experiments/cli/cmd_args.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/deploy_run.h"
#include "quant/qcfg.h"

static void infer_usage(void)
{
    printf("usage: qadapt infer MODEL.qam IMAGE... [--kernel K] [--threads N]\n\n"
           "Classifies images with an integer model written by `qadapt export`. IMAGE is a\n"
           "PNG or JPEG file, a folder (its .png/.jpg/.jpeg files, sorted), or an IDX images\n"
           "file (e.g. t10k-images-idx3-ubyte.gz, with its labels file beside it: the\n"
           "accuracy is printed). Images are converted to the model's channels (grey <->\n"
           "RGB) and resized to its input size. One line per image: name, class and, for a\n"
           "DQMQ model, the weight width chosen for each planned layer.\n\n"
           "  --kernel K    avx512vnni, avx2 or c (default: the best this CPU runs)\n"
           "  --threads N   worker threads (default: one per core)\n"
           "  --help        this text\n");
}

typedef struct {
    qa_model *m;
    qa_model_info_t info;
    long n, correct, labelled;
} infer_ctx;

/* one image (h, w, c) into the model's shape, classified and printed */
static int infer_one(infer_ctx *x, const char *name, const data_image *im, int label, qa_err *err)
{
    int C = x->info.channels, H = x->info.height, W = x->info.width;
    size_t hw = (size_t)im->h * (size_t)im->w;
    uint8_t *conv = malloc(hw * (size_t)C), *px = malloc((size_t)H * W * C);
    double *scr = malloc(data_image_resize_scratch(im->h, im->w, H, W, C) * sizeof *scr);
    unsigned char widths[Q_MAX_LAYERS];
    if (!conv || !px || !scr) {
        free(conv), free(px), free(scr);
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for %s", name);
    }
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < C; c++) {
            const uint8_t *p = im->px + i * (size_t)im->c;
            conv[i * C + c] = im->c == C ? p[c]
                              : im->c == 1 ? p[0]
                                           : (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
        }
    if (im->h == H && im->w == W)
        memcpy(px, conv, hw * (size_t)C);
    else
        data_image_resize(conv, im->h, im->w, C, px, H, W, scr);
    int cls, rc = qa_model_predict(x->m, px, 1, &cls, NULL, widths);
    if (rc)
        rc = qa_fail(err, rc, "%s: %s", name, qa_model_error(x->m));
    free(conv), free(px), free(scr);
    if (rc)
        return rc;
    printf("%s\t%d", name, cls);
    if (label >= 0)
        printf("\tlabel %d", label);
    for (int l = 0; x->info.adaptive && l < x->info.planned; l++)
        printf("%s%d", l ? "," : "\tW", widths[l]);
    printf("\n");
    x->n++;
    x->labelled += label >= 0;
    x->correct += label >= 0 && label == cls;
    return QA_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static int infer_file(infer_ctx *x, const char *path, qa_err *err)
{
    data_image im = {0};
    int png = ends_with(path, ".png");
    if (!png && !ends_with(path, ".jpg") && !ends_with(path, ".jpeg"))
        return qa_fail(err, QA_ERR_ARG, "%s: not a .png, .jpg or .jpeg file, a folder or an "
                       "IDX images file", path);
    int rc = png ? data_png_read(path, &im, err) : data_jpeg_read(path, &im, err);
    if (!rc)
        rc = infer_one(x, path, &im, -1, err);
    data_image_free(&im);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int infer_folder(infer_ctx *x, const char *dir, qa_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return qa_fail(err, QA_ERR_IO, "%s: cannot open the folder", dir);
    char **names = NULL;
    int n = 0, rc = QA_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, ".png") && !ends_with(e->d_name, ".jpg") &&
            !ends_with(e->d_name, ".jpeg"))
            continue;
        char **more = realloc(names, (size_t)(n + 1) * sizeof *names);
        size_t len = strlen(dir) + strlen(e->d_name) + 2, dl = strlen(dir);
        if (!more || !(more[n] = malloc(len))) {
            names = more ? more : names;
            rc = qa_fail(err, QA_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        names = more;
        snprintf(names[n++], len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
    }
    closedir(d);
    if (!rc && n == 0)
        rc = qa_fail(err, QA_ERR_ARG, "%s: no .png, .jpg or .jpeg files", dir);
    if (!rc)
        qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; !rc && i < n; i++)
        rc = infer_file(x, names[i], err);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* images file "...images-idx3-ubyte[.gz]", labels "...labels-idx1-ubyte[.gz]" beside it */
static int infer_idx(infer_ctx *x, const char *path, qa_err *err)
{
    char labels[1100];
    const char *at = strstr(path, "images-idx3");
    if (!at)
        return qa_fail(err, QA_ERR_ARG, "%s: an IDX images file name holds 'images-idx3'", path);
    snprintf(labels, sizeof labels, "%.*slabels-idx1%s", (int)(at - path), path, at + 11);
    data_set ds;
    int rc = data_idx_load_files(&ds, path, labels, err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < ds.n; i++) {
        char name[1100];
        data_image im = {ds.h, ds.w, ds.c, ds.pixels + (size_t)i * ds.h * ds.w * ds.c};
        snprintf(name, sizeof name, "%s#%d", path, i);
        rc = infer_one(x, name, &im, ds.labels[i], err);
    }
    data_set_free(&ds);
    return rc;
}

static int infer_path(infer_ctx *x, const char *path, qa_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return qa_fail(err, QA_ERR_IO, "%s: no such file or folder", path);
    if (S_ISDIR(st.st_mode))
        return infer_folder(x, path, err);
    if (strstr(path, "idx3"))
        return infer_idx(x, path, err);
    return infer_file(x, path, err);
}

typedef struct {
    const char *model, *kernel;
    int threads;
    const char **paths;
    int npaths;
} infer_args;

static int parse(int argc, char **argv, infer_args *a, qa_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = QA_OK;
        if (exp_arg_is(argv[i], "--kernel")) {
            rc = exp_arg_value(argc, argv, &i, "--kernel", "infer", &v, err);
            a->kernel = v;
            if (!rc)
                rc = exp_kernel_arg(v, err);
        } else if (exp_arg_is(argv[i], "--threads")) {
            rc = exp_arg_value(argc, argv, &i, "--threads", "infer", &v, err);
            char *end;
            long t = rc ? 0 : strtol(v, &end, 10);
            if (!rc && (*end || t < 1 || t > 64))
                rc = qa_fail(err, QA_ERR_ARG, "--threads %s: expected 1..64", v);
            a->threads = (int)t;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt infer --help)", argv[i]);
        } else if (!a->model) {
            a->model = argv[i];
        } else {
            a->paths[a->npaths++] = argv[i];
        }
        if (rc)
            return rc;
    }
    if (!a->model || a->npaths == 0)
        return qa_fail(err, QA_ERR_ARG, "usage: qadapt infer MODEL.qam IMAGE... (see --help)");
    return QA_OK;
}

int exp_cmd_infer(int argc, char **argv, qa_err *err)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            infer_usage();
            return QA_OK;
        }
    infer_args a = {0};
    a.paths = calloc((size_t)argc, sizeof *a.paths);
    if (!a.paths)
        return qa_fail(err, QA_ERR_NOMEM, "out of memory for arguments");
    int rc = parse(argc, argv, &a, err);
    if (!rc)
        qa_set_threads(a.threads);
    infer_ctx x = {0};
    char msg[1024];
    if (!rc && !(x.m = qa_model_load_kernel(a.model, a.kernel, msg, sizeof msg)))
        rc = qa_fail(err, QA_ERR_FORMAT, "%s", msg);
    if (!rc)
        qa_model_info(x.m, &x.info);
    for (int i = 0; !rc && i < a.npaths; i++)
        rc = infer_path(&x, a.paths[i], err);
    if (!rc && x.labelled > 0)
        printf("accuracy: %.2f%% of %ld labelled images\n", 100.0 * x.correct / x.labelled,
               x.labelled);
    qa_model_free(x.m);
    free(a.paths);
    return rc;
}
