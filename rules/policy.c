/* rules/policy.c — the policy source: YAML (libyaml document model) to a
 * validated, normalised struct rl_policy. Every problem is reported with its
 * position; nothing unknown is ever silently ignored. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "rules/internal.h"

struct pctx {
    const char *name;
    yaml_document_t *doc;
    FILE *errs;
    size_t n_errors;
    uint8_t *seen; /* per node: visited once (a second visit = an alias) */
    size_t n_nodes;
    int oom;
    struct rl_policy *p;
};

static void perr_at(struct pctx *c, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr_at(struct pctx *c, size_t line, size_t col, const char *fmt, ...)
{
    c->n_errors++;
    if (!c->errs)
        return;
    fprintf(c->errs, "%s:%zu:%zu: ", c->name, line, col);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->errs, fmt, ap);
    va_end(ap);
    fputc('\n', c->errs);
}

/* A warning: printed like an error but the policy stays valid. */
static void pwarn(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pwarn(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    if (!c->errs)
        return;
    fprintf(c->errs, "%s:%zu:%zu: warning: ", c->name, n->start_mark.line + 1,
            n->start_mark.column + 1);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->errs, fmt, ap);
    va_end(ap);
    fputc('\n', c->errs);
}

#define perr(c, n, ...) perr_at((c), (n)->start_mark.line + 1, (n)->start_mark.column + 1, __VA_ARGS__)

/* Returns the node, or NULL (reported) when it was already visited: libyaml
 * shares one node between an anchor and its aliases, so a second visit is an
 * alias. Refusing them bounds the work (no "billion laughs") and cycles. */
static yaml_node_t *node_get(struct pctx *c, int idx, yaml_node_t *parent)
{
    yaml_node_t *n = yaml_document_get_node(c->doc, idx);
    if (!n)
        return NULL;
    size_t i = (size_t)(idx - 1);
    if (i >= c->n_nodes)
        return NULL;
    if (c->seen[i]) {
        perr(c, parent, "YAML aliases (*name) are not supported in a policy; write the value out");
        return NULL;
    }
    c->seen[i] = 1;
    return n;
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    size_t l = n->data.scalar.length;
    return l == 0 || (l == 1 && v[0] == '~') ||
           (l == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

static const char *type_name(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (is_null(n))
        return "null";
    return "a scalar";
}

/* A non-null, NUL-free scalar; reports and returns 0 otherwise. */
static int scalar(struct pctx *c, yaml_node_t *n, const char *what, const char **s, size_t *len)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        perr(c, n, "%s must be a string, got %s", what, type_name(n));
        return 0;
    }
    *s = (const char *)n->data.scalar.value;
    *len = n->data.scalar.length;
    if (memchr(*s, 0, *len)) {
        perr(c, n, "%s contains a NUL byte", what);
        return 0;
    }
    return 1;
}

static char *dupn(struct pctx *c, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        c->oom = 1;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static const char *const k_unsupported[] = {"aws", "model", "inspect", "residency"};

static int is_unsupported(const char *k, size_t n)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_unsupported); i++)
        if (strlen(k_unsupported[i]) == n && !memcmp(k, k_unsupported[i], n))
            return 1;
    return 0;
}

/* Iterates a mapping: checks keys are unique scalars among `allowed`, and
 * calls back with the index of each allowed key. Unknown keys, planned keys
 * and duplicates are reported. */
typedef void (*key_fn)(struct pctx *c, void *ud, size_t which, yaml_node_t *key, yaml_node_t *val);

static void map_each(struct pctx *c, yaml_node_t *m, const char *where, const char *const *allowed,
                     size_t n_allowed, key_fn fn, void *ud)
{
    yaml_node_pair_t *pairs = m->data.mapping.pairs.start;
    size_t np = (size_t)(m->data.mapping.pairs.top - pairs);
    unsigned seen_mask = 0;
    for (size_t i = 0; i < np; i++) {
        yaml_node_t *k = node_get(c, pairs[i].key, m);
        yaml_node_t *v = node_get(c, pairs[i].value, m);
        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE) {
            perr(c, k, "keys in %s must be strings, got %s", where, type_name(k));
            continue;
        }
        const char *ks = (const char *)k->data.scalar.value;
        size_t kn = k->data.scalar.length;
        size_t which = n_allowed;
        for (size_t j = 0; j < n_allowed; j++)
            if (strlen(allowed[j]) == kn && !memcmp(allowed[j], ks, kn))
                which = j;
        if (which == n_allowed) {
            if (is_unsupported(ks, kn)) {
                perr(c, k, "'%.*s' is not supported yet in this version (policy format 1)",
                     (int)(kn > 64 ? 64 : kn), ks);
            } else {
                char list[256] = "";
                size_t o = 0;
                for (size_t j = 0; j < n_allowed && o < sizeof list; j++) {
                    int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", allowed[j]);
                    if (w < 0)
                        break;
                    o += (size_t)w;
                }
                perr(c, k, "unknown key '%.*s' in %s (expected one of: %s)",
                     (int)(kn > 64 ? 64 : kn), ks, where, list);
            }
            continue;
        }
        if (seen_mask & (1u << which)) {
            perr(c, k, "duplicate key '%s' in %s", allowed[which], where);
            continue;
        }
        seen_mask |= 1u << which;
        fn(c, ud, which, k, v);
    }
}

