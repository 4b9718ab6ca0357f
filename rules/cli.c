/* rules/cli.c — `sovgw policy check | compile | explain` and the classifiers
 * loader for `sovgw scan --policy`. Offline tools use the same parser and
 * evaluator as the gateway. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"

static void usage(FILE *f)
{
    fputs("usage: sovgw policy check FILE...\n"
          "       sovgw policy compile FILE --store DIR\n"
          "       sovgw policy explain (--store DIR | --policy FILE) [--pinned]\n"
          "                            HOST PORT METHOD PATH [ADDR]\n"
          "       sovgw policy default            print the embedded default policy\n"
          "       sovgw policy fingerprint --name NAME [--key HEX64] [FILE|-]\n"
          "\n"
          "check    validate policies; every error is printed as FILE:LINE:COLUMN: message\n"
          "compile  validate, then write the policy into the LMDB store DIR (created when\n"
          "         missing) in one transaction; prints the new policy version\n"
          "explain  decide one request with the same evaluator as the gateway and print\n"
          "         the verdict, the rule and the reason; ADDR is the resolved destination\n"
          "         address (without it the answer may be need-addr); --pinned treats ADDR\n"
          "         as an operator pin (--resolve), exempt from the private-range check\n"
          "fingerprint  hash known sensitive values (one per line) with a key (random when\n"
          "         --key is not given) and print a classifiers.fingerprints entry\n"
          "\n"
          "exit codes: 0 ok, 1 the policy has errors, 2 usage or runtime error\n"
          "the policy language is described in docs/policy.md\n",
          f);
}

static int cmd_check(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    int worst = 0;
    for (int i = 1; i < argc; i++) {
        char *buf = NULL, err[512];
        size_t len = 0, nerr = 0;
        if (rl_read_file(argv[i], &buf, &len, err, sizeof err) != SGW_OK) {
            fprintf(stderr, "%s\n", err);
            worst = 2;
            continue;
        }
        struct rl_policy *p = NULL;
        int rc = rl_policy_parse(argv[i], buf, len, &p, stderr, &nerr);
        free(buf);
        if (rc == SGW_OK) {
            printf("%s: ok: %zu rules, %zu hosts, %zu cidrs\n", argv[i], p->n_rules, p->n_hosts,
                   p->n_cidrs);
            rl_policy_free(p);
        } else if (rc == SGW_ENOMEM) {
            worst = 2;
        } else {
            fprintf(stderr, "%s: %zu error%s\n", argv[i], nerr, nerr == 1 ? "" : "s");
            if (worst < 1)
                worst = 1;
        }
    }
    return worst;
}

static int cmd_compile(int argc, char **argv)
{
    const char *file = NULL, *store = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            store = argv[++i];
        } else if (!strncmp(argv[i], "--store=", 8)) {
            store = argv[i] + 8;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "sovgw policy compile: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "sovgw policy compile: one policy file at a time\n");
            return 2;
        }
    }
    if (!file || !store) {
        usage(stderr);
        return 2;
    }
    char *buf = NULL, err[512];
    size_t len = 0, nerr = 0;
    if (rl_read_file(file, &buf, &len, err, sizeof err) != SGW_OK) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct rl_policy *p = NULL;
    int rc = rl_policy_parse(file, buf, len, &p, stderr, &nerr);
    if (rc != SGW_OK) {
        free(buf);
        if (rc == SGW_ENOMEM)
            return 2;
        fprintf(stderr, "%s: %zu error%s; store %s not changed\n", file, nerr,
                nerr == 1 ? "" : "s", store);
        return 1;
    }
    uint64_t version = 0;
    rc = rl_store_write(p, buf, len, store, &version, stderr);
    free(buf);
    if (rc == SGW_OK)
        printf("%s: compiled into %s: policy version %llu (%zu rules, %zu hosts, %zu cidrs)\n",
               file, store, (unsigned long long)version, p->n_rules, p->n_hosts, p->n_cidrs);
    rl_policy_free(p);
    return rc == SGW_OK ? 0 : 2;
}

static void rm_tree_store(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

static int cmd_explain(int argc, char **argv)
{
    const char *store = NULL, *policy = NULL, *pos[5] = {0};
    int npos = 0, pinned = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            store = argv[++i];
        } else if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
            policy = argv[++i];
        } else if (!strcmp(argv[i], "--pinned")) {
            pinned = 1;
        } else if (argv[i][0] == '-' && argv[i][1] && npos == 0) {
            fprintf(stderr, "sovgw policy explain: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (npos < 5) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "sovgw policy explain: too many arguments\n");
            return 2;
        }
    }
    if ((!store == !policy) || npos < 4) {
        usage(stderr);
        return 2;
    }
    uint64_t port = 0;
    if (sgw_parse_u64(pos[1], strlen(pos[1]), 65535, &port) != SGW_OK) {
        fprintf(stderr, "sovgw policy explain: PORT '%s' is not a number 0-65535\n", pos[1]);
        return 2;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const struct sockaddr *sa = NULL;
    if (npos == 5) {
        char a[64];
        size_t l = strlen(pos[4]);
        const char *s = pos[4];
        if (l >= 2 && s[0] == '[' && s[l - 1] == ']') {
            s++;
            l -= 2;
        }
        if (l >= sizeof a) {
            fprintf(stderr, "sovgw policy explain: ADDR '%s' is not an IP address\n", pos[4]);
            return 2;
        }
        memcpy(a, s, l);
        a[l] = 0;
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
        } else {
            fprintf(stderr, "sovgw policy explain: ADDR '%s' is not an IP address\n", pos[4]);
            return 2;
        }
        sa = (const struct sockaddr *)&ss;
    }
    char tmp[] = "/tmp/sovgw-explain-XXXXXX";
    int rc = 2;
    if (policy) {
        if (!mkdtemp(tmp)) {
            perror("sovgw policy explain: mkdtemp");
            return 2;
        }
        int crc = rl_policy_compile_file(policy, tmp, stderr);
        if (crc != SGW_OK) {
            rm_tree_store(tmp);
            return crc == SGW_EPROTO ? 1 : 2;
        }
        store = tmp;
    }
    struct rl_engine *eng = NULL;
    struct rl_reader *rd = NULL;
    char err[512];
    if (rl_engine_open(store, &eng, err, sizeof err) != SGW_OK) {
        fprintf(stderr, "sovgw policy explain: %s\n", err);
        goto out;
    }
    if (rl_reader_new(eng, &rd) != SGW_OK) {
        fprintf(stderr, "sovgw policy explain: cannot start a reader\n");
        goto out;
    }
    struct rl_request req = {
        .host = pos[0], .host_len = strlen(pos[0]), .port = (uint16_t)port,
        .method = pos[2], .method_len = strlen(pos[2]), .path = pos[3],
        .path_len = strlen(pos[3]), .addr = sa, .addr_pinned = pinned,
    };
    struct rl_decision dec;
    rl_decide(rd, &req, &dec);
    printf("verdict: %s\nrule: %s\nreason: %s\npolicy version: %llu\n",
           rl_verdict_str(dec.verdict), dec.rule_id, dec.reason,
           (unsigned long long)dec.policy_version);
    rc = 0;
out:
    rl_reader_free(rd);
    rl_engine_free(eng);
    if (policy)
        rm_tree_store(tmp);
    return rc;
}

int rl_cli_policy(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }
    if (!strcmp(sub, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(sub, "compile"))
        return cmd_compile(argc - 1, argv + 1);
    if (!strcmp(sub, "explain"))
        return cmd_explain(argc - 1, argv + 1);
    if (!strcmp(sub, "fingerprint"))
        return rl_cli_fingerprint(argc - 1, argv + 1);
    if (!strcmp(sub, "default")) {
        fputs(rl_default_policy(), stdout);
        return 0;
    }
    fprintf(stderr, "sovgw policy: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}

/* Policies loaded for `sovgw scan --policy`: kept reachable until exit, since
 * the cls_config handed out borrows their strings. */
