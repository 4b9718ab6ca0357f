/* classifiers/decode_x509.c — X.509 certificates, certificate requests,
 * CRLs and PKCS#7 certificate lists in DER: the names in them go on as
 * text, the other fields as their bytes. Private keys in DER (PKCS#8,
 * encrypted PKCS#8, PKCS#12, RSA/EC/DSA) are reported (CLS_REPORT_KEY):
 * a key sent without its PEM lines is a secret found by its structure.
 *
 * A PEM certificate is base64 of DER, which is no text: before this decoder
 * the base64 stage reported every certificate of 1 KiB or more as
 * uninspectable, so a policy that denies what it cannot see denied ACM
 * ImportCertificate, IoT RegisterCertificate and any CA bundle. What a
 * certificate can carry about a person is in its names: the subject and
 * issuer attributes (emailAddress, CN, serialNumber, which in eIDAS
 * certificates holds a national identifier) and the subject alternative
 * names (rfc822Name, otherName UPN, DNS, URI, IP). Each attribute and each
 * alternative name is a text unit of its own with the attribute's name as
 * context. The rest goes on as bytes (x509_extensions, x509_bytes): a
 * certificate is no envelope for what the scanner would find elsewhere.
 *
 * The DER (several objects one after another: a chain) is collected up to
 * X509_MAX and parsed at the end with OpenSSL (d2i_X509, d2i_X509_REQ,
 * d2i_X509_CRL, d2i_PKCS7): a certificate cannot be read before its last
 * byte, and OpenSSL is the parser a TLS stack trusts for exactly this.
 * Anything that does not parse as one of them is reported uninspectable (when it is
 * at least `min_report` bytes: the base64 stage reports no binary run under
 * 1 KiB of characters, and this keeps that rule), as is DER over X509_MAX.
 * The OpenSSL error queue is left empty: the proxy's TLS code reads it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "classifiers/decode_internal.h"

#define X509_MAX (64u * 1024u) /* DER bytes collected (a chain of certificates) */

struct dec_x509 {
    struct dec base;
    size_t min_report; /* DER of another kind shorter than this is not reported */
    size_t len, cap;
    uint8_t *buf;
};

/* One text unit: context (the attribute's or the name's kind), then data. */
static int x509_unit(struct dec_env *env, const char *what, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    int rc = dec_text_context(env, (const uint8_t *)what, strlen(what));
    if (rc == SGW_OK)
        rc = dec_text_data(env, p, n);
    if (rc == SGW_OK)
        rc = dec_text_boundary(env);
    return rc;
}

/* An ASN.1 string as UTF-8 (BMPString, UniversalString and the rest
 * converted by OpenSSL), as a unit; one of a type with no text conversion
 * (an OCTET STRING attribute) as its bytes: nothing in a certificate
 * passes unlooked at. */
static int x509_string(struct dec_env *env, const char *what, const ASN1_STRING *s)
{
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, s);
    if (n < 0) {
        ERR_clear_error();
        return x509_unit(env, what, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    }
    int rc = x509_unit(env, what, u, (size_t)n);
    OPENSSL_free(u);
    return rc;
}

