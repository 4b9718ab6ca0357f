/* classifiers/validators.h — checksum and format validators for the built-in
 * packs and for custom regexes ("validator: luhn"). Private to classifiers/.
 *
 * Every validator takes the matched text as found (separators such as spaces,
 * dashes, dots and slashes included; they are skipped where the format allows
 * them) and returns 1 when the value is structurally valid, 0 otherwise,
 * or CLS_V_NEEDCTX when it is valid but its shape is as often something
 * else (reported only next to a context word). They never allocate and
 * never log the value. */
#ifndef SGW_CLASSIFIERS_VALIDATORS_H
#define SGW_CLASSIFIERS_VALIDATORS_H

#include <stddef.h>
#include <stdint.h>

typedef int (*cls_validator_fn)(const char *s, size_t n);

/* A validator's "valid, with a context word only" (any nonzero is valid). */
#define CLS_V_NEEDCTX 2

/* Copies the ASCII digits of s (at most cap) into out; returns how many were
 * copied, or cap + 1 when s holds more than cap digits. */
size_t cls_digits(const char *s, size_t n, char *out, size_t cap);

int cls_v_luhn(const char *s, size_t n);          /* any length 2..19 digits */
int cls_v_card(const char *s, size_t n);          /* Luhn + issuer range + length; 17-19 bare digits: NEEDCTX */
int cls_v_iban(const char *s, size_t n);          /* country length + mod 97 */
int cls_v_mod97(const char *s, size_t n);         /* ISO 7064 mod 97-10 on alnum */
int cls_v_aba(const char *s, size_t n);           /* US routing 3-7-1 checksum */
int cls_v_us_ssn(const char *s, size_t n);        /* area/group/serial rules */
int cls_v_us_itin(const char *s, size_t n);       /* 9xx, group 50-65,70-88,90-92,94-99 */
int cls_v_uk_nhs(const char *s, size_t n);        /* mod 11 */
int cls_v_uk_nino(const char *s, size_t n);       /* prefix/suffix letter rules */
int cls_v_ca_sin(const char *s, size_t n);        /* Luhn, 9 digits */
int cls_v_verhoeff(const char *s, size_t n);      /* any digit string */
int cls_v_in_aadhaar(const char *s, size_t n);    /* 12 digits, Verhoeff, no 0/1 lead */
int cls_v_in_pan(const char *s, size_t n);        /* AAAAA9999A, holder-type letter */
int cls_v_cn_id(const char *s, size_t n);         /* ISO 7064 MOD 11-2, 18 chars */
int cls_v_de_taxid(const char *s, size_t n);      /* Steuer-IdNr: digit rule + MOD 11,10 */
int cls_v_fr_nir(const char *s, size_t n);        /* 13 + key (97 - n mod 97), 2A/2B */
int cls_v_es_dni(const char *s, size_t n);        /* 8 digits + letter (mod 23) */
int cls_v_es_nie(const char *s, size_t n);        /* X/Y/Z + 7 digits + letter */
int cls_v_it_cf(const char *s, size_t n);         /* codice fiscale check character */
int cls_v_nl_bsn(const char *s, size_t n);        /* 11-test */
int cls_v_be_nrn(const char *s, size_t n);        /* mod 97, before and after 2000 */
int cls_v_pl_pesel(const char *s, size_t n);      /* weights 1-3-7-9 + date */
int cls_v_se_pnr(const char *s, size_t n);        /* Luhn over YYMMDDNNNC + date */
int cls_v_fi_hetu(const char *s, size_t n);       /* mod 31 check character */
int cls_v_pt_nif(const char *s, size_t n);        /* mod 11 */
int cls_v_ie_pps(const char *s, size_t n);        /* mod 23 check letter */
int cls_v_at_svnr(const char *s, size_t n);       /* mod 11 check digit in position 4 */
int cls_v_dk_cpr(const char *s, size_t n);        /* valid date DDMMYY-NNNN */
int cls_v_br_cpf(const char *s, size_t n);        /* two mod 11 digits */
int cls_v_br_cnpj(const char *s, size_t n);       /* two mod 11 digits */
int cls_v_sg_nric(const char *s, size_t n);       /* S/T/F/G + 7 digits + check letter */
int cls_v_au_tfn(const char *s, size_t n);        /* weighted mod 11 */
int cls_v_au_medicare(const char *s, size_t n);   /* weighted mod 10 */
int cls_v_kr_rrn(const char *s, size_t n);        /* weighted mod 11 */
int cls_v_jp_mynumber(const char *s, size_t n);   /* weighted mod 11 */
int cls_v_ipv4(const char *s, size_t n);          /* four octets 0..255, no leading 0s */
int cls_v_ipv6(const char *s, size_t n);          /* RFC 4291 text form */
int cls_v_date(const char *s, size_t n);          /* plausible calendar date, many formats */
int cls_v_date_named(const char *s, size_t n);    /* a day, a month's name, a year (EU languages) */
int cls_v_phone(const char *s, size_t n);         /* 7..15 digits, not all equal */
int cls_v_swift(const char *s, size_t n);         /* 8/11 chars, ISO country in 5-6 */
int cls_v_eu_vat(const char *s, size_t n);        /* per-country format (+ checksum where cheap) */

/* Shannon entropy of s in bits per byte. */
double cls_entropy(const char *s, size_t n);

/* Looks a validator up by the name used in custom regex definitions
 * ("luhn", "mod97", "iban", "verhoeff", "aba", ...); NULL when unknown. */
cls_validator_fn cls_validator_find(const char *name);

#endif
