/* Placeholder until the policy compiler lands (issue 2); removed by that change. */
#include "rules/rules.h"
int rl_cli_policy(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("sovgw policy: the policy compiler is not in this build yet\n", stderr);
    return 2;
}
int rl_policy_classifiers_load(const char *path, struct cls_config *cfg, char *err, size_t errlen)
{
    (void)path;
    (void)cfg;
    (void)err;
    (void)errlen;
    return -1;
}
