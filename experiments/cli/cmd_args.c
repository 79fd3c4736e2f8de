/* cmd_args.c: "--opt value" and "--opt=value" for the commands. */
#include "experiments/cli/cmd_args.h"

#include <string.h>

int exp_arg_is(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int exp_arg_value(int argc, char **argv, int *i, const char *opt, const char *command,
                  const char **val, qa_err *err)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        *val = argv[*i] + n + 1;
    else if (*i + 1 < argc)
        *val = argv[++*i];
    else
        return qa_fail(err, QA_ERR_ARG, "%s needs a value (see qadapt %s --help)", opt, command);
    /* --out '' meant the file system's root */
    if (!**val)
        return qa_fail(err, QA_ERR_ARG, "%s needs a value, not an empty string (see qadapt %s "
                       "--help)", opt, command);
    return QA_OK;
}