static int map_has(yaml_node_t *m, yaml_document_t *doc, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            !memcmp(k->data.scalar.value, key, k->data.scalar.length))
            return 1;
    }
    return 0;
}

/* Calls fn for each item of a list (a single scalar counts as a one-item
 * list). Empty lists are errors: they would silently never match. Returns
 * the item count. */
typedef void (*item_fn)(struct pctx *c, void *ud, yaml_node_t *item);

static size_t list_each(struct pctx *c, yaml_node_t *key, yaml_node_t *v, const char *what,
                        item_fn fn, void *ud)
{
    if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
        fn(c, ud, v);
        return 1;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        perr(c, v, "%s must be a list, got %s", what, type_name(v));
        return 0;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) {
        perr(c, key, "%s is an empty list (remove the key instead: an empty list matches nothing)",
             what);
        return 0;
    }
    if (n > RL_MAX_ITEMS && strcmp(what, "host") != 0) {
        perr(c, v, "%s has %zu items (at most %u)", what, n, RL_MAX_ITEMS);
        return 0;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *item = node_get(c, *it, v);
        if (item)
            fn(c, ud, item);
    }
    return n;
}

/* ---- host ---- */

static int host_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Validates a host name (already lowercased, no trailing dot). NULL when ok. */
static const char *host_check(const char *h, size_t n)
{
    if (n == 0)
        return "empty host name";
    if (n > RL_MAX_HOST)
        return "host name longer than 253 characters";
    size_t lab = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            if (lab == 0)
                return "empty label in host name (two dots, or a leading dot)";
            if (lab > 63)
                return "label longer than 63 characters in host name";
            if (h[i - 1] == '-' || h[i - lab] == '-')
                return "a label must not start or end with '-'";
            lab = 0;
            continue;
        }
        unsigned char ch = (unsigned char)h[i];
        if (ch == '*')
            return "wildcards are only allowed as a leading '*.' (e.g. *.example.com)";
        if (ch == ':')
            return "an IPv6 address is not a host name (use cidr: for addresses)";
        if (!host_char(ch))
            return "invalid character in host name (allowed: letters, digits, '-', '_', '.'; "
                   "write internationalised names in their xn-- form)";
        lab++;
    }
    return NULL;
}

struct rule_build {
    struct rl_rule *r;
    size_t cap_hosts, cap_ports, cap_paths, cap_cidrs;
};

static int grow(struct pctx *c, void **arr, size_t *cap, size_t n, size_t elsz)
{
    if (n < *cap)
        return 1;
    size_t nc = *cap ? *cap * 2 : 4;
    void *na = realloc(*arr, nc * elsz);
    if (!na) {
        c->oom = 1;
        return 0;
    }
    *arr = na;
    *cap = nc;
    return 1;
}

static void host_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct rule_build *b = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "host", &s, &len))
        return;
    char buf[RL_MAX_HOST + 8];
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len > RL_MAX_HOST + 2) {
        perr(c, n, "host '%.40s...': host name longer than 253 characters", s);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    const char *why;
    if (len >= 2 && buf[0] == '*' && buf[1] == '.')
        why = host_check(buf + 2, len - 2);
    else if (len == 1 && buf[0] == '*')
        why = "'*' alone is not a host pattern (leave host: out to match any host)";
    else
        why = host_check(buf, len);
    if (why) {
        perr(c, n, "host '%.*s': %s", (int)(len > 80 ? 80 : len), s, why);
        return;
    }
    if (!grow(c, (void **)&b->r->hosts, &b->cap_hosts, b->r->n_hosts, sizeof(char *)))
        return;
    char *d = dupn(c, buf, len);
    if (d)
        b->r->hosts[b->r->n_hosts++] = d;
}

/* ---- port ---- */

