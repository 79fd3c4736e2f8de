/* cmd_info.c: `qadapt info`: what this build is and links. Library versions
 * come from the libraries at run time where they tell (HDF5, zlib,
 * OpenBLAS) and from pkg-config at build time otherwise. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "experiments/cli/commands.h"
#include "experiments/dist/dist.h"
#include "nn/blas.h"
#include "nn/models.h"
#include "nn/par.h"
#include "quant/cost.h"
#include "version.h"

/* The model's blocks (nn_model_blocks), what method blockrep replaces. */
static int print_blocks(const char *arch, int c, int h, int w, qa_err *err)
{
    nn_net *net;
    nn_block b[NN_MAX_BLOCKS];
    int rc = nn_model_build(&net, arch, 1, c, h, w, 10, err);
    int nb = rc ? rc : nn_model_blocks(net, arch, b, NN_MAX_BLOCKS, err);
    if (nb > 0)
        printf("\nblocks (method blockrep replaces them one by one; blockrep.unit = stage "
               "joins those between the first and the last that end in one shape):\n");
    for (int i = 0; i < nb; i++) {
        const nn_tensor *o = &net->t[b[i].out];
        printf("  %2d %-12s %-20s .. %-20s -> %dx%dx%d\n", i + 1, b[i].name,
               net->layers[b[i].first]->name, net->layers[b[i].last]->name, o->d[1], o->d[2],
               o->d[3]);
    }
    nn_net_free(net);
    return nb < 0 ? nb : QA_OK;
}

/* `info --model NAME [--input CxHxW]`: quant/'s per-layer cost table at the
 * default [quant] settings (input default 1x28x28, Fashion-MNIST), then the
 * model's blocks. */
static int info_model(int argc, char **argv, qa_err *err)
{
    int c = 1, h = 28, w = 28;
    if (argc == 5 && strcmp(argv[3], "--input") == 0) {
        if (sscanf(argv[4], "%dx%dx%d", &c, &h, &w) != 3 || c < 1 || h < 1 || w < 1)
            return qa_fail(err, QA_ERR_ARG, "--input '%s': expected CxHxW, e.g. 3x32x32",
                           argv[4]);
    } else if (argc != 3) {
        return qa_fail(err, QA_ERR_ARG, "usage: qadapt info --model NAME [--input CxHxW]");
    }
    q_cfg cfg;
    q_cfg_defaults(&cfg);
    int rc = q_cost_info(stdout, argv[2], c, h, w, 10, &cfg, err);
    return rc ? rc : print_blocks(argv[2], c, h, w, err);
}

int exp_cmd_info(int argc, char **argv, qa_err *err)
{
    if (argc > 1 && strcmp(argv[1], "--model") == 0)
        return info_model(argc, argv, err);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: qadapt info\n       qadapt info --model NAME [--input CxHxW]\n\n"
               "Prints the version, git revision, BLAS configuration and "
               "threads, whether MPI is built in, and the versions of the libraries qadapt uses.\n"
               "With --model: the model's quantized layers with MACs, weights and BitOps "
               "(input default 1x28x28), and its blocks (method blockrep).\n");
        return QA_OK;
    }
    if (argc > 1)
        return qa_fail(err, QA_ERR_ARG, "info takes no arguments (got '%s')", argv[1]);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("qadapt        %s\n", QADAPT_VERSION);
    printf("git revision  %s\n", QA_GIT_REVISION);
    printf("GEMM          %s (qadapt's kernel unless openblas; experiment.gemm = auto picks "
           "the fastest this CPU runs, of %s)\n", nn_blas_gemm(), nn_blas_choices());
    printf("BLAS          %s\n", nn_blas_info());
    printf("threads       %d in nn's pool (experiment.threads = 0 uses %ld online cores)\n",
           nn_par_threads(), sysconf(_SC_NPROCESSORS_ONLN));
    printf("shares        %d per sum over a batch (experiment.shares default)\n", nn_par_shares());
    if (exp_dist_library())
        printf("MPI           %s (built in; this process: rank %d of %d)\n", exp_dist_library(),
               exp_dist_rank(), exp_dist_size());
    else
        printf("MPI           not built in (meson setup -Dmpi=enabled, with libopenmpi-dev)\n");
    printf("HDF5          %u.%u.%u\n", maj, min, rel);
    printf("zlib          %s\n", zlibVersion());
    printf("libpng        %s (built against)\n", QA_LIBPNG_VERSION);
    printf("libjpeg-turbo %s (built against)\n", QA_TURBOJPEG_VERSION);
    printf("inih          %s (built against)\n", QA_INIH_VERSION);
    return QA_OK;
}
