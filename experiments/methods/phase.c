/* phase.c: see phase.h. */
#include "experiments/methods/phase.h"

#include <math.h>

int exp_phases_check(const exp_phases *p, int epochs, const char *section, qa_err *err)
{
    if (p->warmup + p->finetune < epochs)
        return QA_OK;
    return qa_fail(err, QA_ERR_CONFIG,
                   "%s.warmup = %d and %s.finetune = %d leave no epoch for the main phase "
                   "(train.epochs = %d)",
                   section, p->warmup, section, p->finetune, epochs);
}

exp_phase exp_phase_of(const exp_phases *p, int epoch, int epochs)
{
    if (epoch < p->warmup)
        return EXP_PHASE_WARMUP;
    return epoch >= epochs - p->finetune ? EXP_PHASE_FINETUNE : EXP_PHASE_MAIN;
}

double exp_phase_progress(const exp_phases *p, long step, long steps_per_epoch,
                          long total_steps)
{
    long w = (long)p->warmup * steps_per_epoch;
    long T = total_steps - w - (long)p->finetune * steps_per_epoch;
    double t = T > 0 ? (double)(step - w) / (double)T : 1.0;
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

double exp_anneal_geometric(double from, double to, double t)
{
    return from * pow(to / from, t);
}