static int port_num(const char *s, size_t n, uint16_t *out)
{
    uint64_t v;
    if (n > 1 && s[0] == '0')
        return 0;
    if (sgw_parse_u64(s, n, 65535, &v) != SGW_OK || v == 0)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

static void port_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct rule_build *b = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "port", &s, &len))
        return;
    struct rl_port_range pr;
    const char *dash = memchr(s, '-', len);
    int ok;
    if (dash) {
        ok = port_num(s, (size_t)(dash - s), &pr.lo) &&
             port_num(dash + 1, len - (size_t)(dash - s) - 1, &pr.hi);
    } else {
        ok = port_num(s, len, &pr.lo);
        pr.hi = pr.lo;
    }
    if (!ok) {
        perr(c, n, "port '%.*s': expected a port 1-65535 or a range like 8000-8100",
             (int)(len > 40 ? 40 : len), s);
        return;
    }
    if (pr.lo > pr.hi) {
        perr(c, n, "port range '%.*s' is reversed (low-high)", (int)len, s);
        return;
    }
    if (!grow(c, (void **)&b->r->ports, &b->cap_ports, b->r->n_ports, sizeof pr))
        return;
    b->r->ports[b->r->n_ports++] = pr;
}

/* ---- method ---- */

static const char *const k_methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};

uint32_t rl_method_bit(const char *m, size_t n)
{
    for (size_t i = 0; i < SGW_ARRAY_LEN(k_methods); i++)
        if (strlen(k_methods[i]) == n && !memcmp(k_methods[i], m, n))
            return 1u << i;
    return 0;
}

static void method_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct rule_build *b = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "method", &s, &len))
        return;
    char up[16];
    uint32_t bit = 0;
    if (len < sizeof up) {
        for (size_t i = 0; i < len; i++)
            up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
        bit = rl_method_bit(up, len);
    }
    if (!bit) {
        perr(c, n,
             "unknown method '%.*s' (expected GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, "
             "TRACE or PATCH)",
             (int)(len > 20 ? 20 : len), s);
        return;
    }
    b->r->methods |= bit;
}

/* ---- path ---- */


static const char *path_check(const char *s, size_t n)
{
    if (n == 0 || s[0] != '/')
        return "a path prefix must start with '/'";
    if (n > RL_MAX_PATH)
        return "path prefix longer than 1024 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return "path prefix contains a space, control or non-ASCII byte (percent-encode it)";
        if (ch == '\\' || ch == '#')
            return "path prefix contains '\\' or '#'";
        if (ch == '*')
            return "path entries are prefixes; wildcards are not supported";
        if (ch == '%') {
            int hi = i + 2 < n ? sgw_hex_val((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? sgw_hex_val((unsigned char)s[i + 2]) : -1;
            if (i + 2 >= n || hi < 0 || lo < 0)
                return "path prefix has a malformed percent-escape";
            int v = hi * 16 + lo;
            if (v == '.' || v == '/' || v == '\\')
                return "path prefix percent-encodes '.', '/' or '\\' (write the plain character)";
        }
        if (ch == '/' && i + 1 < n && s[i + 1] == '.') {
            size_t j = i + 1;
            while (j < n && s[j] == '.')
                j++;
            if ((j - i - 1 == 1 || j - i - 1 == 2) && (j == n || s[j] == '/' || s[j] == '?'))
                return "path prefix contains a '.' or '..' segment";
        }
    }
    return NULL;
}

static void path_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct rule_build *b = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "path", &s, &len))
        return;
    const char *why = path_check(s, len);
    if (why) {
        perr(c, n, "path '%.*s': %s", (int)(len > 80 ? 80 : len), s, why);
        return;
    }
    if (!grow(c, (void **)&b->r->paths, &b->cap_paths, b->r->n_paths, sizeof(char *)))
        return;
    char *d = dupn(c, s, len);
    if (d)
        b->r->paths[b->r->n_paths++] = d;
}

/* ---- cidr ---- */

static void cidr_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct rule_build *b = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "cidr", &s, &len))
        return;
    struct rl_cidr ci;
    const char *why = NULL;
    if (rl_cidr_parse(s, len, &ci, &why) != SGW_OK) {
        perr(c, n, "cidr '%.*s': %s", (int)(len > 60 ? 60 : len), s, why);
        return;
    }
    if (!grow(c, (void **)&b->r->cidrs, &b->cap_cidrs, b->r->n_cidrs, sizeof ci))
        return;
    b->r->cidrs[b->r->n_cidrs++] = ci;
}

/* ---- match ---- */

static const char *const k_match_keys[] = {"host", "port", "method", "path", "cidr"};

