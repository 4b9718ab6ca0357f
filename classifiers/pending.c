/* Placeholder until the engine lands (issue 3); removed by that change. */
#include <stdio.h>
#include "classifiers/classifiers.h"
int cls_cli_scan(int argc, char **argv, cls_policy_loader_fn loader)
{
    (void)argc;
    (void)argv;
    (void)loader;
    fputs("sovgw scan: the scanner is not in this build yet\n", stderr);
    return 2;
}
