/* classify.c: embedding qadapt's integer engine, nothing but deploy/qadapt.h.
 *
 *   qadapt_classify MODEL.qam IMAGE.pgm|IMAGE.ppm...
 *
 * Reads binary PGM (P5, grey) or PPM (P6, colour) images of the model's
 * input size and channels (convert others with ImageMagick: `convert x.png
 * -resize 28x28! -colorspace gray x.pgm`), classifies them in one call and
 * prints each image's class and, for a DQMQ model, the weight width its
 * policy chose for each planned layer. */
#include <stdio.h>
#include <stdlib.h>

#include "deploy/qadapt.h"

/* a P5/P6 file of exactly h x w x c bytes into px; 0 on success */
static int read_pnm(const char *path, int h, int w, int c, unsigned char *px)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int fw, fh, maxv, kind = 0;
    int ok = fscanf(f, "P%d %d %d %d", &kind, &fw, &fh, &maxv) == 4 && fgetc(f) != EOF &&
             kind == (c == 1 ? 5 : 6) && fw == w && fh == h && maxv == 255 &&
             fread(px, 1, (size_t)h * w * c, f) == (size_t)h * w * c;
    fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: qadapt_classify MODEL.qam IMAGE.pgm|IMAGE.ppm...\n");
        return 2;
    }
    char msg[1024];
    qa_model *m = qa_model_load(argv[1], msg, sizeof msg);
    if (!m) {
        fprintf(stderr, "qadapt_classify: %s\n", msg);
        return 1;
    }
    qa_model_info_t in;
    qa_model_info(m, &in);
    int n = argc - 2, rc = 0;
    size_t sz = (size_t)in.height * in.width * in.channels;
    unsigned char *px = malloc(sz * n), *widths = malloc((size_t)n * (in.planned + 1));
    int *cls = malloc(sizeof *cls * n);
    for (int i = 0; px && i < n && !rc; i++)
        if (read_pnm(argv[i + 2], in.height, in.width, in.channels, px + sz * i) != 0) {
            fprintf(stderr, "qadapt_classify: %s: not a %dx%d P%d image with maxval 255\n",
                    argv[i + 2], in.width, in.height, in.channels == 1 ? 5 : 6);
            rc = 1;
        }
    if (!rc && (!px || !widths || !cls || qa_model_predict(m, px, n, cls, NULL, widths) != 0)) {
        fprintf(stderr, "qadapt_classify: %s\n", px && widths && cls ? qa_model_error(m) : "out of memory");
        rc = 1;
    }
    for (int i = 0; !rc && i < n; i++) {
        printf("%s %d", argv[i + 2], cls[i]);
        for (int l = 0; in.adaptive && l < in.planned; l++)
            printf("%s%d", l ? "," : " W", widths[(size_t)i * in.planned + l]);
        printf("\n");
    }
    free(px), free(widths), free(cls);
    qa_model_free(m);
    return rc;
}
