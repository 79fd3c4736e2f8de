#include "smoke_config.h"

#include <stdio.h>

enum { MAX_SETS = 32 };

int smoke_config_load(exp_config *c, const char *const *base, int nbase, char *const *extra,
                      int nextra, qa_err *err)
{
    if (nbase + nextra > MAX_SETS)
        return qa_fail(err, QA_ERR_ARG, "%d --set arguments, at most %d", nbase + nextra,
                       MAX_SETS);
    char path[1024], *sets[MAX_SETS];
    snprintf(path, sizeof path, "%s/configs/smoke.ini", QA_SOURCE_ROOT);
    int n = 0;
    for (int i = 0; i < nbase; i++)
        sets[n++] = (char *)base[i];
    for (int i = 0; i < nextra; i++)
        sets[n++] = extra[i];
    return exp_config_load(c, path, sets, n, err);
}