static int x509_name(struct dec_env *env, const X509_NAME *nm)
{
    int rc = SGW_OK;
    for (int i = 0; nm && i < X509_NAME_entry_count(nm) && rc == SGW_OK; i++) {
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(nm, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
        const char *what = nid != NID_undef ? OBJ_nid2ln(nid) : "attribute";
        rc = x509_string(env, what, X509_NAME_ENTRY_get_data(ne));
    }
    return rc;
}

/* A name with no text form, as its DER: its bytes are still looked at. */
static int x509_name_der(struct dec_env *env, const GENERAL_NAME *g)
{
    unsigned char *der = NULL;
    int len = i2d_GENERAL_NAME(g, &der);
    int rc = len > 0 ? x509_unit(env, "name", der, (size_t)len) : SGW_OK;
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

static int x509_general_names(struct dec_env *env, const GENERAL_NAMES *gens)
{
    int rc = SGW_OK;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc == SGW_OK; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        switch (g->type) {
        case GEN_EMAIL:
            rc = x509_string(env, "email", g->d.rfc822Name);
            break;
        case GEN_DNS:
            rc = x509_string(env, "DNS", g->d.dNSName);
            break;
        case GEN_URI:
            rc = x509_string(env, "URI", g->d.uniformResourceIdentifier);
            break;
        case GEN_DIRNAME:
            rc = x509_name(env, g->d.directoryName);
            break;
        case GEN_IPADD: {
            char ip[INET6_ADDRSTRLEN];
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            if ((len == 4 || len == 16) &&
                inet_ntop(len == 4 ? AF_INET : AF_INET6, a, ip, sizeof(ip)))
                rc = x509_unit(env, "IP Address", (const uint8_t *)ip, strlen(ip));
            break;
        }
        case GEN_OTHERNAME: {
            /* a UPN (user@domain) and other string-valued names; other
               values as their DER */
            const ASN1_TYPE *v = g->d.otherName->value;
            if (v && ASN1_tag2bit(v->type) &
                         (B_ASN1_DIRECTORYSTRING | B_ASN1_IA5STRING | B_ASN1_VISIBLESTRING))
                rc = x509_string(env, "otherName", v->value.asn1_string);
            else
                rc = x509_name_der(env, g);
            break;
        }
        case GEN_RID:
            break; /* (an OID) */
        default:
            rc = x509_name_der(env, g); /* x400Address, ediPartyName */
            break;
        }
    }
    return rc;
}

/* The extensions: alternative names as names; the rest as the bytes of
 * their values (a policy's notice text, a URL, or anything an extension of
 * its own carries), but for the few that hold only flags, key hashes and
 * log signatures. A malformed name list goes as bytes too. */
static int x509_extensions(struct dec_env *env, const STACK_OF(X509_EXTENSION) * exts)
{
    int rc = SGW_OK;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts) && rc == SGW_OK; i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_basic_constraints || nid == NID_key_usage || nid == NID_ext_key_usage ||
            nid == NID_subject_key_identifier || nid == NID_authority_key_identifier ||
            nid == NID_ct_precert_scts || nid == NID_ct_precert_poison)
            continue;
        if (nid == NID_subject_alt_name || nid == NID_issuer_alt_name) {
            GENERAL_NAMES *gens = X509V3_EXT_d2i(ext);
            if (gens) {
                rc = x509_general_names(env, gens);
                GENERAL_NAMES_free(gens);
                continue;
            }
            ERR_clear_error();
        }
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
        rc = x509_unit(env, nid != NID_undef ? OBJ_nid2ln(nid) : "extension",
                       ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
    }
    return rc;
}

/* The bytes of a field that is no text (a serial number, a key, a
 * signature): arbitrary bytes an encoder chose, so they are looked at as
 * they are (text put there in clear is found; what is enciphered is not). */
static int x509_bytes(struct dec_env *env, const char *what, const ASN1_STRING *s)
{
    return s ? x509_unit(env, what, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s))
             : SGW_OK;
}

static int x509_cert(struct dec_env *env, const X509 *x)
{
    const ASN1_BIT_STRING *sig = NULL;
    X509_get0_signature(&sig, NULL, x);
    int rc = x509_name(env, X509_get_subject_name(x));
    if (rc == SGW_OK)
        rc = x509_extensions(env, X509_get0_extensions(x));
    if (rc == SGW_OK)
        rc = x509_name(env, X509_get_issuer_name(x));
    if (rc == SGW_OK)
        rc = x509_bytes(env, "serialNumber", X509_get0_serialNumber(x));
    if (rc == SGW_OK)
        rc = x509_bytes(env, "publicKey", X509_get0_pubkey_bitstr(x));
    if (rc == SGW_OK)
        rc = x509_bytes(env, "signature", sig);
    return rc;
}

