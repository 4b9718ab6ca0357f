/* proxy/main.c — the sovgw binary: dispatches subcommands to their modules. */
#include <stdio.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "proxy/proxy.h"
#include "rules/rules.h"

static void usage(FILE *f)
{
    fputs("usage: sovgw <command> [options]\n"
          "\n"
          "commands:\n"
          "  run      start the gateway (explicit forward proxy)\n"
          "  policy   check or compile a policy offline (check | compile)\n"
          "  scan     scan files or stdin for personal data and secrets\n"
          "  help     show help for a command: sovgw help run\n"
          "  --version\n"
          "\n"
          "exit codes: 0 ok, 1 found something / a check failed, 2 usage or runtime error\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sovgw %s\n", SGW_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return px_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "policy") == 0)
        return rl_cli_policy(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return cls_cli_scan(argc - 1, argv + 1, rl_policy_classifiers_load);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0) {
            px_cli_run_help(stdout);
            return 0;
        }
        if (argc > 2 && strcmp(argv[2], "policy") == 0) {
            char *a[] = {"policy", "--help", NULL};
            return rl_cli_policy(2, a);
        }
        if (argc > 2 && strcmp(argv[2], "scan") == 0) {
            char *a[] = {"scan", "--help", NULL};
            return cls_cli_scan(2, a, rl_policy_classifiers_load);
        }
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "sovgw: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
