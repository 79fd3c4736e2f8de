/* im2col.h: the geometry of a 2-D convolution window and the lowering of
 * one sample to columns (and back) that turns a convolution into a GEMM.
 *
 * Legend: C,H,W input; OC,OH,OW output; KH,KW kernel; SH,SW stride; PH,PW
 * zero padding; G groups (Cg = C/G input channels per group); P = OH*OW.
 * Row r = (c, ki, kj) of the columns holds, for every output position p,
 * the input pixel that kernel tap (ki, kj) of channel c sees at p (0 in the
 * padding).
 *
 * How: each channel is first copied into SH*SW zero-padded phase planes,
 * plane (a, b)[i][j] = xpad[i*SH + a][j*SW + b] (xpad = x padded by PH, PW),
 * of QH x QW = (OH + (KH-1)/SH) x (OW + (KW-1)/SW). Tap (ki, kj) is then the
 * block of plane (ki % SH, kj % SW) starting at (ki / SH, kj / SW): every row
 * of the columns is a plain 2-D copy, with no bounds tests and no strided
 * reads, whatever the stride and padding. The adjoint adds the rows into
 * zeroed planes and writes them back into x's layout once. Only whole
 * samples are lowered; batching is the caller's.
 *
 * Rows of the columns have P = OH*LD entries, LD = OW ("narrow") or LD = QW
 * ("wide"). Wide rows are whole plane rows, so a tap is one contiguous copy
 * instead of OH short ones; the QW - OW extra columns per output row are
 * junk the caller discards (forward) or must feed as zeros (adjoint). */
#ifndef NN_IM2COL_H
#define NN_IM2COL_H

#include <stddef.h>

/* Which kernel nn/conv2d's raw kernels run: AUTO picks by geometry
 * (conv2d_kern.c says how and why); the others force a path, for tests
 * and benchmarks that compare them (WINOGRAD needs a 3x3, stride-1,
 * pad-1, one-group convolution). */
typedef enum { NN_CONV_AUTO = 0, NN_CONV_IM2COL, NN_CONV_WINOGRAD } nn_conv_algo;

typedef struct {
    int c, h, w;    /* input */
    int oc, oh, ow; /* output */
    int kh, kw, sh, sw, ph, pw;
    int groups;
    nn_conv_algo algo; /* nn_conv_geom_init sets NN_CONV_AUTO */
} nn_conv_geom;

/* output size of one dimension: (in + 2 pad - k) / s + 1, or <= 0 if the
 * window does not fit */
static inline int nn_conv_out_size(int in, int k, int s, int pad)
{
    return in + 2 * pad < k ? 0 : (in + 2 * pad - k) / s + 1;
}

/* floats of phase planes for cn channels (the planes argument below) */
size_t nn_im2col_planes_floats(const nn_conv_geom *g, int cn);

/* QW: the row length of the wide lowering (== OW when KW <= SW) */
int nn_im2col_wide_width(const nn_conv_geom *g);

/* col (cn*KH*KW, OH*ld) = im2col of channels [c0, c0+cn) of one sample x
 * (C, H, W), ld = OW or nn_im2col_wide_width(g); planes is scratch of
 * nn_im2col_planes_floats(g, cn) floats */
void nn_im2col(const nn_conv_geom *g, const float *x, int c0, int cn, float *col, int ld,
               float *planes);

/* The wide lowering without its copy: fills planes as nn_im2col does and
 * points rows[r] (cn*KH*KW of them) at the OH*QW floats that row r of the
 * wide columns would hold (they lie in planes: a tap is a block of a plane) */
void nn_im2col_rows(const nn_conv_geom *g, const float *x, int c0, int cn, float *planes,
                    const float **rows);

/* dx (C, H, W) channels [c0, c0+cn) = (acc ? dx : 0) + col2im(col), the
 * adjoint of nn_im2col; with ld = QW the junk columns of col must be 0 */
void nn_col2im(const nn_conv_geom *g, const float *col, int ld, int c0, int cn, float *dx,
               int acc, float *planes);

#endif