static int x509_req(struct dec_env *env, X509_REQ *r)
{
    const ASN1_BIT_STRING *sig = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    X509_REQ_get0_signature(r, &sig, NULL);
    X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(r);
    if (!xpk || !X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk))
        pklen = 0;
    int rc = x509_name(env, X509_REQ_get_subject_name(r));
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
    if (rc == SGW_OK && exts)
        rc = x509_extensions(env, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (rc == SGW_OK && pklen > 0)
        rc = x509_unit(env, "publicKey", pk, (size_t)pklen);
    if (rc == SGW_OK)
        rc = x509_bytes(env, "signature", sig);
    ERR_clear_error(); /* (a request without extensions leaves one) */
    return rc;
}

static int x509_crl(struct dec_env *env, const X509_CRL *c)
{
    const ASN1_BIT_STRING *sig = NULL;
    X509_CRL_get0_signature(c, &sig, NULL);
    int rc = x509_name(env, X509_CRL_get_issuer(c));
    if (rc == SGW_OK)
        rc = x509_extensions(env, X509_CRL_get0_extensions(c));
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED((X509_CRL *)c);
    for (int i = 0; i < sk_X509_REVOKED_num(rev) && rc == SGW_OK; i++) {
        const X509_REVOKED *e = sk_X509_REVOKED_value(rev, i);
        rc = x509_bytes(env, "serialNumber", X509_REVOKED_get0_serialNumber(e));
        if (rc == SGW_OK)
            rc = x509_extensions(env, X509_REVOKED_get0_extensions(e));
    }
    if (rc == SGW_OK)
        rc = x509_bytes(env, "signature", sig);
    return rc;
}

/* A PKCS#7 certificate list (a .p7b: signed data with certificates and
 * CRLs and no content): their names. Returns NULL, or why it is not
 * inspectable (signed content, enveloped data: what they carry is not
 * names). */
static const char *x509_pkcs7(struct dec_env *env, PKCS7 *s7, int *rc)
{
    if (!PKCS7_type_is_signed(s7) || !s7->d.sign)
        return "PKCS#7 data that is no certificate list";
    PKCS7 *c = s7->d.sign->contents;
    if (c && (!PKCS7_type_is_data(c) || (c->d.data && ASN1_STRING_length(c->d.data) > 0)))
        return "PKCS#7 signed data with content";
    STACK_OF(X509) *certs = s7->d.sign->cert;
    STACK_OF(X509_CRL) *crls = s7->d.sign->crl;
    *rc = SGW_OK;
    for (int i = 0; i < sk_X509_num(certs) && *rc == SGW_OK; i++)
        *rc = x509_cert(env, sk_X509_value(certs, i));
    for (int i = 0; i < sk_X509_CRL_num(crls) && *rc == SGW_OK; i++)
        *rc = x509_crl(env, sk_X509_CRL_value(crls, i));
    return NULL;
}

/* Is the algorithm a password-based encryption (PKCS#5 PBES1/PBES2,
 * PKCS#12 PBE)? X509_SIG is also a signature's DigestInfo, which is no key. */
static int x509_is_pbe(const X509_SIG *sig)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    X509_SIG_get0(sig, &alg, NULL);
    if (alg)
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
    char oid[64];
    if (!obj || OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
        return 0;
    return strncmp(oid, "1.2.840.113549.1.5.", 19) == 0 ||
           strncmp(oid, "1.2.840.113549.1.12.1.", 22) == 0;
}

/* A private key at *p: which kind (static text), *p moved past it; or NULL.
 * The key's bytes are the secret and no text: they are reported, never
 * passed on. The structures are OpenSSL's own: PKCS#8 (any algorithm),
 * encrypted PKCS#8, PKCS#12, then the traditional RSA, EC and DSA forms. */
