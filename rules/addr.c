/* rules/addr.c — address ranges: strict CIDR parsing, containment, and host
 * keys (reversed labels) shared by the compiler and the evaluator. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"

static const uint8_t k_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void mask_bits(uint8_t *a, unsigned nbytes, unsigned plen)
{
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned bit = i * 8;
        if (bit >= plen)
            a[i] = 0;
        else if (plen - bit < 8)
            a[i] &= (uint8_t)(0xffu << (8 - (plen - bit)));
    }
}

int rl_cidr_parse(const char *s, size_t n, struct rl_cidr *out, const char **why)
{
    char buf[64];
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof buf) {
        *why = "not an address range (expected a.b.c.d/n or an IPv6 prefix)";
        return SGW_EPROTO;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    if (memchr(s, 0, n)) {
        *why = "contains a NUL byte";
        return SGW_EPROTO;
    }
    char *slash = strchr(buf, '/');
    uint64_t plen = 0;
    int has_plen = 0;
    if (slash) {
        *slash = 0;
        const char *pl = slash + 1;
        size_t pn = strlen(pl);
        if (pn == 0 || pn > 3 || (pn > 1 && pl[0] == '0') ||
            sgw_parse_u64(pl, pn, 128, &plen) != SGW_OK) {
            *why = "prefix length must be a decimal number (0-32 for IPv4, 0-128 for IPv6)";
            return SGW_EPROTO;
        }
        has_plen = 1;
    }
    uint8_t a[16];
    if (inet_pton(AF_INET, buf, a) == 1) {
        if (!has_plen)
            plen = 32;
        if (plen > 32) {
            *why = "IPv4 prefix length must be 0-32";
            return SGW_EPROTO;
        }
        out->family = 4;
        memcpy(out->addr, a, 4);
    } else if (inet_pton(AF_INET6, buf, a) == 1) {
        if (!has_plen)
            plen = 128;
        if (plen >= 96 && memcmp(a, k_v4mapped, 12) == 0) {
            /* IPv4-mapped: the destination is really IPv4 */
            out->family = 4;
            memcpy(out->addr, a + 12, 4);
            plen -= 96;
        } else {
            out->family = 6;
            memcpy(out->addr, a, 16);
        }
    } else {
        *why = "not a valid IPv4 or IPv6 address (only dotted-quad and standard IPv6 forms)";
        return SGW_EPROTO;
    }
    out->plen = (uint8_t)plen;
    uint8_t m[16];
    memcpy(m, out->addr, 16);
    mask_bits(m, out->family == 4 ? 4u : 16u, out->plen);
    if (memcmp(m, out->addr, 16) != 0) {
        *why = "address has bits set beyond the prefix length (did you mean the network address?)";
        return SGW_EPROTO;
    }
    return SGW_OK;
}

int rl_cidr_contains(const struct rl_cidr *c, uint8_t family, const uint8_t *addr)
{
    if (c->family != family)
        return 0;
    unsigned full = c->plen / 8u, rest = c->plen % 8u;
    if (memcmp(c->addr, addr, full) != 0)
        return 0;
    if (rest) {
        uint8_t m = (uint8_t)(0xffu << (8 - rest));
        if ((c->addr[full] & m) != (addr[full] & m))
            return 0;
    }
    return 1;
}

void rl_cidr_format(const struct rl_cidr *c, char *buf, size_t n)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof a))
        a[0] = 0;
    snprintf(buf, n, "%s/%u", a, (unsigned)c->plen);
}

size_t rl_host_key(const char *host, size_t n, int wildcard, char *key, size_t cap)
{
    /* "a.b.c" -> "c.b.a." ; wildcard suffix "b.c" -> "c.b.*" */
    size_t need = n + 1 + (wildcard ? 1 : 0);
    if (n == 0 || need > cap)
        return 0;
    size_t o = 0, end = n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && host[start - 1] != '.')
            start--;
        memcpy(key + o, host + start, end - start);
        o += end - start;
        key[o++] = '.';
        end = start ? start - 1 : 0;
    }
    if (wildcard)
        key[o++] = '*';
    return o;
}
