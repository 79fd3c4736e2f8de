/* methods.c: the table of training methods. */
#include "experiments/methods.h"

extern const exp_method exp_method_fp32;
extern const exp_method exp_method_fixed;
extern const exp_method exp_method_dqmq;

/* One line per method, defined in experiments/method_<name>.c. */
static const exp_method *const methods[] = {
    &exp_method_fp32,
    &exp_method_fixed,
    &exp_method_dqmq,
};

enum { NMETHODS = (int)(sizeof methods / sizeof methods[0]) };

const exp_method *exp_method_get(int i)
{
    return i >= 0 && i < NMETHODS ? methods[i] : NULL;
}

const char *exp_method_choice(int i)
{
    return i >= 0 && i < NMETHODS ? methods[i]->name : NULL;
}
