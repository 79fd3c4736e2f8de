/* eval_int.h: `qadapt eval RUN.h5 --engine int`: the integer engine
 * (deploy/) on the run's test set and corruption grid, beside the
 * fake-quant evaluation of the same images.
 *
 * The run is restored (deploy_run.h) and lowered to its integer model in
 * memory, exactly what `qadapt export` writes. The run engine then
 * evaluates the test set (exp_run_evaluate) and the grid (grid.h) as it
 * would, with the method's hooks wrapped: each batch runs the fake-quant
 * network (the method's own eval step, told which evaluation) and the
 * engine on the same staged pixels. Printed per cell: images, fake-quant
 * accuracy, integer accuracy, the images whose predictions differ and
 * those whose widths differ (a DQMQ policy's choice per image; the fixed
 * widths otherwise). The run file is left as it was.
 *
 * Deliberately not here: argument parsing (cmd_eval.c). */
#ifndef EXP_EVAL_INT_H
#define EXP_EVAL_INT_H

#include "nn/status.h"

/* sets: the run's config overrides (eval.* keys); kernel NULL: the best */
int exp_eval_int(const char *run, char *const *sets, int nsets, const char *kernel, qa_err *err);

#endif
