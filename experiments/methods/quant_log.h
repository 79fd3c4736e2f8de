/* quant_log.h: what every quantized method logs, in one place so fixed
 * precision, static mixed precision and adaptive methods write the same
 * columns and tables:
 *   /train/epochs columns  bitops (mean per sample), bitops_vs_fp32,
 *                          bitops_vs_int8, weight_bytes, w_bits and
 *                          a_bits (mean width of each planned layer)
 *   /quant/layers          one row per quantized layer: index, macs,
 *                          params, plan_row (-1 pinned), w_bits, a_bits
 *                          (pinned widths, or -1 when planned); attributes
 *                          "names" and "types" (comma separated, in order)
 * Deliberately not here: computing the widths (the methods). */
#ifndef EXP_QUANT_LOG_H
#define EXP_QUANT_LOG_H

#include "experiments/run/run.h"
#include "quant/qnet.h"

typedef struct {
    int bitops, vs_fp32, vs_int8, bytes; /* column indices in the row */
    int wbits, abits;                    /* -1 when no layer is planned */
} exp_qlog_cols;

/* In a method's setup: adds the columns and writes /quant/layers. */
int exp_qlog_setup(exp_run *r, const q_net *qn, exp_qlog_cols *c, qa_err *err);
/* Fills the columns: mean cost per sample and mean widths (nplanned each). */
void exp_qlog_row(h5log_value *row, const exp_qlog_cols *c, const q_net *qn, const q_cost *mean,
                  const float *mw, const float *ma);

#endif
