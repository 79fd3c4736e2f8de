/* im2col.h: the geometry of a 2-D convolution window and the lowering of
 * one sample to columns (and back) that turns a convolution into a GEMM.
 *
 * Legend: C,H,W input; OC,OH,OW output; KH,KW kernel; SH,SW stride; PH,PW
 * zero padding; G groups (Cg = C/G input channels per group); P = OH*OW.
 * Row r = (c, ki, kj) of the columns holds, for every output position p,
 * the input pixel that kernel tap (ki, kj) of channel c sees at p (0 in the
 * padding). Only whole samples are lowered; batching is the caller's. */
#ifndef NN_IM2COL_H
#define NN_IM2COL_H

typedef struct {
    int c, h, w;    /* input */
    int oc, oh, ow; /* output */
    int kh, kw, sh, sw, ph, pw;
    int groups;
} nn_conv_geom;

/* output size of one dimension: (in + 2 pad - k) / s + 1, or <= 0 if the
 * window does not fit */
static inline int nn_conv_out_size(int in, int k, int s, int pad)
{
    return in + 2 * pad < k ? 0 : (in + 2 * pad - k) / s + 1;
}

/* col (cn*KH*KW rows, row stride ldc) columns [0, P) = im2col of channels
 * [c0, c0+cn) of one sample x (C, H, W) */
void nn_im2col(const nn_conv_geom *g, const float *x, int c0, int cn, float *col, int ldc);

/* dx (C, H, W) channels [c0, c0+cn) += col2im(col): the adjoint of nn_im2col */
void nn_col2im_add(const nn_conv_geom *g, const float *col, int ldc, int c0, int cn, float *dx);

#endif
