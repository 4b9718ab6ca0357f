/* Placeholder until the event loop lands (issue 2); removed by that change. */
#include "proxy/proxy.h"
int px_cli_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("sovgw run: the gateway is not in this build yet\n", stderr);
    return 2;
}
void px_cli_run_help(FILE *f)
{
    fputs("sovgw run: the gateway is not in this build yet\n", f);
}
