/* proxy/proxy.h — the gateway: `sovgw run`. */
#ifndef SGW_PROXY_H
#define SGW_PROXY_H

/* `sovgw run …`; argv[0] is "run". Returns the process exit code
 * (0 after a clean shutdown, 2 on a usage or start error). */
int px_cli_run(int argc, char **argv);

/* Prints `sovgw help run` text to f. */
#include <stdio.h>
void px_cli_run_help(FILE *f);

#endif