static const char *x509_key(const uint8_t **p, long ln)
{
    const char *kind = NULL;
    const unsigned char *q = *p;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, ln);
    X509_SIG *sig = NULL;
    PKCS12 *p12 = NULL;
    EVP_PKEY *k = NULL;
    if (p8) {
        kind = "PKCS#8 private key";
    } else if (q = *p, (sig = d2i_X509_SIG(NULL, &q, ln)) != NULL && x509_is_pbe(sig)) {
        kind = "encrypted PKCS#8 private key";
    } else if (q = *p, (p12 = d2i_PKCS12(NULL, &q, ln)) != NULL) {
        kind = "PKCS#12 key store";
    } else if (q = *p, (k = d2i_AutoPrivateKey(NULL, &q, ln)) != NULL) {
        int id = EVP_PKEY_get_base_id(k);
        kind = id == EVP_PKEY_RSA  ? "RSA private key"
               : id == EVP_PKEY_EC ? "EC private key"
               : id == EVP_PKEY_DSA ? "DSA private key"
                                    : "private key";
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(sig);
    PKCS12_free(p12);
    EVP_PKEY_free(k);
    ERR_clear_error(); /* (the attempts that failed leave errors) */
    if (kind)
        *p = q;
    return kind;
}

/* Parses one DER object at *p (n bytes): its names go on (a private key is
 * reported, CLS_REPORT_KEY); *p moves past it. Returns 1 when it was a
 * certificate, a request, a CRL, a certificate list or a key, -1 when
 * PKCS#7 of another kind (*why says which), 0 when none of them (rc
 * SGW_OK). */
static int x509_one(struct dec_env *env, const uint8_t **p, size_t n, int *rc, const char **why)
{
    long ln = n > (size_t)X509_MAX ? (long)X509_MAX : (long)n;
    const unsigned char *q = *p;
    X509 *x = d2i_X509(NULL, &q, ln);
    if (x) {
        *rc = x509_cert(env, x);
        X509_free(x);
        *p = q;
        return 1;
    }
    q = *p;
    X509_REQ *r = d2i_X509_REQ(NULL, &q, ln);
    if (r) {
        *rc = x509_req(env, r);
        X509_REQ_free(r);
        *p = q;
        return 1;
    }
    q = *p;
    X509_CRL *c = d2i_X509_CRL(NULL, &q, ln);
    if (c) {
        *rc = x509_crl(env, c);
        X509_CRL_free(c);
        *p = q;
        return 1;
    }
    q = *p;
    PKCS7 *s7 = d2i_PKCS7(NULL, &q, ln);
    if (s7) {
        *why = x509_pkcs7(env, s7, rc);
        PKCS7_free(s7);
        ERR_clear_error();
        *p = q;
        return *why ? -1 : 1;
    }
    ERR_clear_error();
    const char *key = x509_key(p, ln);
    if (key) {
        *rc = dec_env_fail(env, CLS_REPORT_KEY, "%s in DER", key);
        return 1;
    }
    *rc = SGW_OK;
    return 0;
}

static int x509_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_x509 *x = (struct dec_x509 *)d;
    if (n > X509_MAX - x->len)
        return dec_fail(d, 0, "DER data over %u KiB", X509_MAX / 1024u);
    if (x->len + n > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4096u;
        while (cap < x->len + n)
            cap *= 2;
        if (cap > X509_MAX)
            cap = X509_MAX;
        uint8_t *nb = realloc(x->buf, cap);
        if (!nb)
            return SGW_ENOMEM;
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    return SGW_OK;
}