static void match_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    static const item_fn fns[] = {host_item, port_item, method_item, path_item, cidr_item};
    list_each(c, k, v, k_match_keys[which], fns[which], ud);
}

/* ---- rule ---- */

struct rule_ud {
    struct rule_build b;
    int has_id, has_action;
};

static int id_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
}

static const char *const k_rule_keys[] = {"id", "description", "match", "action"};

static void rule_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    struct rule_ud *u = ud;
    struct rl_rule *r = u->b.r;
    const char *s;
    size_t len;
    switch (which) {
    case 0: /* id */
        u->has_id = 1;
        if (!scalar(c, v, "id", &s, &len))
            return;
        if (len == 0 || len > RL_MAX_ID) {
            perr(c, v, "rule id must be 1-%u characters", RL_MAX_ID);
            return;
        }
        for (size_t i = 0; i < len; i++) {
            if (!id_char((unsigned char)s[i])) {
                perr(c, v, "rule id '%.*s' has an invalid character (allowed: letters, digits, "
                           "'-', '_', '.')",
                     (int)len, s);
                return;
            }
        }
        r->id = dupn(c, s, len);
        return;
    case 1: /* description: free text for humans */
        scalar(c, v, "description", &s, &len);
        return;
    case 2: /* match */
        if (v->type != YAML_MAPPING_NODE) {
            perr(c, v, "match must be a mapping, got %s", type_name(v));
            return;
        }
        if (v->data.mapping.pairs.top == v->data.mapping.pairs.start) {
            perr(c, v, "match is empty (remove it to match every request)");
            return;
        }
        r->has_match = 1;
        map_each(c, v, "match", k_match_keys, SGW_ARRAY_LEN(k_match_keys), match_key, &u->b);
        return;
    case 3: /* action */
        u->has_action = 1;
        if (!scalar(c, v, "action", &s, &len))
            return;
        if (len == 5 && !memcmp(s, "allow", 5)) {
            r->action = RL_ACT_ALLOW;
        } else if (len == 4 && !memcmp(s, "deny", 4)) {
            r->action = RL_ACT_DENY;
        } else {
            perr(c, v, "unknown action '%.*s' (expected allow or deny)", (int)(len > 20 ? 20 : len),
                 s);
            u->has_action = 2;
        }
        return;
    }
    (void)k;
}

static void rule_free(struct rl_rule *r)
{
    free(r->id);
    for (size_t i = 0; i < r->n_hosts; i++)
        free(r->hosts[i]);
    free(r->hosts);
    free(r->ports);
    for (size_t i = 0; i < r->n_paths; i++)
        free(r->paths[i]);
    free(r->paths);
    free(r->cidrs);
}

static void rules_list(struct pctx *c, yaml_node_t *k, yaml_node_t *v)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        perr(c, v, "rules must be a list, got %s", type_name(v));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) {
        perr(c, k, "rules is an empty list (remove it to apply only the default action)");
        return;
    }
    if (n > RL_MAX_RULES) {
        perr(c, v, "%zu rules (at most %u)", n, RL_MAX_RULES);
        return;
    }
    struct rl_policy *p = c->p;
    p->rules = calloc(n, sizeof *p->rules);
    if (!p->rules) {
        c->oom = 1;
        return;
    }
    /* (id, line) of every accepted rule, to report duplicates */
    for (size_t i = 0; i < n && !c->oom; i++) {
        yaml_node_t *rn = node_get(c, v->data.sequence.items.start[i], v);
        if (!rn)
            continue;
        if (rn->type != YAML_MAPPING_NODE) {
            perr(c, rn, "each rule must be a mapping (id, match, action), got %s", type_name(rn));
            continue;
        }
        struct rl_rule r = {0};
        r.line = (uint32_t)rn->start_mark.line + 1;
        struct rule_ud u = {.b = {.r = &r}};
        size_t before = c->n_errors;
        map_each(c, rn, "a rule", k_rule_keys, SGW_ARRAY_LEN(k_rule_keys), rule_key, &u);
        if (!u.has_id)
            perr(c, rn, "rule has no id (every rule needs a unique id)");
        if (!u.has_action)
            perr(c, rn, "rule%s%s has no action (allow or deny)", r.id ? " " : "",
                 r.id ? r.id : "");
        if (r.id) {
            for (size_t j = 0; j < p->n_rules; j++) {
                if (!strcmp(p->rules[j].id, r.id)) {
                    perr(c, rn, "duplicate rule id '%s' (first defined at line %u)", r.id,
                         (unsigned)p->rules[j].line);
                    break;
                }
            }
        }
        if (c->n_errors != before || c->oom || !r.id) {
            rule_free(&r);
            continue;
        }
        /* first match wins: nothing after a catch-all can ever decide */
        for (size_t j = 0; j < p->n_rules; j++) {
            if (!p->rules[j].has_match) {
                pwarn(c, rn, "rule %s is never reached: rule %s (line %u) matches every request",
                      r.id, p->rules[j].id, (unsigned)p->rules[j].line);
                break;
            }
        }
        p->n_hosts += r.n_hosts;
        p->n_cidrs += r.n_cidrs;
        p->rules[p->n_rules++] = r;
    }
}

