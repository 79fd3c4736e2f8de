/* dist_env.c: a child's environment without the MPI launcher's variables,
 * with or without MPI built in (a qadapt without MPI may still be started
 * by mpirun, and its children must not look like ranks to another build). */
#include "experiments/dist/dist.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static int launcher_var(const char *s)
{
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "PMI_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

char **exp_dist_child_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = malloc((n + 1) * sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!launcher_var(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}
