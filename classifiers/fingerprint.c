/* classifiers/fingerprint.c — exact-data fingerprints: the one definition of
 * how a token is normalised and hashed, shared by the scanner (tokens found in
 * bodies) and by the tools that turn a list of sensitive values into the keyed
 * hashes a policy carries (`sovgw policy fingerprint`). Both sides must agree
 * byte for byte, or a listed value would never match. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "classifiers/classifiers.h"
#include "common/sgw.h"

int cls_fingerprint_char(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c == '@' || c == '.' || c == '+' || c == '-';
}

static int edge_punct(uint8_t c)
{
    return c == '.' || c == '_' || c == '+' || c == '-';
}

size_t cls_fingerprint_normalise(const uint8_t *tok, size_t n, uint8_t out[CLS_FP_MAX_TOKEN],
                                 size_t *core_off)
{
    size_t s = 0, t = n;
    while (s < t && edge_punct(tok[s]))
        s++;
    while (t > s && edge_punct(tok[t - 1]))
        t--;
    if (t - s < CLS_FP_MIN_TOKEN || t - s > CLS_FP_MAX_TOKEN)
        return 0;
    int sig = 0;
    for (size_t k = s; k < t; k++) {
        uint8_t c = tok[k];
        if (!cls_fingerprint_char(c))
            return 0;
        sig |= (c >= '0' && c <= '9') || c == '@';
        out[k - s] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    }
    if (core_off)
        *core_off = s;
    return sig ? t - s : 0;
}

int cls_fingerprint_hash(const uint8_t key[32], const uint8_t *norm, size_t n, uint8_t mac[32])
{
    unsigned ml = 0;
    if (!HMAC(EVP_sha256(), key, 32, norm, n, mac, &ml) || ml != 32)
        return SGW_ERR;
    return SGW_OK;
}