/* ---- defaults ---- */

/* "8MiB", "512KiB", "1GiB", "10MB", "4096" -> bytes (at most 4 GiB). */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
    static const struct {
        const char *suf;
        uint64_t mul;
    } units[] = {{"KiB", 1024ull},   {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"KB", 1000ull},
                 {"MB", 1000000ull}, {"GB", 1000000000ull}, {"B", 1ull}};
    size_t d = 0;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    uint64_t mul = 1, v;
    if (d < n) {
        size_t i;
        for (i = 0; i < SGW_ARRAY_LEN(units); i++)
            if (strlen(units[i].suf) == n - d && !memcmp(units[i].suf, s + d, n - d))
                break;
        if (i == SGW_ARRAY_LEN(units))
            return 0;
        mul = units[i].mul;
    }
    if (sgw_parse_u64(s, d, 1ull << 32, &v) != SGW_OK || v == 0)
        return 0;
    if (v > (4ull << 30) / mul)
        return 0;
    *out = v * mul;
    return 1;
}

static const char *const k_defaults_keys[] = {"action", "inspect_limit"};

static void defaults_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    const char *s;
    size_t len;
    (void)ud;
    (void)k;
    if (!scalar(c, v, which == 0 ? "defaults.action" : "defaults.inspect_limit", &s, &len))
        return;
    if (which == 0) {
        if (len == 5 && !memcmp(s, "allow", 5))
            c->p->default_action = RL_ACT_ALLOW;
        else if (len == 4 && !memcmp(s, "deny", 4))
            c->p->default_action = RL_ACT_DENY;
        else
            perr(c, v, "unknown default action '%.*s' (expected allow or deny)",
                 (int)(len > 20 ? 20 : len), s);
        return;
    }
    if (!parse_size(s, len, &c->p->inspect_limit))
        perr(c, v, "inspect_limit '%.*s': expected a size like 8MiB, 512KiB or 1048576 "
                   "(1 byte to 4GiB)",
             (int)(len > 20 ? 20 : len), s);
}

/* ---- classifiers ---- */

static const char *const k_packs[] = {"pii-core", "pii-eu", "pii-world", "secrets"};

static void pack_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    size_t *cap = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "pack", &s, &len))
        return;
    size_t i;
    for (i = 0; i < SGW_ARRAY_LEN(k_packs); i++)
        if (strlen(k_packs[i]) == len && !memcmp(k_packs[i], s, len))
            break;
    if (i == SGW_ARRAY_LEN(k_packs)) {
        perr(c, n, "unknown classifier pack '%.*s' (expected pii-core, pii-eu, pii-world or "
                   "secrets)",
             (int)(len > 40 ? 40 : len), s);
        return;
    }
    if (!grow(c, (void **)&c->p->packs, cap, c->p->n_packs, sizeof(char *)))
        return;
    char *d = dupn(c, s, len);
    if (d)
        c->p->packs[c->p->n_packs++] = d;
}

static int type_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

struct dict_ud {
    struct cls_dictionary d;
    char **terms;
    size_t cap;
    int has_name, has_terms;
};

static void term_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct dict_ud *u = ud;
    const char *s;
    size_t len;
    if (!scalar(c, n, "term", &s, &len))
        return;
    if (len == 0 || len > 64) {
        /* (the classifier engine's limit: a term's words may lie apart, and
           its longest match must fit the scanner's window) */
        perr(c, n, "dictionary terms must be 1-64 bytes");
        return;
    }
    size_t blank = 0;
    while (blank < len && (s[blank] == ' ' || (s[blank] >= '\t' && s[blank] <= '\r')))
        blank++;
    if (blank == len) {
        perr(c, n, "a dictionary term must not be only whitespace");
        return;
    }
    if (!grow(c, (void **)&u->terms, &u->cap, u->d.n_terms, sizeof(char *)))
        return;
    char *d = dupn(c, s, len);
    if (d)
        u->terms[u->d.n_terms++] = d;
}

