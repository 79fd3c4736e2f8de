/* agent.c: the observations of agent.h. */
#include "agent/agent.h"

#include <string.h>

#include "agent/acfg.h"

int agent_obs_size(int kind, int nfeat)
{
    if (kind == AGENT_OBS_ORACLE)
        return AGENT_ORACLE_NCORR + 2;
    if (kind == AGENT_OBS_FEATURES && nfeat > 0)
        return nfeat;
    return 1;
}

void agent_observe(int kind, const int *corruption, const int *severity, const float *features,
                   int nfeat, int n, float *x, int nobs)
{
    for (int i = 0; i < n; i++) {
        float *o = x + (size_t)i * (size_t)nobs;
        if (kind == AGENT_OBS_ORACLE) {
            memset(o, 0, (size_t)nobs * sizeof *o);
            int c = corruption[i] + 1;
            o[c >= 0 && c <= AGENT_ORACLE_NCORR ? c : 0] = 1.0f;
            o[nobs - 1] = (float)severity[i] / 5.0f;
        } else if (kind == AGENT_OBS_FEATURES && nfeat == nobs) {
            memcpy(o, features + (size_t)i * (size_t)nobs, (size_t)nobs * sizeof *o);
        } else {
            o[0] = 1.0f;
        }
    }
}
