/* instab.h: activation instability (docs/METHODS.md, "MetaMix"), how much
 * the statistics of the activations entering each planned layer's
 * quantizer move when the network's widths change.
 *
 * The net runs a probe batch once per candidate configuration k = 1..K
 * (typically every planned layer at candidate k, in evaluation mode: the
 * running batch-norm statistics inference uses). For planned layer l and
 * channel c of its input before quantization (samples and positions
 * pooled):
 *   mu_lkc, sd_lkc        mean and standard deviation under configuration k
 *   mubar_lc, sdbar_lc    their means over k
 *   I_l = sum_k sum_c (|mu_lkc - mubar_lc| + |sd_lkc - sdbar_lc|) / (K sum_c sdbar_lc)
 * the mean absolute move of the channels' location and scale, relative to
 * their scale; 0 when every configuration sees the same statistics, and
 * unchanged when a layer's input is multiplied by a constant. A ratio of
 * sums over channels, so channels that never fire (sd 0) do not divide.
 * The first planned layer reads what pinned layers computed from the image:
 * its I is 0 unless the configurations differ there.
 * Deliberately not here: which configurations and images (the methods). */
#ifndef Q_INSTAB_H
#define Q_INSTAB_H

#include "nn/net.h"
#include "quant/qnet.h"

typedef struct {
    int L, K;
    int *tensor;       /* (L) the tensor planned layer l reads */
    int *nch;          /* (L) its channels */
    size_t *off;       /* (L) its first channel in the sums */
    size_t nsum;       /* channels over all planned layers */
    double *sum, *sq;  /* (K, nsum) sums of x and x^2 */
    double *cnt;       /* (K, L) values summed per channel */
} q_instab;

/* For qn's planned layers in net (finalized) and K configurations. */
int q_instab_create(q_instab **out, const q_net *qn, const nn_net *net, int K, qa_err *err);
void q_instab_free(q_instab *s);
/* Forgets every configuration's sums. */
void q_instab_reset(q_instab *s);
/* Adds the n samples of the last forward of net as configuration k. */
void q_instab_add(q_instab *s, const nn_net *net, int k, int n);
/* I_l into inst (L); the channel-averaged mu and sd of each (l, k) into
 * mean and sd ((L, K) each, nullable). */
void q_instab_measure(const q_instab *s, double *inst, double *mean, double *sd);

#endif
