/* Unit tests for rules/cli.c: `sovgw policy check | compile | explain | --help`
 * exit codes and output, run in-process with stdout/stderr captured. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules.h"

#include "../check.h"

static char g_base[] = "/tmp/sgw-test-cli-XXXXXX";
static char g_out[8192], g_err[8192];

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    unlink(path);
}

/* Runs `sovgw policy ARGS...` with output captured in g_out / g_err. */
static int run(int argc, const char **argv)
{
    char po[600], pe[600];
    snprintf(po, sizeof po, "%s/out", g_base);
    snprintf(pe, sizeof pe, "%s/err", g_base);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    char *av[16];
    for (int i = 0; i < argc && i < 15; i++)
        av[i] = (char *)(uintptr_t)argv[i];
    av[argc] = NULL;
    int rc = rl_cli_policy(argc, av);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(po, g_out, sizeof g_out);
    slurp(pe, g_err, sizeof g_err);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        failures++;
        return;
    }
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    if (!mkdtemp(g_base)) {
        perror("mkdtemp");
        return 2;
    }
    char good[600], bad[600], store[600], missing[600];
    snprintf(good, sizeof good, "%s/good.yaml", g_base);
    snprintf(bad, sizeof bad, "%s/bad.yaml", g_base);
    snprintf(store, sizeof store, "%s/store", g_base);
    snprintf(missing, sizeof missing, "%s/missing.yaml", g_base);
    write_file(good, "version: 1\nrules:\n"
                     "  - id: allow-example\n    match: { host: [example.com, \"*.example.org\"],"
                     " port: [443] }\n    action: allow\n"
                     "  - id: internal\n    match: { cidr: [10.0.0.0/8] }\n    action: allow\n");
    write_file(bad, "version: 1\nrules:\n  - id: x\n    match: { port: [0] }\n    action: maybe\n"
                    "  - match: { cidr: [300.0.0.0/8] }\n    action: deny\n");

    const char *help[] = {"policy", "--help"};
    CHECK(run(2, help) == 0 && strstr(g_out, "usage: sovgw policy check"));
    const char *none[] = {"policy"};
    CHECK(run(1, none) == 2 && strstr(g_err, "usage:"));
    const char *unk[] = {"policy", "frobnicate"};
    CHECK(run(2, unk) == 2 && strstr(g_err, "unknown subcommand 'frobnicate'"));

    const char *chk_good[] = {"policy", "check", good};
    CHECK(run(3, chk_good) == 0);
    CHECK(strstr(g_out, "ok: 2 rules, 2 hosts, 1 cidrs") != NULL);
    const char *chk_bad[] = {"policy", "check", bad};
    CHECK(run(3, chk_bad) == 1);
    /* every error, each with file:line:column */
    char want[700];
    snprintf(want, sizeof want, "%s:4:21: port '0'", bad);
    CHECK(strstr(g_err, want) != NULL);
    snprintf(want, sizeof want, "%s:5:13: unknown action 'maybe'", bad);
    CHECK(strstr(g_err, want) != NULL);
    snprintf(want, sizeof want, "%s:6:21: cidr '300.0.0.0/8'", bad);
    CHECK(strstr(g_err, want) != NULL);
    snprintf(want, sizeof want, "%s:6:5: rule has no id", bad);
    CHECK(strstr(g_err, want) != NULL);
    CHECK(strstr(g_err, "4 errors") != NULL);
    const char *chk_missing[] = {"policy", "check", missing};
    CHECK(run(3, chk_missing) == 2 && strstr(g_err, "cannot open"));

    const char *comp[] = {"policy", "compile", good, "--store", store};
    CHECK(run(5, comp) == 0 && strstr(g_out, "policy version 1 "));
    CHECK(run(5, comp) == 0 && strstr(g_out, "policy version 2 "));
    const char *comp_bad[] = {"policy", "compile", bad, "--store", store};
    CHECK(run(5, comp_bad) == 1 && strstr(g_err, "not changed"));
    const char *comp_nostore[] = {"policy", "compile", good};
    CHECK(run(3, comp_nostore) == 2);

    const char *ex1[] = {"policy", "explain", "--store", store, "WWW.Example.org.", "443", "GET",
                         "/", "93.184.216.34"};
    CHECK(run(9, ex1) == 0);
    CHECK(strstr(g_out, "verdict: allow\nrule: allow-example\n"
                        "reason: rule allow-example matched host *.example.org\n"
                        "policy version: 2\n") != NULL);
    const char *ex2[] = {"policy", "explain", "--store", store, "example.com", "443", "GET", "/"};
    CHECK(run(8, ex2) == 0 && strstr(g_out, "verdict: need-addr"));
    const char *ex3[] = {"policy", "explain", "--policy", good, "example.com", "443", "GET", "/",
                         "127.0.0.1"};
    CHECK(run(9, ex3) == 0 && strstr(g_out, "verdict: deny") &&
          strstr(g_out, "private range (loopback 127.0.0.0/8)") &&
          strstr(g_out, "policy version: 1"));
    const char *ex4[] = {"policy", "explain", "--pinned", "--policy", good, "example.com", "443",
                         "GET", "/", "127.0.0.1"};
    CHECK(run(10, ex4) == 0 && strstr(g_out, "verdict: allow"));
    const char *ex5[] = {"policy", "explain", "--store", store, "db.corp", "5432", "CONNECT", "",
                         "[10.1.2.3]"};
    CHECK(run(9, ex5) == 0 && strstr(g_out, "verdict: allow\nrule: internal\n"));
    const char *ex6[] = {"policy", "explain", "--store", store, "x.com", "99999", "GET", "/"};
    CHECK(run(8, ex6) == 2 && strstr(g_err, "PORT"));
    const char *ex7[] = {"policy", "explain", "--store", missing, "x.com", "443", "GET", "/"};
    CHECK(run(8, ex7) == 2 && strstr(g_err, "missing.yaml"));

    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", store);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", store);
    unlink(p);
    rmdir(store);
    unlink(good);
    unlink(bad);
    rmdir(g_base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\nlast stdout:\n%s\nlast stderr:\n%s\n", failures,
                g_out, g_err);
        return 1;
    }
    puts("test_cli: ok");
    return 0;
}
