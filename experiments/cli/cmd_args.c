/* cmd_args.c: "--opt value" and "--opt=value" for the commands, and the
 * arguments of those that run one config. */
#include "experiments/cli/cmd_args.h"

#include <stdio.h>
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

int exp_config_args_parse(int argc, char **argv, const char *command, exp_config_args *a,
                          qa_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = QA_OK;
        if (exp_arg_is(argv[i], "--set")) {
            rc = exp_arg_value(argc, argv, &i, "--set", command, &v, err);
            if (!rc)
                a->sets[a->nsets++] = (char *)v;
        } else if (exp_arg_is(argv[i], "--out")) {
            rc = exp_arg_value(argc, argv, &i, "--out", command, &a->out, err);
        } else if (strcmp(argv[i], "--resume") == 0) {
            a->resume = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = qa_fail(err, QA_ERR_ARG, "unknown option '%s' (see qadapt %s --help)", argv[i],
                         command);
        } else if (a->config) {
            rc = qa_fail(err, QA_ERR_ARG, "one CONFIG expected, got '%s' and '%s'", a->config,
                         argv[i]);
        } else {
            a->config = argv[i];
        }
        if (rc)
            return rc;
    }
    if (!a->config)
        return qa_fail(err, QA_ERR_ARG, "missing CONFIG (see qadapt %s --help)", command);
    return QA_OK;
}

void exp_args_join(int argc, char **argv, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "qadapt");
    for (int i = 0; i < argc && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, " %s", argv[i]);
}