static const char *const k_dict_keys[] = {"name", "terms"};

static void dict_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    struct dict_ud *u = ud;
    const char *s;
    size_t len;
    if (which == 0) {
        u->has_name = 1;
        if (!scalar(c, v, "dictionary name", &s, &len))
            return;
        if (!type_name_ok(s, len)) {
            perr(c, v, "finding type name '%.*s' must be UPPER_SNAKE_CASE (1-63 characters)",
                 (int)(len > 63 ? 63 : len), s);
            return;
        }
        u->d.name = dupn(c, s, len);
    } else {
        u->has_terms = 1;
        list_each(c, k, v, "terms", term_item, u);
    }
}

static const char *const k_regex_keys[] = {"name", "pattern", "validator"};

struct regex_ud {
    struct cls_custom_regex r;
    int has_name, has_pattern;
};

static void regex_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    struct regex_ud *u = ud;
    const char *s;
    size_t len;
    (void)k;
    if (!scalar(c, v, k_regex_keys[which], &s, &len)) {
        u->has_name |= which == 0;
        u->has_pattern |= which == 1;
        return;
    }
    if (which == 0) {
        u->has_name = 1;
        if (!type_name_ok(s, len)) {
            perr(c, v, "finding type name '%.*s' must be UPPER_SNAKE_CASE (1-63 characters)",
                 (int)(len > 63 ? 63 : len), s);
            return;
        }
        u->r.name = dupn(c, s, len);
    } else if (which == 1) {
        u->has_pattern = 1;
        if (len == 0 || len > 4096) {
            perr(c, v, "pattern must be 1-4096 characters");
            return;
        }
        u->r.pattern = dupn(c, s, len);
    } else {
        int ok = len > 0 && len <= 32;
        for (size_t i = 0; ok && i < len; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
        if (!ok) {
            perr(c, v, "validator '%.*s' must be a lowercase name like luhn or mod97",
                 (int)(len > 32 ? 32 : len), s);
            return;
        }
        u->r.validator = dupn(c, s, len);
    }
}

static void free_dict(struct cls_dictionary *d)
{
    free((char *)d->name);
    for (size_t i = 0; i < d->n_terms; i++)
        free((char *)d->terms[i]);
    free((void *)d->terms);
}

static void free_regex(struct cls_custom_regex *r)
{
    free((char *)r->name);
    free((char *)r->pattern);
    free((char *)r->validator);
}

struct cls_lists {
    size_t cap_packs, cap_dicts, cap_regexes, cap_fps;
};

/* Exactly 64 hex digits into 32 bytes; 0 on anything else. */
static int hex32(const char *s, size_t len, uint8_t out[32])
{
    return sgw_hex_decode(s, len, out, 32) == 0;
}

static const char *const k_fp_keys[] = {"name", "key", "hashes"};

struct fp_ud {
    struct cls_fingerprints f;
    uint8_t (*hashes)[32];
    size_t cap;
    int has_name, has_key, has_hashes;
};

static void hash_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct fp_ud *u = ud;
    const char *s;
    size_t len;
    uint8_t h[32];
    if (!scalar(c, n, "hash", &s, &len))
        return;
    if (!hex32(s, len, h)) {
        perr(c, n, "fingerprint hashes must be 64 hex digits (HMAC-SHA256, from `sovgw policy fingerprint`)");
        return;
    }
    if (!grow(c, (void **)&u->hashes, &u->cap, u->f.n_hashes, sizeof *u->hashes))
        return;
    memcpy(u->hashes[u->f.n_hashes++], h, 32);
}

static void fp_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    struct fp_ud *u = ud;
    const char *s;
    size_t len;
    if (which == 0) {
        u->has_name = 1;
        if (!scalar(c, v, "fingerprint set name", &s, &len))
            return;
        if (!type_name_ok(s, len)) {
            perr(c, v, "finding type name '%.*s' must be UPPER_SNAKE_CASE (1-63 characters)",
                 (int)(len > 63 ? 63 : len), s);
            return;
        }
        u->f.name = dupn(c, s, len);
    } else if (which == 1) {
        u->has_key = 1;
        if (!scalar(c, v, "fingerprint key", &s, &len))
            return;
        if (!hex32(s, len, u->f.key))
            perr(c, v, "fingerprint key must be 64 hex digits (a 256-bit HMAC key)");
    } else {
        u->has_hashes = 1;
        list_each(c, k, v, "hashes", hash_item, u);
    }
}

static void free_fp(struct cls_fingerprints *f)
{
    free((char *)f->name);
    free((void *)f->hashes);
}

