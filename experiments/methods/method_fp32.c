/* method_fp32.c: full-precision training, the reference every quantized
 * method is compared with. It is exactly the run's defaults: nothing is
 * wrapped, the default steps train and evaluate the backbone. */
#include "experiments/run/method.h"

const exp_method exp_method_fp32 = {
    .name = "fp32",
    .help = "full-precision training and evaluation (the default steps, no wrapping)",
};