static int x509_finish(struct dec *d)
{
    struct dec_x509 *x = (struct dec_x509 *)d;
    if (d->dead || x->len == 0)
        return SGW_OK;
    const uint8_t *p = x->buf, *end = x->buf + x->len;
    /* A PEM block whose base64 has no padding: the base64 stage reads the
       "-----END" after its last line as base64url and decodes it onto the
       DER, always to these six bytes (the run is aligned there). They are
       the armour's, not the certificate's. */
    static const uint8_t pem_end[6] = {0xfb, 0xef, 0xbe, 0xf8, 0x43, 0x43};
    if (x->len > sizeof(pem_end) && memcmp(end - sizeof(pem_end), pem_end, sizeof(pem_end)) == 0)
        end -= sizeof(pem_end);
    int rc = SGW_OK;
    while (p < end && rc == SGW_OK) {
        const char *why = NULL;
        int k = x509_one(d->env, &p, (size_t)(end - p), &rc, &why);
        if (k < 0)
            return dec_fail(d, 0, "%s", why);
        if (k == 0) {
            /* what follows the last object that parsed (or all of it) is
               looked at as bytes: text glued after a certificate in one
               base64 run is found, not dropped; then reported when long */
            rc = x509_unit(d->env, "data", p, (size_t)(end - p));
            if (rc == SGW_OK && x->len >= x->min_report)
                return dec_fail(d, 0, "DER data that is no certificate");
            return rc;
        }
    }
    return rc;
}

static void x509_destroy(struct dec *d)
{
    free(((struct dec_x509 *)d)->buf);
}

static const struct dec_ops x509_ops = {"x509", x509_feed, x509_finish, x509_destroy};

int dec_new_x509(struct dec_env *env, unsigned nest, size_t min_report, struct dec **out)
{
    if (nest + 1 > DEC_MAX_NEST)
        return dec_new_reject(env, nest, "decoder nesting too deep", out);
    struct dec_x509 *x = dec_alloc(sizeof(*x), &x509_ops, env, nest);
    if (!x)
        return SGW_ENOMEM;
    x->min_report = min_report;
    *out = &x->base;
    return SGW_OK;
}

int dec_x509_shape(const uint8_t *b, size_t n)
{
    /* SEQUENCE (long-form length) { SEQUENCE of 64 bytes or more: the
       to-be-signed part of a certificate, request or CRL }, or PKCS#7
       signed data (a .p7b certificate list: its OID). A private key:
       SEQUENCE { INTEGER 0, 1 or 3 (the version of PKCS#8, PKCS#1, SEC1,
       PKCS#12), then a SEQUENCE, an INTEGER or an OCTET STRING }, its
       length in any form (an Ed25519 key is 48 bytes), or an encrypted
       PKCS#8 key: SEQUENCE { SEQUENCE { a PKCS#5 or PKCS#12 PBE OID } }. */
    static const uint8_t p7[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    static const uint8_t rsadsi[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01};
    if (n < 6 || b[0] != 0x30 || (b[1] & 0x80 && b[1] != 0x81 && b[1] != 0x82))
        return 0;
    size_t i = b[1] == 0x81 ? 3 : b[1] == 0x82 ? 4 : 2;
    if (n >= i + 4 && b[i] == 0x02 && b[i + 1] == 0x01 && (b[i + 2] <= 0x01 || b[i + 2] == 0x03) &&
        (b[i + 3] == 0x30 || b[i + 3] == 0x02 || b[i + 3] == 0x04) && (i > 2 || b[1] >= 0x20))
        return 1;
    if (n > i + 4 + sizeof(rsadsi) && b[i] == 0x30 && b[i + 1] < 0x80 && b[i + 2] == 0x06 &&
        memcmp(b + i + 4, rsadsi, sizeof(rsadsi)) == 0 &&
        (b[i + 4 + sizeof(rsadsi)] == 0x05 || b[i + 4 + sizeof(rsadsi)] == 0x0c))
        return 1;
    if (i == 2)
        return 0;
    if (n >= i + sizeof(p7) && memcmp(b + i, p7, sizeof(p7)) == 0)
        return 1;
    return b[i] == 0x30 &&
           (b[i + 1] == 0x81 || b[i + 1] == 0x82 || (b[i + 1] >= 0x40 && b[i + 1] < 0x80));
}