static void fp_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct cls_lists *l = ud;
    if (n->type != YAML_MAPPING_NODE) {
        perr(c, n, "a fingerprint set must be a mapping (name, key, hashes), got %s",
             type_name(n));
        return;
    }
    struct fp_ud u = {0};
    size_t before = c->n_errors;
    map_each(c, n, "a fingerprint set", k_fp_keys, SGW_ARRAY_LEN(k_fp_keys), fp_key, &u);
    u.f.hashes = (const uint8_t(*)[32])u.hashes;
    if (!u.has_name)
        perr(c, n, "fingerprint set has no name");
    if (!u.has_key)
        perr(c, n, "fingerprint set has no key");
    if (!u.has_hashes)
        perr(c, n, "fingerprint set has no hashes");
    if (c->n_errors != before || c->oom ||
        !grow(c, (void **)&c->p->fps, &l->cap_fps, c->p->n_fps, sizeof u.f)) {
        free_fp(&u.f);
        return;
    }
    c->p->fps[c->p->n_fps++] = u.f;
}

static void dict_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct cls_lists *l = ud;
    if (n->type != YAML_MAPPING_NODE) {
        perr(c, n, "a dictionary must be a mapping (name, terms), got %s", type_name(n));
        return;
    }
    struct dict_ud u = {0};
    size_t before = c->n_errors;
    map_each(c, n, "a dictionary", k_dict_keys, 2, dict_key, &u);
    u.d.terms = (const char *const *)u.terms;
    if (!u.has_name)
        perr(c, n, "dictionary has no name");
    if (!u.has_terms)
        perr(c, n, "dictionary has no terms");
    if (c->n_errors != before || c->oom ||
        !grow(c, (void **)&c->p->dicts, &l->cap_dicts, c->p->n_dicts, sizeof u.d)) {
        free_dict(&u.d);
        return;
    }
    c->p->dicts[c->p->n_dicts++] = u.d;
}

static void regex_item(struct pctx *c, void *ud, yaml_node_t *n)
{
    struct cls_lists *l = ud;
    if (n->type != YAML_MAPPING_NODE) {
        perr(c, n, "a regex must be a mapping (name, pattern, validator), got %s", type_name(n));
        return;
    }
    struct regex_ud u = {0};
    size_t before = c->n_errors;
    map_each(c, n, "a regex", k_regex_keys, 3, regex_key, &u);
    if (!u.has_name)
        perr(c, n, "regex has no name");
    if (!u.has_pattern)
        perr(c, n, "regex has no pattern");
    if (c->n_errors != before || c->oom ||
        !grow(c, (void **)&c->p->regexes, &l->cap_regexes, c->p->n_regexes, sizeof u.r)) {
        free_regex(&u.r);
        return;
    }
    c->p->regexes[c->p->n_regexes++] = u.r;
}

static const char *const k_cls_keys[] = {"packs", "dictionaries", "regexes", "fingerprints"};

static void cls_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    struct cls_lists *l = ud;
    switch (which) {
    case 0:
        c->p->has_packs = 1;
        list_each(c, k, v, "packs", pack_item, &l->cap_packs);
        return;
    case 1:
        list_each(c, k, v, "dictionaries", dict_item, l);
        return;
    case 2:
        list_each(c, k, v, "regexes", regex_item, l);
        return;
    default:
        list_each(c, k, v, "fingerprints", fp_item, l);
        return;
    }
}

/* ---- top level ---- */

static const char *const k_top_keys[] = {"version", "defaults", "classifiers", "rules"};

static void top_key(struct pctx *c, void *ud, size_t which, yaml_node_t *k, yaml_node_t *v)
{
    const char *s;
    size_t len;
    (void)ud;
    switch (which) {
    case 0:
        if (!scalar(c, v, "version", &s, &len))
            return;
        if (!(len == 1 && s[0] == '1'))
            perr(c, v, "unsupported policy version '%.*s' (this sovgw reads version 1)",
                 (int)(len > 20 ? 20 : len), s);
        return;
    case 1:
        if (v->type != YAML_MAPPING_NODE) {
            perr(c, v, "defaults must be a mapping, got %s", type_name(v));
            return;
        }
        map_each(c, v, "defaults", k_defaults_keys, 2, defaults_key, NULL);
        return;
    case 2: {
        if (v->type != YAML_MAPPING_NODE) {
            perr(c, v, "classifiers must be a mapping, got %s", type_name(v));
            return;
        }
        struct cls_lists l = {0};
        map_each(c, v, "classifiers", k_cls_keys, SGW_ARRAY_LEN(k_cls_keys), cls_key, &l);
        return;
    }
    case 3:
        rules_list(c, k, v);
        return;
    }
}

