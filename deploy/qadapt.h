/* qadapt.h: the public C API of qadapt's integer inference engine, the one
 * header an application embedding a model needs (link with libqa_deploy
 * and its dependencies, or the whole libqadapt).
 *
 * A model file (.qam) is written by `qadapt export RUN.h5 MODEL.qam`. It
 * runs on int8 operands with int32 sums (AVX-512 VNNI, AVX2 or portable
 * kernels, chosen for the CPU at load; all give the same bits). A DQMQ
 * model also picks each image's bit-widths from the image's quality.
 *
 *   char msg[1024];
 *   qa_model *m = qa_model_load("model.qam", msg, sizeof msg);
 *   if (!m) { fprintf(stderr, "%s\n", msg); return 1; }
 *   int cls;
 *   if (qa_model_predict(m, pixels, 1, &cls, NULL, NULL) != 0) ...
 *   qa_model_free(m);
 *
 * Images are uint8, interleaved (n, H, W, C) in the model's input shape
 * (qa_model_info). Not thread-safe per model: use one model per thread, or
 * one caller at a time (predict itself uses the library's worker threads,
 * qa_set_threads). */
#ifndef QADAPT_H
#define QADAPT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qa_model qa_model;

typedef struct {
    int channels, height, width; /* input images */
    int classes;
    int planned;                 /* layers whose width depends on the plan */
    int adaptive;                /* 1: a policy picks the widths per image */
    const char *kernel;          /* "avx512vnni", "avx2" or "c" */
} qa_model_info_t;

/* Loads path; NULL on failure with the reason in msg (msg may be NULL). */
qa_model *qa_model_load(const char *path, char *msg, size_t msglen);
/* The same with a kernel variant forced ("avx512vnni", "avx2", "c"). */
qa_model *qa_model_load_kernel(const char *path, const char *kernel, char *msg, size_t msglen);
void qa_model_info(const qa_model *m, qa_model_info_t *info);
/* n images -> classes (n), and optionally logits (n, classes) and the
 * weight width of every planned layer (n, planned). 0 on success, else
 * negative with qa_model_error() saying why. */
int qa_model_predict(qa_model *m, const unsigned char *pixels, int n, int *classes,
                     float *logits, unsigned char *widths);
const char *qa_model_error(const qa_model *m);
void qa_model_free(qa_model *m);
/* worker threads of the library (process-wide), 0 = one per core */
int qa_set_threads(int n);

#ifdef __cplusplus
}
#endif

#endif
