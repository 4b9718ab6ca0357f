/* fuzz/fuzz_classifiers_x509.c — the X.509 decoder (certificates, requests,
 * CRLs in DER) and the ways into it: random splits must give the same
 * transcript as one call; no crash, no leak, no empty data call. The first
 * byte seeds the split points and picks the way in: DER declared, DER
 * sniffed, the DER as a PEM block in text, or as base64 in a JSON string
 * (the base64 stage's route). */
#include "fuzz_classifiers_decode_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define X_MAX (96u * 1024u)

static size_t x_b64(const uint8_t *in, size_t n, char *out, int wrap)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, line = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
        if (wrap && (line += 4) == 64) {
            out[o++] = '\n';
            line = 0;
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[X_MAX / 3 * 4 + X_MAX / 48 + 128];
    if (size < 1 || size - 1 > X_MAX)
        return 0;
    const uint8_t *der = data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
        fz_check("application/pkix-cert", NULL, der, n, data[0]);
        break;
    case 1:
        fz_check(NULL, NULL, der, n, data[0]);
        break;
    case 2: {
        size_t k = (size_t)snprintf(buf, sizeof(buf), "-----BEGIN CERTIFICATE-----\n");
        k += x_b64(der, n, buf + k, 1);
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\n-----END CERTIFICATE-----\n");
        fz_check("text/plain", NULL, (const uint8_t *)buf, k, data[0]);
        break;
    }
    default: {
        size_t k = (size_t)snprintf(buf, sizeof(buf), "{\"Certificate\":\"");
        k += x_b64(der, n, buf + k, 0);
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\"}");
        fz_check("application/x-amz-json-1.1", NULL, (const uint8_t *)buf, k, data[0]);
        break;
    }
    }
    return 0;
}