void rl_policy_free(struct rl_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        rule_free(&p->rules[i]);
    free(p->rules);
    for (size_t i = 0; i < p->n_packs; i++)
        free(p->packs[i]);
    free(p->packs);
    for (size_t i = 0; i < p->n_dicts; i++)
        free_dict(&p->dicts[i]);
    free(p->dicts);
    for (size_t i = 0; i < p->n_regexes; i++)
        free_regex(&p->regexes[i]);
    free(p->regexes);
    for (size_t i = 0; i < p->n_fps; i++)
        free_fp(&p->fps[i]);
    free(p->fps);
    free(p);
}

static void yaml_error(struct pctx *c, yaml_parser_t *ps)
{
    const char *problem = ps->problem ? ps->problem : "cannot parse";
    if (ps->error == YAML_MEMORY_ERROR) {
        c->oom = 1;
        return;
    }
    if (ps->context)
        perr_at(c, ps->problem_mark.line + 1, ps->problem_mark.column + 1,
                "YAML syntax error: %s %s (line %zu)", problem, ps->context,
                ps->context_mark.line + 1);
    else
        perr_at(c, ps->problem_mark.line + 1, ps->problem_mark.column + 1,
                "YAML syntax error: %s", problem);
}

int rl_policy_parse(const char *name, const char *yaml, size_t len, struct rl_policy **out,
                    FILE *errs, size_t *n_errors)
{
    int rc = SGW_EPROTO;
    struct pctx c = {.name = name ? name : "<policy>", .errs = errs};
    yaml_parser_t ps;
    yaml_document_t doc;
    int have_doc = 0;
    *out = NULL;
    if (len > RL_MAX_POLICY_BYTES) {
        perr_at(&c, 1, 1, "policy is larger than %u bytes", RL_MAX_POLICY_BYTES);
        goto out_noparser;
    }
    c.p = calloc(1, sizeof *c.p);
    if (!c.p) {
        rc = SGW_ENOMEM;
        goto out_noparser;
    }
    if (!yaml_parser_initialize(&ps)) {
        rc = SGW_ENOMEM;
        goto out_noparser;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&ps, &doc)) {
        yaml_error(&c, &ps);
        goto out;
    }
    have_doc = 1;
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        perr_at(&c, 1, 1, "empty policy (expected a mapping starting with 'version: 1')");
        goto out;
    }
    c.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
    c.seen = calloc(c.n_nodes ? c.n_nodes : 1, 1);
    if (!c.seen) {
        c.oom = 1;
        goto out;
    }
    c.seen[0] = 1;
    if (root->type != YAML_MAPPING_NODE) {
        perr(&c, root, "a policy must be a mapping (version, defaults, classifiers, rules), got %s",
             type_name(root));
    } else {
        map_each(&c, root, "the policy", k_top_keys, SGW_ARRAY_LEN(k_top_keys), top_key, NULL);
        if (!map_has(root, &doc, "version"))
            perr(&c, root, "missing 'version: 1'");
    }
    /* a second document would be ignored: refuse it */
    yaml_document_t doc2;
    if (!yaml_parser_load(&ps, &doc2)) {
        yaml_error(&c, &ps);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
        if (r2)
            perr(&c, r2, "a policy is one YAML document; found a second one");
        yaml_document_delete(&doc2);
    }

out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
out_noparser:
    free(c.seen);
    if (c.oom) {
        rc = SGW_ENOMEM;
        if (errs)
            fprintf(errs, "%s: out of memory while reading the policy\n", c.name);
        c.n_errors++;
    } else if (c.p && c.n_errors == 0) {
        rc = SGW_OK;
    }
    if (n_errors)
        *n_errors = c.n_errors;
    if (rc == SGW_OK)
        *out = c.p;
    else
        rl_policy_free(c.p);
    return rc;
}

int rl_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int rc = SGW_EIO;
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? SGW_ENOTFOUND : SGW_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > RL_MAX_POLICY_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", path, RL_MAX_POLICY_BYTES);
        rc = SGW_ELIMIT;
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *b = malloc(cap);
    if (!b) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = SGW_ENOMEM;
        goto out;
    }
    size_t n = fread(b, 1, cap, f);
    if (ferror(f) || n >= cap) {
        snprintf(err, errlen, "%s: read error or file changed while reading", path);
        free(b);
        goto out;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    rc = SGW_OK;
out:
    fclose(f);
    return rc;
}