static struct rl_policy **g_cls_policies;
static size_t g_n_cls_policies;

int rl_policy_classifiers_load(const char *path, struct cls_config *cfg, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, nerr = 0;
    if (rl_read_file(path, &buf, &len, err, errlen) != SGW_OK)
        return SGW_EIO;
    char *msgs = NULL;
    size_t msgs_len = 0;
    FILE *mf = open_memstream(&msgs, &msgs_len);
    struct rl_policy *p = NULL;
    int rc = rl_policy_parse(path, buf, len, &p, mf, &nerr);
    free(buf);
    if (mf)
        fclose(mf);
    if (rc != SGW_OK) {
        if (msgs && msgs_len) {
            char *nl = strchr(msgs, '\n');
            if (nl)
                *nl = 0;
            snprintf(err, errlen, "%s%s", msgs, nerr > 1 ? " (and more errors)" : "");
        } else {
            snprintf(err, errlen, "%s: cannot load the policy (%s)", path, sgw_rc_str(rc));
        }
        free(msgs);
        return rc == SGW_ENOMEM ? SGW_ENOMEM : SGW_EPROTO;
    }
    free(msgs);
    struct rl_policy **np = realloc(g_cls_policies, (g_n_cls_policies + 1) * sizeof *np);
    if (!np) {
        rl_policy_free(p);
        snprintf(err, errlen, "%s: out of memory", path);
        return SGW_ENOMEM;
    }
    g_cls_policies = np;
    g_cls_policies[g_n_cls_policies++] = p;
    memset(cfg, 0, sizeof *cfg);
    if (p->has_packs) {
        cfg->packs = (const char *const *)p->packs;
        cfg->n_packs = p->n_packs;
    }
    cfg->dicts = p->dicts;
    cfg->n_dicts = p->n_dicts;
    cfg->regexes = p->regexes;
    cfg->n_regexes = p->n_regexes;
    cfg->fingerprints = p->fps;
    cfg->n_fingerprints = p->n_fps;
    return SGW_OK;
}
