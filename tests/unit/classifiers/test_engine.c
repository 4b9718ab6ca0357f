/* The scanner end to end: findings per type, split invariance (every split
 * point of small documents, random splits of large ones), straddling
 * matches, context-word rules, custom dictionaries / regexes / fingerprints,
 * excerpt masking and the findings bound. The scanner is driven directly
 * (raw text units) and through cls_stream (the real decoder chain). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/engine.h"
#include "common/sgw.h"
#include "../check.h"

struct result {
    struct cls_finding f[1100];
    size_t n;
};

/* Scans text split at the given cut offsets (sorted, may be empty). */
static void scan_split(struct cls_worker *w, const char *text, size_t len, const size_t *cuts, size_t ncuts,
                       int excerpts, struct result *r)
{
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, excerpts, NULL, NULL, &sc) != SGW_OK) {
        FAIL("scanner_new");
        r->n = 0;
        return;
    }
    size_t prev = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end < prev)
            end = prev;
        if (cls_scanner_data(sc, (const uint8_t *)text + prev, end - prev) != SGW_OK)
            FAIL("data");
        prev = end;
    }
    if (cls_scanner_finish(sc) != SGW_OK)
        FAIL("finish");
    size_t n = 0;
    const struct cls_finding *f = cls_scanner_findings(sc, &n);
    if (n > SGW_ARRAY_LEN(r->f))
        n = SGW_ARRAY_LEN(r->f);
    if (n)
        memcpy(r->f, f, n * sizeof(*f));
    r->n = n;
    cls_scanner_free(sc);
}

static void scan1(struct cls_worker *w, const char *text, struct result *r)
{
    scan_split(w, text, strlen(text), NULL, 0, 1, r);
}

static int has_type(const struct result *r, const char *type)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->f[i].type, type) == 0)
            return 1;
    return 0;
}

static int same(const struct result *a, const struct result *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct cls_finding *x = &a->f[i], *y = &b->f[i];
        if (strcmp(x->type, y->type) != 0 || x->start != y->start || x->end != y->end ||
            x->confidence != y->confidence || x->flags != y->flags || strcmp(x->excerpt, y->excerpt) != 0)
            return 0;
    }
    return 1;
}

static void dump(const char *what, const struct result *r)
{
    fprintf(stderr, "  %s (%zu):", what, r->n);
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, " %s[%llu,%llu)c%u", r->f[i].type, (unsigned long long)r->f[i].start,
                (unsigned long long)r->f[i].end, r->f[i].confidence);
    fputc('\n', stderr);
}

struct pos_case {
    const char *text;
    const char *type; /* expected; NULL = expect no finding at all */
};

static const struct pos_case cases[] = {
    {"write to anna.schmidt@example.org today", "EMAIL"},
    {"call +49 30 1234 5678 now", "PHONE"},
    {"call (415) 555-2671 now", "PHONE"},
    {"card 4111 1111 1111 1111 exp 12/27", "CREDIT_DEBIT_CARD_NUMBER"},
    {"amex 378282246310005.", "CREDIT_DEBIT_CARD_NUMBER"},
    {"IBAN GB82 WEST 1234 5698 7654 32 please", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"},
    {"pay to FR1420041010050500013M02606", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"},
    /* in small letters, or mixed: a model reads them as well */
    {"wire the money to de89370400440532013000 now", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"},
    {"iban es91 2100 0418 4502 0005 1332 please", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"},
    {"to De89 3704 0044 0532 0130 00.", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"},
    {"to de89370400440532013001 now", NULL},            /* mod 97 */
    {"span be12a3f4c5d6e7f8 trace de893704004405320130001", NULL}, /* lengths */
    {"our SWIFT code is DEUTDEFF500", "SWIFT_CODE"},
    {"host 10.20.30.40 is down", "IP_ADDRESS"},
    {"ping fe80::202:b3ff:fe1e:8329 ok", "IP_ADDRESS"},
    {"nic 3c:22:fb:7a:10:9e up", "MAC_ADDRESS"},
    {"SSN 536-22-1234", "US_SOCIAL_SECURITY_NUMBER"},
    {"my social security number is 536221234", "US_SOCIAL_SECURITY_NUMBER"},
    {"ITIN 912-70-1234", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER"},
    {"ABA routing number 021000021", "US_BANK_ROUTING_NUMBER"},
    {"passport no. 533380006", "PASSPORT_NUMBER"},
    {"Date of birth: 1985-07-30", "DATE_OF_BIRTH"},
    {"Geburtsdatum 30.07.1985", "DATE_OF_BIRTH"},
    {"NI number AB 12 34 56 C", "UK_NATIONAL_INSURANCE_NUMBER"},
    {"NHS number 943 476 5919", "UK_NATIONAL_HEALTH_SERVICE_NUMBER"},
    {"SIN: 046 454 286", "CA_SOCIAL_INSURANCE_NUMBER"},
    {"Steuer-ID 86095742719", "DE_TAX_ID"},
    {"NIR 2 55 08 14 168 025 38", "FR_NIR"},
    {"DNI 12345678Z", "ES_DNI"},
    {"NIE X1234567L", "ES_NIE"},
    {"CF RSSMRA85T10A562S", "IT_FISCAL_CODE"},
    {"BSN 111222333", "NL_BSN"},
    {"nn 85.07.30-033.28", "BE_NATIONAL_NUMBER"},
    {"PESEL 44051401359", "PL_PESEL"},
    {"personnummer 811218-9876", "SE_PERSONAL_NUMBER"},
    {"hetu 131052-308T", "FI_PERSONAL_IDENTITY_CODE"},
    {"VAT DE136695976", "EU_VAT_NUMBER"},
    {"PAN ABCPE1234F", "IN_PAN"},
    {"NRIC S1234567D", "SG_NRIC"},
    {"TFN 123 456 782", "AU_TFN"},
    {"CPF 529.982.247-25", "BR_CPF"},
    {"CNPJ 11.222.333/0001-81", "BR_CNPJ"},
    {"RRN 800101-1234560", "KR_RRN"},
    {"ID 11010519491231002X", "CN_RESIDENT_ID"},
    {"My Number 1234 5678 9018", "JP_MY_NUMBER"},
    {"key AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY"},
    /* glued to a name by '_' (the audit's creds_AKIA…), either side; glued
       to a letter or a digit, or one character too long, it is none */
    {"access key creds_AKIA2E3AYF3BQ44C7XQZ please", "AWS_ACCESS_KEY"},
    {"KEY=AKIA2E3AYF3BQ44C7XQZ_old", "AWS_ACCESS_KEY"},
    {"access key credsAKIA2E3AYF3BQ44C7XQZ please", NULL},
    {"access key AKIA2E3AYF3BQ44C7XQZ7 please", NULL},
    {"access key 7AKIA2E3AYF3BQ44C7XQZ please", NULL},
    {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_KEY"},
    {"-----BEGIN OPENSSH PRIVATE KEY-----", "PRIVATE_KEY"},
    {"use ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 now", "GITHUB_TOKEN"},
    {"gitlab glpat-xR4nd0mT0k3nV4lu3zzz", "GITLAB_TOKEN"},
    {"slack xoxb-123456789012-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX", "SLACK_TOKEN"},
    {"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"},
    {"maps AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "GOOGLE_API_KEY"},
    {"openai sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56", "OPENAI_API_KEY"},
    {"claude sk-ant-api03-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90", "ANTHROPIC_API_KEY"},
    {"hf hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ12345678", "HUGGINGFACE_TOKEN"},
    {"npm npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "NPM_TOKEN"},
    {"mail jos\xc3\xa9@example.com now", "EMAIL"},
    {"write to anna.k [at] uni-bonn [dot] de", "EMAIL"},
    {"bob(at)example.com", "EMAIL"},
    {"write bob [@] example.com", "EMAIL"},
    {"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com", "EMAIL"},
    {"groq 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", "GROQ_API_KEY"},
    {"REPLICATE_API_TOKEN=r8_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5k", "REPLICATE_API_TOKEN"},
    {"vault hvs.CAESIJ3kL9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9rS1uV3xY5zA7cGh4KHGh2cy5aQjN4VTJwVjFTbU5NZ3hyQmtBbEhCUzQ", "HASHICORP_TOKEN"},
    {"secret abc8Q~aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3h", "AZURE_AD_CLIENT_SECRET"},
    {"age AGE-SECRET-KEY-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHCE", "AGE_SECRET_KEY"},
    {"ci glptt-0123456789abcdef0123456789abcdef01234567", "GITLAB_TOKEN"},
    {"AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleS1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk", "AWS_BEDROCK_API_KEY"},
    {"password = Tr0ub4dor3xQz9k", "GENERIC_SECRET"},
    {"Medicare card 2123 45670 1", "AU_MEDICARE"},
    {"Aadhaar 2341 2341 2346", "IN_AADHAAR"},
    {"SVNR 1237 010180", "AT_SOCIAL_SECURITY_NUMBER"},
    {"CPR 070761-4285", "DK_CPR_NUMBER"},
    {"NIF 123456789", "PT_TAX_ID"},
    {"PPS 1234567T", "IE_PPS_NUMBER"},
    {"sendgrid 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", "SENDGRID_KEY"},
    {"twilio SK6656c90bd5482a90a29b9fa5ff5180bc", "TWILIO_KEY"},
    {"AccountKey=c1UWb5fxzpF7STG7nVLe3lARUsRJlNONwktN9ugkZeESG61she/QAqq0nv3Vth1Ls6v6+O9JL8ZsoWw/Rxl+IU==",
     "AZURE_STORAGE_KEY"},
    {"db postgres://admin:S3cr3tPw@db.internal:5432/app", "GENERIC_SECRET"},
    /* base64 of JSON that is no JWT header (no "alg"): a Kinesis record, a
       paging token; a header alone at a unit's end is one */
    {"{\"Data\": \"eyJldmVudCI6ICJjbGljayIsICJwYWdlIjogIi9ob21lIiwgIm4iOiA0Mn0\"}", NULL},
    {"NextToken: eyJ2IjogMiwgIm9mZnNldCI6IDEwMDAsICJzaGFyZCI6ICJzLTAwMDEifQ", NULL},
    {"token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2J5dGVz", "JWT"},
    {"token eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2J5dGVz", NULL}, /* no alg */
    /* STS session tokens: bare, and URL-encoded in a presigned URL */
    {"creds expired? token IQoJb3JpZ2luX2VjEecj9iNOrjj5VfqRTk8j1d/bWWbjkloG1QX647kdNl9cDo/+GbVMszvR4/EPZGz3zBXCOArr/SfiJvo58JB0W/O5PjeJfJTNcrZ6ydIEsgo5nVjzz8Gwb8ewCISuYCl0Xq56zaWR7PAmp", "AWS_SESSION_TOKEN"},
    {"GET /k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEecj9iNOrjj5VfqRTk8j1d%2FbWWbjkloG1QX647kdNl9cDo%2F%2BGbVMszvR4%2FEPZGz3zBXCOArr%2FSfiJvo58JB0W%2FO5PjeJfJTNcrZ6ydIEsgo5nVjzz8Gwb8ewCISuYCl0Xq56zaWR7PAmp&X-Amz-Date=20241201T000000Z", "AWS_SESSION_TOKEN"},
    {"the prefix IQoJb3JpZ2luX2VjEJr alone", NULL},
    /* a shared access signature: its URL grants access as it stands */
    {"GET https://acct.blob.core.windows.net/c/b.pdf?sv=2022-11-02&sp=r&se=2025-01-01T00%3A00%3A00Z&spr=https"
     "&sig=Yk3oP9qX2vLr8Tn1Wc5Hj7Ds4Fg6Ba0Zm2Ne9Qt3Ux4%3D", "AZURE_SAS_TOKEN"},
    {"SharedAccessSignature=sv=2021-06-08&ss=b&sig=Yk3oP9qX2vL+8Tn1Wc5Hj7Ds4Fg/Ba0Zm2Ne9Qt3Ux4=", "AZURE_SAS_TOKEN"},
    {"docs: append ?sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D to the URL", NULL},
    {"the query ends in &sig=Yk3oP9qX2vLr8Tn1Wc5Hj7Ds4Fg6Ba0Zm2Ne9Qt3Ux4Yk%3D", NULL}, /* 45: no HMAC's */
    {"id,card,exp\n1,4111111111111111,12/27", "CREDIT_DEBIT_CARD_NUMBER"}, /* CSV fields */
    /* hard negatives: nothing at all */
    {"total 4,111,111,111,111,111 units", NULL},
    {"order 1234567812345678 shipped", NULL},
    {"id 550e8400-e29b-41d4-a716-446655440000", NULL},
    {"version 1.2.3.4.5 and v10.0.0.1", NULL},
    {"at 2024-03-01T12:30:45Z", NULL},
    {"sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL},
    {"number 123456789 only", NULL},
    {"meet on 30.07.1985", NULL},
    {"icon@2x.png", NULL},
    {"Created symlink getty.target.wants/getty@tty1.service -> /lib/systemd/system/getty@.service", NULL},
    {"Started user@1000.service and user-runtime-dir@1000.slice", NULL},
    {"the task-based planner", NULL},
    {"password: ********", NULL},
    /* tables of numbers (valgrind's manual): their numbers pass Luhn, a
       NIR's key or a NANP shape by chance; a plus and a decimal */
    {"table [\n  0 5 10 15 20 25 30 35 40 45 \n  50 55 59 64 69 74 79 84 89 94 \n", NULL},
    {"  5226 5259 5293 5326 5360 5394 5428 5462 5496 5531 \n  5565 5600", NULL},
    {"  11906 11959 12014 12068 12122 12177 12231 12286 12341 12396", NULL},
    {"  870 882 894 906 918 930 942 954 \n  967 979 992 1004 1017 1030", NULL},
    {"ExtendedContext.quantize(Decimal('+35236450.6'), Decimal('1e-2'))", NULL},
    {"llvm-toolchain-snapshot (1:10~+20191229111838+6991d5728f1-1~exp1)", NULL},
    {"as defined at 48 C.F.R. 252.227-7014(a)(1)", NULL},
    {"call 415.555.2671 or 415-555-2672", "PHONE"},
    {"///  3 3 3 3 2 2 2 2 2 2 2 2 2 2 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0 0\n"
     "///  1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0\n",
     NULL},
    /* ... while a number before or after a real one changes nothing */
    {"order #7302230 239-687-5479 today", "PHONE"},
    {"card 4111 1111 1111 1111 12/27 123", "CREDIT_DEBIT_CARD_NUMBER"},
    {"amex 3782 822463 10005", "CREDIT_DEBIT_CARD_NUMBER"},
    {"4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "CREDIT_DEBIT_CARD_NUMBER"},
    /* four groups with tabs between (an evasion, a copied cell row): next
       to a context word, as on four lines; a row of numbers alone is none */
    {"charge card 4111\t1111\t1111\t1111 today", "CREDIT_DEBIT_CARD_NUMBER"},
    /* dots mixed with spaces and dashes; not in a row of such numbers */
    {"charge card 4111 1111-1111.1111 today", "CREDIT_DEBIT_CARD_NUMBER"},
    {"charge card 4111.1111 1111 1111 today", "CREDIT_DEBIT_CARD_NUMBER"},
    {"charge card 5500-0000 0000.0004 today", "CREDIT_DEBIT_CARD_NUMBER"},
    {"rates 4111.1111 4111.1111 4111.1111 4111.1111 today", NULL},
    {"rates 7.5 4111.1111 1111.1111", NULL},
    {"id\t4111\t1111\t1111\t1111\n", NULL},
    {"NIR 185057800608491", "FR_NIR"},
    {"NIR 1850578006084 91", "FR_NIR"},
    /* birth dates with the month's name, next to their words only */
    {"born 12 March 1985 in Leeds", "DATE_OF_BIRTH"},
    {"geboren am 12. M\xc3\xa4rz 1985", "DATE_OF_BIRTH"},
    {"fecha de nacimiento: 12 de septiembre de 1985", "DATE_OF_BIRTH"},
    {"n\xc3\xa9 le 12 d\xc3\xa9" "cembre 1985", "DATE_OF_BIRTH"},
    {"data urodzenia 3 pa\xc5\xba" "dziernika 1985", "DATE_OF_BIRTH"},
    {"DOB: March 12, 1985", "DATE_OF_BIRTH"},
    /* the birth-date and passport words of the other EU languages (Greek in
       capitals too, whose final sigma and dropped accents the words meet) */
    {"\xce\x97\xce\x9c\xce\x95\xce\xa1\xce\x9f\xce\x9c\xce\x97\xce\x9d\xce\x99\xce\x91 "
     "\xce\x93\xce\x95\xce\x9d\xce\x9d\xce\x97\xce\xa3\xce\x97\xce\xa3: 12/03/1985", "DATE_OF_BIRTH"},
    {"\xd0\xb4\xd0\xb0\xd1\x82\xd0\xb0 \xd0\xbd\xd0\xb0 \xd1\x80\xd0\xb0\xd0\xb6\xd0\xb4\xd0\xb0\xd0\xbd\xd0\xb5 "
     "12.03.1985", "DATE_OF_BIRTH"},
    {"datum narozen\xc3\xad: 12.3.1985", "DATE_OF_BIRTH"},
    {"datum narozen\xc3\xad: 12. 3. 1985", "DATE_OF_BIRTH"}, /* (a dot and a space) */
    {"Geburtsdatum: 1. 12. 1985", "DATE_OF_BIRTH"},
    {"the meeting on 12. 3. 1985", NULL},
    {"datum narozen\xc3\xad: 12. b\xc5\x99" "ezna 1985", "DATE_OF_BIRTH"},
    {"\xd0\x94\xd0\x90\xd0\xa2\xd0\x90 \xd0\x9d\xd0\x90 \xd0\xa0\xd0\x90\xd0\x96\xd0\x94\xd0\x90\xd0\x9d\xd0\x95 12 "
     "\xd0\x9c\xd0\x90\xd0\xa0\xd0\xa2 1985", "DATE_OF_BIRTH"},
    {"data na\xc8\x99terii 12 martie 1985", "DATE_OF_BIRTH"},
    {"the meeting on 12 martie 1985", NULL},
    {"sz\xc3\xbclet\xc3\xa9si d\xc3\xa1tum: 1985. m\xc3\xa1rcius 12.", "DATE_OF_BIRTH"},
    {"a tal\xc3\xa1lkoz\xc3\xb3 1985. m\xc3\xa1rcius 12.", NULL},
    {"narozen 31. 2. 1985", NULL},
    {"sz\xc3\xbclet\xc3\xa9si d\xc3\xa1tum: 1985.03.12.", "DATE_OF_BIRTH"},
    {"data na\xc8\x99terii 12.03.1985", "DATE_OF_BIRTH"},
    {"gimimo data 1985-03-12", "DATE_OF_BIRTH"},
    /* Lithuanian and Latvian write the year first, with words between */
    {"gimimo data: 1985 m. kovo 12 d.", "DATE_OF_BIRTH"},
    {"gim\xc4\x99s 1985 m. rugs\xc4\x97jo 3 d. Vilniuje", "DATE_OF_BIRTH"},
    {"sutartis pasira\xc5\xa1yta 1985 m. kovo 12 d.", NULL},
    {"dzim\xc5\xa1" "anas datums: 1985. gada 12. mart\xc4\x81", "DATE_OF_BIRTH"},
    {"DZIM\xc5\xa0" "ANAS DATUMS: 1985. GADA 12. MARTS", "DATE_OF_BIRTH"},
    {"dzimis 1985. gada 3. septembr\xc4\xab", "DATE_OF_BIRTH"},
    {"l\xc4\xab" "gums nosl\xc4\x93gts 1985. gada 12. mart\xc4\x81", NULL},
    {"dzimis 1985. gada 30. febru\xc4\x81r\xc4\xab", NULL},
    {"\xce\x94\xce\x99\xce\x91\xce\x92\xce\x91\xce\xa4\xce\x97\xce\xa1\xce\x99\xce\x9f AK1234567", "PASSPORT_NUMBER"},
    {"\xd0\xbf\xd0\xb0\xd1\x81\xd0\xbf\xd0\xbe\xd1\x80\xd1\x82 \xe2\x84\x96 382917465", "PASSPORT_NUMBER"},
    {"\xc3\xbatlev\xc3\xa9lsz\xc3\xa1m: BE1234567", "PASSPORT_NUMBER"},
    {"paspoort NX1234567", "PASSPORT_NUMBER"},
    {"release 2019.10.12 of the tool", NULL},
    {"the code AK1234567 again", NULL},
    {"the meeting on 12 March 1985 was long", NULL},
    {"born 31 February 1985", NULL},
    /* the date after the birth date is another date */
    {"born in 1985, joined on 12 March 2010", NULL},
    {"DOB 1985, hired 2010-03-12", NULL},
    {"born on 12 March 1985 in Leeds", "DATE_OF_BIRTH"},
    /* a longer number between them is no year (a CSV row's SSN before the
       birth date) */
    {"Date of birth\nPerson 0,536221800,1950-01-12", "DATE_OF_BIRTH"},
    /* national numbers with their trunk 0, next to their word only */
    {"Tel.: 030 12345678", "PHONE"},
    {"UK office phone 020 7946 0958", "PHONE"},
    {"Handy 0151-12345678", "PHONE"},
    {"fax (089) 1234567", "PHONE"},
    {"t\xc3\xa9l\xc3\xa9phone : 06 12 34 56 78", "PHONE"},
    {"order 030 12345678 shipped", NULL},
    {"call ES83 0835 5683 3700 7803 0728", NULL},
    /* versions written as addresses; an address written so needs its word */
    {"      Git 1.6.5.5\n\nLinus Torvalds (1):", NULL},
    {"// From linux-2.6.16.60/include/asm-s390/", NULL},
    {"dpkg (1.4.1.2) unstable; urgency=low", NULL},
    {"nameserver 8.8.8.8", "IP_ADDRESS"},
    {"      // 27.8.3.2 Assign and swap:", NULL},
    {"arguments, per 17.4.4.4 paragraph 2", NULL},
    /* 19 digits without separators: a nonce, a Java long; a card next to
       a word (a JSON key too) */
    {"reqNonce: 3843061514398340071", NULL},
    {"{\"id\": 6221261234567890129}", NULL},
    {"card 3843061514398340071", "CREDIT_DEBIT_CARD_NUMBER"},
    {"{\"card_number\": \"6221261234567890129\"}", "CREDIT_DEBIT_CARD_NUMBER"},
    {"ping 10.0.0.1 first", "IP_ADDRESS"},
    {"the host 27.8.3.2 answered", "IP_ADDRESS"},
    {"\"CidrBlock\": \"30.1.0.0/16\"", "IP_ADDRESS"},
    {"allow 1.2.3.0/24 only", "IP_ADDRESS"},
    {"\"CidrIp\": \"0.0.0.0/0\"", NULL},
    {"Files: po/ca@valencia.po po/en@shaw.po po/en@quot.header", NULL},
    {"System Administrator <root@localhost.localdomain>", NULL},
    {"Maintainer: Afif <afif@ghraoui.name>", "EMAIL"},
    /* random bytes read as text (OTLP span ids, runs in raw protobuf
       bytes): a two-letter TLD no country has, a TLD in mixed case, an
       IPv6 in mixed case or with too few digits */
    {"H>P@r.fE|SR", NULL},
    {";D@B.xn", NULL},
    {"<m@n.wZ", NULL},
    {"X@q.bYW", NULL},
    {"s6^f::B,", NULL},
    {"(7::e4:Z", NULL},
    {"write to Jo@Example.De or JO@X.COM", "EMAIL"},
    {"mail ops@corp.Example.Com", "EMAIL"},
    {"from P@x.vi", "EMAIL"},
    {"mail me at bob@corp.example.comThanks", "EMAIL"}, /* (HTML without its <br>) */
    {"mail me at bob@corp.example.DEThanks", "EMAIL"},
    {"from 2A00:1450::200E", "IP_ADDRESS"},
    {"mac: '00:00:00:00:00:00', family: 'IPv6'", NULL},
    {"ether ff:ff:ff:ff:ff:ff brd", NULL},
    {"\"MacAddress\": \"02:2f:8f:b0:cf:75\"", "MAC_ADDRESS"},
    /* an ARN's region before "::", Python's slices: no IPv6 addresses */
    {"arn:aws:apigateway:us-west-2::/apis/a1b2c3/routes", NULL},
    {"for a, b in zip(children[::2], children[1::2]):", NULL},
    {"return s[4-1::-1] + s[:4]", NULL},
    {"listen on [fe80::1]:8080 and fe80::1", "IP_ADDRESS"},
    {"curl http://[fd00::1:2]:8888/", "IP_ADDRESS"},
    /* loopback and one group with "::": no one's address */
    {"listen on [::1]:8080 and ::1", NULL},
    {"the request goes to 3.190.220.131 first", "IP_ADDRESS"},
    /* a context word is a word: "bic" at the start of the 64 bytes looked
       at, the rest of "ARABIC", says nothing of the SWIFT-shaped ISOLATED */
    {"    '\xd9\xa9'   #  0x00b9 -> ARABIC-INDIC DIGIT NINE\n    '\xef\xbb\x91'   #  0x00ba -> ARABIC "
     "LETTER FEH ISOLATED FORM\n",
     NULL},
    /* assignments in code and documentation: no secret in their values */
    {"try:\n    pwd = os.getcwd()\n", NULL},
    {"self.password = self.distribution.password", NULL},
    {"self.passwd = password_mgr", NULL},
    {"PseudoToken = Whitespace + group(PseudoExtras)", NULL},
    {"apiKey: process.env.OPENAI_API_KEY,", NULL},
    {"token = line[start:pos]", NULL},
    {"bool isNot(AsmToken::TokenKind K) const", NULL},
    {"PWD:=$(firstword $(PWD))", NULL},
    {"\"PWD\": \"/home/nodeuser/project/node\",", NULL},
    {"%sudo ALL=(root) NOPASSWD: /bin/systemctl restart", NULL},
    {"npm.unpublish('lodash', { token: 'myregistrytoken' })", NULL},
    {"headers: { 'X-TOKEN-SECRET': 'SuperSecretToken' }", NULL},
    {"git fetch http://user:pass@host/repo.git", NULL},
    {"const UNEXPECTED_TOKEN = /^Unexpected token/", NULL},
    /* an Authorization header written out: its credentials */
    {"curl -H \"Authorization: Bearer ya29.a0AfH6SMBx3kLmN0pQrStUvWx\" https://x", "GENERIC_SECRET"},
    {"Authorization: Basic YWRtaW46UzNjcjN0UHchMjAyNA==", "GENERIC_SECRET"},
    {"Authorization: Bearer <YOUR_TOKEN>", NULL},
    {"Authorization: Bearer YOUR_ACCESS_TOKEN_HERE", NULL},
    {"the authorization: basic requirements apply", NULL},
    /* AWS's paging and idempotency tokens, a secret's ARN: no secrets */
    {"\"NextToken\": \"eyJOZXh0VG9rZW4iOiBudWxsfQ==\", \"ClientToken\": \"Zk3q9XbT2mLp8RvW\"", NULL},
    {"arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-a1b2c3", NULL},
    {"\"SessionToken\": \"FwoGZXIvYXdzEBYaDk3q9XbT\"", "GENERIC_SECRET"},
    /* ... while literal values, and unquoted ones of a config file, are */
    {"urllib.request.ProxyHandler(passwd='geheim$parole')", "GENERIC_SECRET"},
    {"DB_PASSWORD=s3cr3t!Kx9qLm", "GENERIC_SECRET"},
    {"api_key = \"AbCdEfGhIjKlMnOp\"", "GENERIC_SECRET"},
    {"API_KEY=AbCdEfGhIjKlMnOpQr", "GENERIC_SECRET"},
    /* environment variables named *_KEY: a secret's value is one; the
       names of keys that are none, paths, ids and placeholders are not */
    {"export OPENAI_KEY=Zk3q9XbT2mLp8RvW5nJcQ7", "GENERIC_SECRET"},
    {"ENCRYPTION_KEY: \"a3f9c2e17b4d8e6f0a1b2c3d4e5f6a7b\"", "GENERIC_SECRET"},
    {"STRIPE_PUBLISHABLE_KEY=pk_test_51H8kZk3q9XbT2mLp8RvW", NULL},
    {"PARTITION_KEY=customer_id_2024_region", NULL},
    {"S3_KEY=uploads/2024/report-7f3a9c.pdf", NULL},
    {"CACHE_KEY=user:12345:profile:v2", NULL},
    {"SSH_KEY=/home/me/.ssh/id_ed25519", NULL},
    {"OPENAI_KEY=${OPENAI_KEY}", NULL},
    {"DEPLOY_KEY=changeme_changeme_123", NULL},
    {"MONKEY=Zk3q9XbT2mLp8RvW5nJcQ7", NULL},
    {"openai_key=Zk3q9XbT2mLp8RvW5nJcQ7", NULL},
    /* "pass" as a name of its own in text: nodemailer's auth, SMTP_PASS;
       not bypass, compass, LLVM's passes, a value of letters */
    {"auth: { user: 'me@corp.internal', pass: 'Zk3q9XbT2mLp' }", "GENERIC_SECRET"},
    {"SMTP_PASS=Zk3q9XbT2mLp", "GENERIC_SECRET"},
    {"struct VerifierPass : PassInfoMixin<VerifierPass> {", NULL},
    {"Return true if -debug-pass=Executions", NULL},
    {"PASS: binutils-all/i386/pr21231a\nPASS: gdb.base/break.exp: run2", NULL},
    {"[this, ID, Pass = std::move(Pass)](AnalysisKey *PassID)", NULL},
    {"password = std::string(argv[1]);", NULL},
    {"bypass: Zk3q9XbT2mLp", NULL},
    /* a name that ends in "Pass" begun in a capital (camelCase), and the
       secret key of a config (MinIO's secretKey, a YAML secret_key) */
    {"const dbPass = \"Zk3q9#XbT2mLp\";", "GENERIC_SECRET"},
    {"smtpPass: Zk3q9XbT2mLp", "GENERIC_SECRET"},
    {"class FooPass : PassInfoMixin<FooPass> {", NULL},
    {"firstPass = computeAll(x1)", NULL},
    {"encompass = Zk3q9XbT2mLp", NULL},
    {"secret_key: Zk3q9XbT2mLp8RvW5nJcQ7", "GENERIC_SECRET"},
    {"secretKey = \"Zk3q9XbT2mLp8RvW5nJcQ7\"", "GENERIC_SECRET"},
    {"secret_key = os.environ[\"SECRET_KEY\"]", NULL},
    {"secret_key: ${SECRET_KEY}", NULL},
    {"the compass = Zk3q9XbT2mLp", NULL},
    {"you pass: the test", NULL},
    /* Docker's config.json written out: "auth" is base64 of user:password */
    {"{\"auths\": {\"registry.corp.io\": {\"auth\": \"ZGVwbG95OlMzY3IzdFBhNTV3MHJk\"}}}", "GENERIC_SECRET"},
    {"\"auth\": \"dXNlcjpwYXNzd29yZA==\"", NULL},
    {"\"auth\": \"dGhpcyBpcyBub3QgYSBwYXNz\"", NULL},
    {"oauth: ZGVwbG95OlMzY3IzdFBhNTV3MHJk", NULL},
    {"auth: oauth2-client-credentials", NULL},
    /* .netrc entries, on one line or several */
    {"machine git.corp.io login deploy password S3cr3tPa55w0rd", "GENERIC_SECRET"},
    {"machine api.heroku.com\n  login ops@corp.io\n  password c4cd94da15ea0544802c2cfd5ec4ead324327430",
     "GENERIC_SECRET"},
    {"machine x login user password password", NULL},
    {"please login to the portal and enter the password shown below", NULL},
    {"machine x login user password $NETRC_PASSWORD", NULL},
    /* passwords on command lines */
    {"curl -s -u admin:Zk3q9XbT2m! https://api.internal/v1/items", "GENERIC_SECRET"},
    {"curl --user \"deploy:S3cr3t-Pa55\" -X POST https://ci.internal/hook", "GENERIC_SECRET"},
    {"mysqldump -uroot -pK9x!mQ2zL db > dump.sql", "GENERIC_SECRET"},
    {"sshpass -p 'Tr0ub4dor&3' ssh ops@db.internal", "GENERIC_SECRET"},
    {"curl -u user:password https://example.com", NULL},
    {"curl -u $USER:$TOKEN https://example.com", NULL},
    {"curl -u \"$(id -u):$(id -g)\" x", NULL},
    {"curl -u elastic:changeme localhost:9200", NULL},
    {"docker run -u 1000:1000 image; curl -V", NULL},
    {"mysql -u root -p mydb", NULL},
    {"mysql -h db -P3306 -u app -p", NULL},
    {"mysql -pYOUR_PASSWORD", NULL},
    {"mysql -e 'select 1' -pmysecret", NULL},
    {"ps -u root:wheel; tar -cvzf backup.tgz -pmydir", NULL},
};

static void test_types(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r));
    for (size_t i = 0; i < SGW_ARRAY_LEN(cases); i++) {
        scan1(w, cases[i].text, r);
        if (cases[i].type ? !has_type(r, cases[i].type) : r->n != 0) {
            FAIL("\"%s\": want %s", cases[i].text, cases[i].type ? cases[i].type : "nothing");
            dump("got", r);
        }
    }
    /* documented example values carry CLS_FF_EXAMPLE */
    scan1(w, "AKIAIOSFODNN7EXAMPLE", r);
    if (r->n != 1 || !(r->f[0].flags & CLS_FF_EXAMPLE))
        FAIL("AWS example key not flagged");
    /* ... and names and numbers set aside for documentation */
    static const struct {
        const char *text;
        int example;
    } ex[] = {
        {"mail bob@example.com", 1},        {"mail bob@mail.example.org", 1}, {"mail bob@corp.test", 1},
        {"mail bob@notexample.com", 0},     {"server 192.0.2.10", 1},         {"server 203.0.113.254", 1},
        {"server 192.0.20.10", 0},          {"ip 2001:db8::1", 1},            {"ip 2001:4860::8888", 0},
        {"phone (415) 555-0123", 1},        {"phone (415) 555-2671", 0},      {"phone +44 20 7946 0958", 1},
        {"mobile 07700 900123", 1},         {"mobile 07700 912345", 0},
        /* AWS's documentation marks the secrets and tokens it shows */
        {"aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", 1},
        {"aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLFKEY", 0},
        {"\"SessionToken\": \"IQoJb3JpZ2luX2VjEOz////////////////////wEXAMPLEtMSJHMEUCIDoKK3JH9uGQE1z0sINr5M4jk+Na8KHDc"
         "CYRVjJCZEvOAiEA3OvJGtw1EcViOleS2vhs8VdCKFJQWPQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXD\"", 1},
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(ex); i++) {
        scan1(w, ex[i].text, r);
        if (r->n != 1 || !!(r->f[0].flags & CLS_FF_EXAMPLE) != ex[i].example) {
            FAIL("\"%s\": example flag, want %d", ex[i].text, ex[i].example);
            dump("got", r);
        }
    }
    free(r);
}

/* Windows longer than 64 bytes compute their shapes block by block, with
 * carries across the blocks: each positive case is still found when a run
 * of spaced digits before and after stretches its window (so that the case
 * lies anywhere across the block edges). */
static void test_long_windows(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r));
    static const char pad[] = "7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7";
    char buf[512];
    for (size_t i = 0; i < SGW_ARRAY_LEN(cases); i++) {
        if (!cases[i].type)
            continue;
        for (int where = 0; where < 2; where++) {
            int n = where == 0 ? snprintf(buf, sizeof(buf), "%s; %s", cases[i].text, pad)
                               : snprintf(buf, sizeof(buf), "%s. %s", pad, cases[i].text);
            if (n < 0 || (size_t)n >= sizeof(buf)) {
                FAIL("case %zu too long", i);
                continue;
            }
            scan1(w, buf, r);
            if (!has_type(r, cases[i].type)) {
                FAIL("\"%s\" in a long window (%s): want %s", cases[i].text, where ? "after" : "before",
                     cases[i].type);
                dump("got", r);
            }
        }
    }
    free(r);
}

/* A freed scanner is kept by its worker and reused by the next one: nothing
 * of the old one (an open window, half a literal in the Hyperscan stream,
 * findings, the JSON key) may leak into the new one. */
static void test_reuse(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r)), *fresh = malloc(sizeof(*fresh));
    const char *tail = "SFODNN7EXAMPLE and 4111 1111";
    scan1(w, tail, fresh);
    struct cls_scanner *sc = NULL;
    if (cls_scanner_new(w, 1, NULL, NULL, &sc) != SGW_OK) {
        FAIL("scanner_new");
    } else {
        static const char key[] = "card";
        static const char half[] = "key AKIAIO card 4111 1111 1111 1111 and 1111 2222 3333";
        cls_scanner_context(sc, (const uint8_t *)key, sizeof(key) - 1);
        if (cls_scanner_data(sc, (const uint8_t *)half, sizeof(half) - 1) != SGW_OK)
            FAIL("data");
        cls_scanner_free(sc); /* unfinished: window open, literal half seen */
    }
    scan1(w, tail, r);
    if (!same(r, fresh)) {
        FAIL("a reused scanner differs from a fresh one");
        dump("fresh", fresh);
        dump("reused", r);
    }
    if (has_type(r, "AWS_ACCESS_KEY"))
        FAIL("a literal straddled two scanners");
    free(r);
    free(fresh);
}

/* The trigger bit masks (the scanner's per-batch trigger map) agree with a
 * byte loop for every length up to 300, in every variant; each buffer is
 * allocated at its exact length (ASan) and the words past the last are
 * left alone. */
static void test_trigger_bits(void)
{
    int avx2 = 0, avx512 = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2");
    avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("bmi2");
#endif
    static const uint8_t pick[] = {'0', '9', '@', '5', 'a', '/', ':', 0xb0, '?', ' ', 0xc0, 'Z', 0x00, 0xff};
    void (*const fns[])(const uint8_t *, size_t, uint64_t *) = {cls_trigger_bits_scalar, cls_trigger_bits_sse2,
                                                                 cls_trigger_bits_avx2, cls_trigger_bits_avx512};
    uint64_t seed = 7;
    for (size_t len = 0; len <= 300; len++) {
        uint8_t *b = malloc(len ? len : 1);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            b[k] = (seed >> 60) < 3 ? pick[(seed >> 33) % sizeof(pick)] : (uint8_t)(seed >> 40);
        }
        size_t words = (len + 63) / 64;
        uint64_t want[6] = {0};
        for (size_t k = 0; k < len; k++)
            if ((b[k] >= '0' && b[k] <= '9') || b[k] == '@')
                want[k / 64] |= 1ull << (k % 64);
        for (size_t f = 0; f < SGW_ARRAY_LEN(fns); f++) {
            if ((f == 2 && !avx2) || (f == 3 && !avx512))
                continue;
            uint64_t got[7];
            memset(got, 0xa5, sizeof(got));
            fns[f](b, len, got);
            for (size_t k = 0; k < words; k++)
                if (got[k] != want[k])
                    FAIL("variant %zu len %zu word %zu: %016llx, want %016llx", f, len, k,
                         (unsigned long long)got[k], (unsigned long long)want[k]);
            if (got[words] != 0xa5a5a5a5a5a5a5a5ull)
                FAIL("variant %zu len %zu wrote past its words", f, len);
        }
        free(b);
    }
}

/* every split point of each positive case gives the same findings */
static void test_split_small(struct cls_worker *w)
{
    struct result *one = malloc(sizeof(*one)), *two = malloc(sizeof(*two));
    for (size_t i = 0; i < SGW_ARRAY_LEN(cases); i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);
        scan_split(w, t, len, NULL, 0, 1, one);
        for (size_t cut = 0; cut <= len; cut++) {
            scan_split(w, t, len, &cut, 1, 1, two);
            if (!same(one, two)) {
                FAIL("\"%s\" split at %zu differs", t, cut);
                dump("one-shot", one);
                dump("split", two);
                break;
            }
        }
        /* and byte by byte */
        size_t *cuts = malloc(len * sizeof(*cuts));
        for (size_t k = 0; k < len; k++)
            cuts[k] = k;
        scan_split(w, t, len, cuts, len, 1, two);
        if (!same(one, two))
            FAIL("\"%s\" fed byte by byte differs", t);
        free(cuts);
    }
    free(one);
    free(two);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A large document of filler words, numbers and every positive case. */
static char *big_doc(size_t target, size_t *len)
{
    static const char *const words[] = {"the", "report", "for", "quarter", "revenue", "model", "token",
                                        "password", "secret", "swift", "born", "ssn", "server"};
    char *d = malloc(target + 512);
    size_t n = 0;
    while (n < target) {
        uint64_t r = xrand() % 100;
        const char *piece;
        char num[32];
        if (r < 10) {
            piece = cases[xrand() % SGW_ARRAY_LEN(cases)].text;
        } else if (r < 20) {
            snprintf(num, sizeof(num), "%llu", (unsigned long long)(xrand() % 100000000000ull));
            piece = num;
        } else {
            piece = words[xrand() % SGW_ARRAY_LEN(words)];
        }
        size_t pl = strlen(piece);
        memcpy(d + n, piece, pl);
        n += pl;
        d[n++] = (xrand() % 9 == 0) ? '\n' : ' ';
    }
    d[n] = '\0';
    *len = n;
    return d;
}

static void test_split_random(struct cls_worker *w)
{
    size_t len;
    char *d = big_doc(300000, &len);
    struct result *one = malloc(sizeof(*one)), *two = malloc(sizeof(*two));
    scan_split(w, d, len, NULL, 0, 1, one);
    if (one->n < 100)
        FAIL("big document: only %zu findings", one->n);
    for (int round = 0; round < 20; round++) {
        size_t ncuts = 1 + xrand() % 200;
        size_t *cuts = malloc(ncuts * sizeof(*cuts));
        for (size_t k = 0; k < ncuts; k++)
            cuts[k] = xrand() % (len + 1);
        for (size_t a = 1; a < ncuts; a++) /* sort */
            for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
                size_t t = cuts[b];
                cuts[b] = cuts[b - 1];
                cuts[b - 1] = t;
            }
        scan_split(w, d, len, cuts, ncuts, 1, two);
        if (!same(one, two)) {
            FAIL("random split round %d differs (%zu vs %zu findings)", round, one->n, two->n);
            free(cuts);
            break;
        }
        free(cuts);
    }
    free(one);
    free(two);
    free(d);
}

static void test_straddle_and_units(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r));
    /* a card straddling two feeds */
    const char *t = "pay with 4111 1111 1111 1111 today";
    size_t cut = 16;
    scan_split(w, t, strlen(t), &cut, 1, 0, r);
    if (!has_type(r, "CREDIT_DEBIT_CARD_NUMBER") || r->f[0].start != 9 || r->f[0].end != 28)
        FAIL("straddling card not found at [9,28)");
    /* a boundary ends the unit: no match across it */
    struct cls_scanner *sc = NULL;
    cls_scanner_new(w, 0, NULL, NULL, &sc);
    cls_scanner_data(sc, (const uint8_t *)"4111 1111", 9);
    cls_scanner_boundary(sc);
    cls_scanner_data(sc, (const uint8_t *)" 1111 1111", 10);
    cls_scanner_finish(sc);
    size_t n = 0;
    cls_scanner_findings(sc, &n);
    if (n != 0)
        FAIL("match spanned a unit boundary");
    cls_scanner_free(sc);
    /* a JSON key is context: {"ssn": "536221234"} */
    sc = NULL;
    cls_scanner_new(w, 0, NULL, NULL, &sc);
    cls_scanner_context(sc, (const uint8_t *)"SSN", 3);
    cls_scanner_data(sc, (const uint8_t *)"536221234", 9);
    cls_scanner_boundary(sc);
    cls_scanner_finish(sc);
    const struct cls_finding *f = cls_scanner_findings(sc, &n);
    if (n != 1 || strcmp(f[0].type, "US_SOCIAL_SECURITY_NUMBER") != 0)
        FAIL("JSON key context did not qualify a bare SSN");
    cls_scanner_free(sc);
    free(r);
}

static void test_context_rules(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r));
    scan1(w, "reference 536221234 attached", r);
    if (r->n)
        FAIL("bare 9 digits reported without context");
    scan1(w, "ssn: 536221234", r);
    if (!has_type(r, "US_SOCIAL_SECURITY_NUMBER"))
        FAIL("bare SSN with context missed");
    scan1(w, "C01X00T47", r);
    if (r->n)
        FAIL("passport-like token reported without context");
    scan1(w, "Reisepass C01X00T47", r);
    if (!has_type(r, "PASSPORT_NUMBER"))
        FAIL("passport with German context missed");
    /* context raises confidence */
    scan1(w, "536-22-1234", r);
    uint8_t plain = r->n ? r->f[0].confidence : 0;
    scan1(w, "social security 536-22-1234", r);
    uint8_t boosted = r->n ? r->f[0].confidence : 0;
    if (!(plain > 0 && boosted > plain))
        FAIL("context did not raise confidence (%u -> %u)", plain, boosted);
    /* context far away (> 64 bytes) does not count */
    scan1(w, "ssn ................................................................. 536221234", r);
    if (r->n)
        FAIL("context more than 64 bytes away counted");
    free(r);
}

static void test_excerpts(struct cls_worker *w)
{
    struct result *r = malloc(sizeof(*r));
    for (size_t i = 0; i < SGW_ARRAY_LEN(cases); i++) {
        if (!cases[i].type)
            continue;
        scan1(w, cases[i].text, r);
        for (size_t k = 0; k < r->n; k++) {
            const struct cls_finding *f = &r->f[k];
            const char *x = f->excerpt;
            size_t xl = strlen(x);
            const char *v = cases[i].text + f->start;
            size_t vl = (size_t)(f->end - f->start);
            if (strcmp(f->type, "EMAIL") == 0) {
                /* the first character is kept whole (UTF-8: иван@ gives и***@) */
                const char *at = strpbrk(x, "@[({<"); /* (or an obfuscated address's [at]) */
                uint8_t c0 = (uint8_t)x[0];
                long c1 = c0 < 0x80 ? 1 : (c0 & 0xe0) == 0xc0 ? 2 : (c0 & 0xf0) == 0xe0 ? 3 : 4;
                if (!at || at - x != c1 + 3 || memcmp(x + c1, "***", 3) != 0)
                    FAIL("email excerpt '%s' not masked", x);
                continue;
            }
            size_t head = 0, tail = 0;
            while (head < xl && x[head] != '*')
                head++;
            while (tail < xl - head && x[xl - 1 - tail] != '*')
                tail++;
            /* (characters, not bytes: UTF-8 letters are kept whole) */
            size_t hc = 0, tc = 0;
            for (size_t b = 0; b < head; b++)
                hc += ((uint8_t)x[b] & 0xc0) != 0x80;
            for (size_t b = xl - tail; b < xl; b++)
                tc += ((uint8_t)x[b] & 0xc0) != 0x80;
            if (hc > 4 || tc > 4 || head + tail >= vl)
                FAIL("%s excerpt '%s' reveals too much", f->type, x);
            if (vl >= 8 && memmem(x, xl, v, vl))
                FAIL("%s excerpt holds the value", f->type);
        }
    }
    /* without opts.excerpts nothing is filled */
    struct result *q = malloc(sizeof(*q));
    scan_split(w, "4111 1111 1111 1111", 19, NULL, 0, 0, q);
    if (q->n != 1 || q->f[0].excerpt[0] != '\0')
        FAIL("excerpt filled without opts.excerpts");
    free(q);
    free(r);
}

static void stream_scan(struct cls_worker *w, const char *ct, const void *body, size_t len,
                        size_t piece, struct result *r);

static void test_bounded(struct cls_worker *w)
{
    size_t n = 1500 * 24;
    char *d = malloc(n + 1);
    size_t o = 0;
    for (int i = 0; i < 1500; i++)
        o += (size_t)snprintf(d + o, n + 1 - o, "u%04d@example.com      ", i);
    struct result *r = malloc(sizeof(*r));
    scan_split(w, d, o, NULL, 0, 0, r);
    if (r->n != CLS_MAX_FINDINGS + 1 || strcmp(r->f[r->n - 1].type, "FINDINGS_TRUNCATED") != 0 ||
        r->f[r->n - 1].category != CLS_CAT_UNINSPECTABLE)
        FAIL("findings not bounded: %zu", r->n);
    /* past the limit the scanner stops looking for matches (nothing more
       could be recorded), but what a decoder reports later still counts:
       a JSON body that breaks off after the addresses */
    {
        char *j = malloc(o + 64);
        int jn = snprintf(j, o + 64, "{\"a\": \"%.*s\", \"b\": [1, 2", (int)o, d);
        stream_scan(w, "application/json", j, (size_t)jn, 4096, r);
        int trunc = 0, other = 0;
        for (size_t i = 0; i < r->n; i++) {
            trunc += strcmp(r->f[i].type, "FINDINGS_TRUNCATED") == 0;
            other += r->f[i].category == CLS_CAT_UNINSPECTABLE &&
                     strcmp(r->f[i].type, "FINDINGS_TRUNCATED") != 0;
        }
        if (trunc != 1 || other != 1)
            FAIL("after the finding limit: %d truncation and %d other reports in %zu findings",
                 trunc, other, r->n);
        free(j);
    }
    free(r);
    free(d);
}

static void test_custom(void)
{
    static const char *const terms[] = {"Project Falcon", "bluebird", "x"};
    struct cls_dictionary dict = {"PROJECT_CODENAME", terms, 3};
    /* literal-triggered (PRJ-, ACC, " REF-", (?i)"strictly confidential")
       and prefilter-triggered ([A-Z]{2}[0-9]{6}: no literal) regexes */
    struct cls_custom_regex rx[] = {{"TICKET_ID", "PRJ-[0-9]{4}", NULL},
                                    {"ACCOUNT_NO", "ACC[0-9]{10}", "luhn"},
                                    {"CASE_REF", "Case [0-9]{3} REF-[A-Z]{4}", NULL},
                                    {"MARKING", "(?i)strictly confidential", NULL},
                                    {"BADGE", "\\b[A-Z]{2}[0-9]{6}\\b", NULL}};
    static const uint8_t key[32] = {1, 2, 3};
    uint8_t h[2][32];
    unsigned ml = 0;
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)"cust-00123", 10, h[0], &ml);
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)"vip@acme.example", 16, h[1], &ml);
    struct cls_fingerprints fp = {"CUSTOMER_ID", {0}, (const uint8_t(*)[32])h, 2};
    memcpy(fp.key, key, 32);
    static const char *const packs[] = {"secrets"};
    struct cls_config cfg = {packs, 1, &dict, 1, rx, 5, &fp, 1};
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != SGW_OK) {
        FAIL("custom engine: %s", err);
        return;
    }
    struct cls_worker *w = NULL;
    cls_worker_new(e, &w);
    struct result *r = malloc(sizeof(*r));
    scan1(w, "status of project falcon and the bluebird rollout", r);
    if (r->n != 2 || strcmp(r->f[0].type, "PROJECT_CODENAME") != 0 || r->f[0].start != 10 ||
        r->f[0].end != 24 || r->f[0].category != CLS_CAT_CUSTOM) {
        FAIL("dictionary terms");
        dump("got", r);
    }
    scan1(w, "bluebirds and superbluebird and xylophone", r);
    if (r->n)
        FAIL("dictionary matched inside words");
    scan1(w, "see PRJ-1234 and ACC4111111110 vs ACC4111111112", r);
    if (r->n != 2 || !has_type(r, "TICKET_ID") || !has_type(r, "ACCOUNT_NO")) {
        FAIL("custom regex/validator");
        dump("got", r);
    }
    /* the literal sits in the middle of the match, spaces on both sides;
       every split of the text gives the same findings */
    static const char doc[] = "filed as Case 123 REF-ABCD (Strictly Confidential), badge XY123456 ok";
    struct result *r1 = malloc(sizeof(*r1));
    scan1(w, doc, r);
    if (r->n != 3 || !has_type(r, "CASE_REF") || !has_type(r, "MARKING") || !has_type(r, "BADGE") ||
        r->f[0].start != 9 || r->f[0].end != 26 || r->f[1].start != 28 || r->f[1].end != 49) {
        FAIL("literal-triggered custom regexes");
        dump("got", r);
    }
    for (size_t cut = 1; cut < sizeof(doc) - 1; cut++) {
        size_t cuts[2] = {cut / 2, cut};
        scan_split(w, doc, sizeof(doc) - 1, cuts, 2, 1, r1);
        if (!same(r, r1)) {
            FAIL("custom regexes: split at %zu/%zu differs", cut / 2, cut);
            dump("one buffer", r);
            dump("split", r1);
            break;
        }
    }
    free(r1);
    scan1(w, "Case 12 REF-ABCD, case 123 REF-ABCD, Case 123 REF-abcd", r);
    if (r->n)
        FAIL("CASE_REF matched a near miss");
    scan1(w, "customer CUST-00123 wrote from VIP@acme.example; cust-00124 did not", r);
    if (r->n != 2 || strcmp(r->f[0].type, "CUSTOMER_ID") != 0) {
        FAIL("fingerprints");
        dump("got", r);
    }
    free(r);
    cls_worker_free(w);
    cls_engine_unref(e);

    /* the case folding of context words and JSON keys: ASCII and the
       two-byte pairs, lengths kept; ÿ/Ÿ (lower below upper), ß and ı alone;
       the final sigma ς as σ (so ΓΕΝΝΗΣΗΣ and γέννησης meet) */
    {
        uint8_t f[] = "AbC \xc3\x84\xc3\xb6\xc3\x9c \xc5\xb8\xc3\xbf \xce\xa3\xcf\x82 \xd0\x94\xd0\x81 "
                      "\xc5\x81\xc4\xb9 \xc3\x9f\xc4\xb1 \xe2\x82\xac";
        cls_fold_lower(f, f, sizeof(f) - 1);
        const char *want = "abc \xc3\xa4\xc3\xb6\xc3\xbc \xc3\xbf\xc3\xbf \xcf\x83\xcf\x83 \xd0\xb4\xd1\x91 "
                           "\xc5\x82\xc4\xba \xc3\x9f\xc4\xb1 \xe2\x82\xac";
        if (memcmp(f, want, sizeof(f) - 1) != 0)
            FAIL("cls_fold_lower: [%s]", (const char *)f);
    }
    /* Greek's accented vowels pair with their capitals; σ, ς and Σ fold
       to σ (the pairs checked against Python's str.lower) */
    {
        static const uint32_t gp[][2] = {{0x386, 0x3ac}, {0x388, 0x3ad}, {0x389, 0x3ae}, {0x38a, 0x3af},
                                         {0x38c, 0x3cc}, {0x38e, 0x3cd}, {0x38f, 0x3ce}, {0x391, 0x3b1},
                                         {0x3a9, 0x3c9}};
        for (size_t i = 0; i < SGW_ARRAY_LEN(gp); i++)
            if (cls_case_pair(gp[i][0]) != gp[i][1] || cls_case_pair(gp[i][1]) != gp[i][0] ||
                cls_case_lower(gp[i][0]) != gp[i][1])
                FAIL("Greek pair U+%04X/U+%04X", (unsigned)gp[i][0], (unsigned)gp[i][1]);
        if (cls_case_lower(0x3c2) != 0x3c3 || cls_case_lower(0x3a3) != 0x3c3 || cls_case_lower(0x3c3) != 0x3c3)
            FAIL("sigma folding");
    }
    /* ASCII goes eight bytes a step: every ASCII byte at every place of
       such a word, and the word's neighbours, against the byte rule */
    for (unsigned c = 0; c < 0x80; c++)
        for (size_t at = 0; at < 19; at++) {
            uint8_t in[19], out[19];
            for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t)("@AZ[`az{mM"[i % 10]);
            in[at] = (uint8_t)c;
            cls_fold_lower(out, in, sizeof(in));
            for (size_t i = 0; i < sizeof(in); i++) {
                uint8_t want = in[i] >= 'A' && in[i] <= 'Z' ? (uint8_t)(in[i] + 32) : in[i];
                if (out[i] != want)
                    FAIL("cls_fold_lower ASCII: byte 0x%02x at %zu gave 0x%02x at %zu", c, at, out[i], i);
            }
        }
    /* dictionary terms in other cases of non-ASCII letters and with their
       words apart (a marking wrapped onto the next line); every split */
    {
        static const char *const marks[] = {"Ärztliches Attest", "  VS-Nur für den  Dienstgebrauch ",
                                            "ŁÓDŹ", "Στοιχεία", "секретно", "Απόρρητος"};
        struct cls_dictionary md = {"MARKING", marks, 6};
        struct cls_config mc = {packs, 1, &md, 1, NULL, 0, NULL, 0};
        struct cls_engine *me = NULL;
        if (cls_engine_new(&mc, &me, err, sizeof(err)) != SGW_OK) {
            FAIL("marking engine: %s", err);
        } else {
            struct cls_worker *mw = NULL;
            cls_worker_new(me, &mw);
            static const struct {
                const char *text;
                size_t start, end; /* end 0: no finding */
            } mcases[] = {
                {"an \xc3\xa4rztliches attest here", 3, 21},
                {"\xc3\x84RZTLICHES\r\n    ATTEST", 0, 23},
                {"vs-nur F\xc3\x9cR den\tdienstgebrauch.", 0, 30},
                {"VS-NUR F\xc3\xbcr den Dienstgebrauchs", 0, 0},
                {"\xc5\x82\xc3\xb3" "d\xc5\xba!", 0, 7},
                {"\xcf\x83\xcf\x84\xce\xbf\xce\xb9\xcf\x87\xce\xb5\xce\xaf\xce\xb1", 0, 16},
                {"\xd0\xa1\xd0\x95\xd0\x9a\xd0\xa0\xd0\x95\xd0\xa2\xd0\x9d\xd0\x9e", 0, 16},
                /* ΑΠΌΡΡΗΤΟΣ: the term's final ς is Σ in capitals, ό is Ό */
                {"\xce\x91\xce\xa0\xce\x8c\xce\xa1\xce\xa1\xce\x97\xce\xa4\xce\x9f\xce\xa3", 0, 18},
                {"\xc3\xa4rztliches         attest", 0, 0}, /* nine spaces: too far apart */
                {"Xrztliches Attest", 0, 0},
            };
            struct result *m1 = malloc(sizeof(*m1)), *m2 = malloc(sizeof(*m2));
            for (size_t c = 0; c < sizeof(mcases) / sizeof(mcases[0]); c++) {
                const char *t = mcases[c].text;
                scan1(mw, t, m1);
                int ok = mcases[c].end ? m1->n == 1 && strcmp(m1->f[0].type, "MARKING") == 0 &&
                                             m1->f[0].start == mcases[c].start && m1->f[0].end == mcases[c].end
                                       : m1->n == 0;
                if (!ok) {
                    FAIL("marking case %zu", c);
                    dump("got", m1);
                    continue;
                }
                for (size_t cut = 1; cut < strlen(t); cut++) {
                    size_t cuts[1] = {cut};
                    scan_split(mw, t, strlen(t), cuts, 1, 1, m2);
                    if (!same(m1, m2)) {
                        FAIL("marking case %zu: split at %zu differs", c, cut);
                        break;
                    }
                }
            }
            /* the excerpt keeps whole letters: 4 characters each end */
            scan1(mw, mcases[1].text, m1);
            if (m1->n != 1 || strcmp(m1->f[0].excerpt, "\xc3\x84RZT**************TEST") != 0)
                FAIL("excerpt of a non-ASCII term: '%s'", m1->n ? m1->f[0].excerpt : "");
            free(m1);
            free(m2);
            cls_worker_free(mw);
            cls_engine_unref(me);
        }
        static const char *const blank[] = {" \t "};
        struct cls_dictionary bd = {"BLANK", blank, 1};
        struct cls_config bc = {packs, 1, &bd, 1, NULL, 0, NULL, 0};
        me = NULL;
        if (cls_engine_new(&bc, &me, err, sizeof(err)) == SGW_OK || !strstr(err, "only whitespace"))
            FAIL("a whitespace term: '%s'", err);
        cls_engine_unref(me);
    }

    /* compile errors name the regex and the offset */
    struct cls_custom_regex bad = {"BROKEN", "abc(def", NULL};
    struct cls_config c2 = {packs, 1, NULL, 0, &bad, 1, NULL, 0};
    e = NULL;
    if (cls_engine_new(&c2, &e, err, sizeof(err)) == SGW_OK || !strstr(err, "BROKEN") ||
        !strstr(err, "offset 7"))
        FAIL("bad regex error: '%s'", err);
    cls_engine_unref(e);
    struct cls_custom_regex badv = {"V", "[0-9]+", "nosuch"};
    struct cls_config c3 = {packs, 1, NULL, 0, &badv, 1, NULL, 0};
    e = NULL;
    if (cls_engine_new(&c3, &e, err, sizeof(err)) == SGW_OK || !strstr(err, "nosuch"))
        FAIL("unknown validator error: '%s'", err);
    cls_engine_unref(e);
    static const char *const nopack[] = {"pii-mars"};
    struct cls_config c4 = {nopack, 1, NULL, 0, NULL, 0, NULL, 0};
    e = NULL;
    if (cls_engine_new(&c4, &e, err, sizeof(err)) == SGW_OK || !strstr(err, "pii-mars"))
        FAIL("unknown pack error: '%s'", err);
    cls_engine_unref(e);
}

/* cls_left_bound: which built-in regexes begin with a left edge that every
 * match has (lb_from then starts each regex run after it) */
static void test_left_bound(void)
{
    static const struct {
        const char *re;
        uint8_t want;
    } lb[] = {
        {CLS_LBA "[A-Z]{2}[0-9]{2}", CLS_LB_ALNUM},
        {CLS_LBN "[0-9]{3}-[0-9]{2}", CLS_LB_NUMTOK},
        {CLS_LBA "(?:SK|AC)[0-9a-f]{32}", CLS_LB_ALNUM},      /* '|' inside a group */
        {CLS_LBA "[|(]x\\|y", CLS_LB_ALNUM},                  /* in a class, escaped */
        {CLS_LBA "[]|]x", CLS_LB_ALNUM},                      /* ']' first in a class */
        {CLS_LBA "ABSK[0-9]+|bedrock-api-key-", CLS_LB_NONE}, /* an alternative without it */
        {CLS_LBA "(a", CLS_LB_NONE},
        {CLS_LBA "a)", CLS_LB_NONE},
        {"x" CLS_LBA "y", CLS_LB_NONE},
        {"(?<![A-Za-z])x", CLS_LB_NONE},
    };
    for (size_t i = 0; i < SGW_ARRAY_LEN(lb); i++)
        if (cls_left_bound(lb[i].re) != lb[i].want)
            FAIL("cls_left_bound(%s) = %u, want %u", lb[i].re, cls_left_bound(lb[i].re),
                 lb[i].want);
}

static void test_packs_select(void)
{
    static const char *const packs[] = {"secrets"};
    struct cls_config cfg = {packs, 1, NULL, 0, NULL, 0, NULL, 0};
    struct cls_engine *e = NULL;
    char err[128];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != SGW_OK) {
        FAIL("secrets engine");
        return;
    }
    struct cls_worker *w = NULL;
    cls_worker_new(e, &w);
    struct result *r = malloc(sizeof(*r));
    scan1(w, "mail a@example.com card 4111111111111111 key AKIAIOSFODNN7EXAMPLE", r);
    if (r->n != 1 || strcmp(r->f[0].type, "AWS_ACCESS_KEY") != 0)
        FAIL("pack selection: secrets only should find only the key");
    free(r);
    cls_worker_free(w);
    cls_engine_unref(e);
}

/* through the public stream API and the real decoder chain */
static void test_stream_json(struct cls_worker *w)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"my card is "
                       "4111-1111-1111-1111\"}]}],\"ssn\":\"536221234\"}";
    struct cls_stream_opts o = {.content_type = "application/json", .excerpts = 1};
    struct cls_stream *s = NULL;
    if (cls_stream_new(w, &o, &s) != SGW_OK) {
        FAIL("stream_new");
        return;
    }
    size_t len = strlen(body);
    for (size_t i = 0; i < len; i += 7)
        if (cls_stream_feed(s, body + i, len - i < 7 ? len - i : 7) != SGW_OK)
            FAIL("feed");
    if (cls_stream_close(s) != SGW_OK)
        FAIL("close");
    size_t n = 0;
    const struct cls_finding *f = cls_stream_findings(s, &n);
    int card = 0, ssn = 0;
    for (size_t i = 0; i < n; i++) {
        card |= strcmp(f[i].type, "CREDIT_DEBIT_CARD_NUMBER") == 0 && strstr(f[i].decoders, "json");
        ssn |= strcmp(f[i].type, "US_SOCIAL_SECURITY_NUMBER") == 0;
    }
    if (!card || !ssn)
        FAIL("JSON body: card %d ssn %d (n=%zu)", card, ssn, n);
    if (cls_stream_feed(s, "x", 1) == SGW_OK)
        FAIL("feed after close accepted");
    cls_stream_free(s);
}

/* body through a stream of worker w (content type ct), fed in pieces */
static void stream_scan(struct cls_worker *w, const char *ct, const void *body, size_t len, size_t piece,
                        struct result *r)
{
    struct cls_stream_opts o = {.content_type = ct};
    struct cls_stream *s = NULL;
    r->n = 0;
    if (cls_stream_new(w, &o, &s) != SGW_OK) {
        FAIL("stream_new");
        return;
    }
    for (size_t i = 0; i < len; i += piece)
        if (cls_stream_feed(s, (const char *)body + i, len - i < piece ? len - i : piece) != SGW_OK)
            FAIL("feed");
    if (cls_stream_close(s) != SGW_OK)
        FAIL("close");
    size_t n = 0;
    const struct cls_finding *f = cls_stream_findings(s, &n);
    if (n > SGW_ARRAY_LEN(r->f))
        n = SGW_ARRAY_LEN(r->f);
    memcpy(r->f, f, n * sizeof(*f));
    r->n = n;
    cls_stream_free(s);
}

static size_t b64(const uint8_t *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = t[v >> 18];
        out[k++] = t[(v >> 12) & 63];
        out[k++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[k] = 0;
    return k;
}

/* Secrets as structured data writes them: a value whose key names one
 * (JSON, form fields, XML elements), where the text holds no "password="
 * for the patterns; one finding a value, spanning it after an
 * authorization scheme, in any pieces; keys that are no secret's and values
 * that are none, nothing. */
static void test_kv_secrets(struct cls_worker *w)
{
    static const struct {
        const char *ct, *body;
        int n;              /* GENERIC_SECRET findings */
        size_t start, end;  /* the first one's span in the decoded text */
    } kvc[] = {
        {"application/json", "{\"password\": \"Zk3q9XbT2mLp\"}", 1, 8, 20},
        {"application/json", "{\"db\": {\"client_secret\": \"Zk3q9XbT2mLp8RvW\"}}", 1, 15, 31},
        {"application/json", "{\"headers\": {\"Authorization\": \"Bearer Zk3q9XbT2mLp8RvW5nJc\"}}", 1, 27, 47},
        {"application/json", "{\"SecretString\": \"Zk3q9XbT2mLp8RvW\", \"SessionToken\": \"FwoGZXIvYXdzEBYaDk3q9XbT\"}", 2,
         12, 28},
        {"application/json", "{\"passwords\": [\"Zk3q9XbT2mLp\", \"Ab3dE5gH7jK9\"]}", 2, 9, 21},
        {"application/x-www-form-urlencoded", "user=bob&pwd=Zk3q9XbT2mLp", 1, 10, 22},
        {"application/json", "{\"auth\": {\"user\": \"bob\", \"pass\": \"Zk3q9XbT2mLp\"}}", 1, 15, 27},
        {"application/json", "{\"smtpPass\": \"Zk3q9XbT2mLp\", \"bypass\": \"Zk3q9XbT2mLq\"}", 1, 8, 20},
        {"application/json", "{\"auths\": {\"r.io\": {\"auth\": \"ZGVwbG95OlMzY3IzdFBhNTV3MHJk\"}}, \"oauth\": \"Zk3q9XbT2mLp8RvW\"}", 1, 13, 41},
        {"application/xml", "<cfg><api_key>Zk3q9XbT2mLp8RvW</api_key></cfg>", 1, 10, 26},
        /* a key or name attribute names the value of the element (.NET,
           Spring, Java properties) */
        {"application/xml", "<appSettings><add key=\"ApiKey\" value=\"Zk3q9XbT2mLp8RvW\"/></appSettings>", 1, 28, 44},
        {"application/xml", "<beans><property name='db.password' value='Zk3q9XbT2mLp'/></beans>", 1, 33, 45},
        {"application/xml", "<properties><entry key=\"mail.smtp.password\">Zk3q9XbT2mLp</entry></properties>", 1, 36, 48},
        {"text/plain", "<?xml version=\"1.0\"?><configuration><add key=\"Stripe:SecretKey\" value=\"Zk3q9XbT2m&amp;Lp8RvW\"/>"
                       "</configuration>", 1, 57, 74},
        /* the last attribute's value before the tag's end; an end tag's
           name after the value is none */
        {"application/xml", "<db user=\"bob\" password=\"Zk3q9XbT2mLp8RvW\"></db>", 1, 17, 33},
        {"application/xml", "<ConfigurationData2><password>Zk3q9XbT2mLp8RvW</password></ConfigurationData2>", 1, 26, 42},
        /* a value longer than the 256 bytes kept: one token to its end
           (an OAuth access token, an STS session token), or none */
        {"application/json", "{\"access_token\": \"C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CPVNPkNa1Hedcm4pMbXDuCL1mHoOsFaQfDPrAJ71fTquWoGsbeKXgzg2sye9b2Rann76dEyTzAeKOmXRrvftva9AW7hipTgadDZFlRJmCGmUXiAPyhzAnar3ZLt4bnlz2MPKgcjnCqaXNv1syeefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7UeioEJP2NNern66nVberACpdclsxHKifxi5CvQUSHL8iLc7bE6wSt\"}", 1, 12, 312},
        {"application/json", "{\"access_token\": \"C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CPVNPkNa1Hedcm4pMbXDuCL1mHoOsFaQfDPrAJ71fTquWoGsbeKXgzg2sye9b2Rann76dEyTzAeKOmXRrvftva9AW7hipTgadDZFlRJmCGmUXiAPyhzAnar3ZLt4bnlz2MPKgcjnCqaXNv1syeefnLOpaMxxNDi9LE1Ki3ylOjt6o0NpUmkVO8JmR8y4EMfAdggcG9qpVTzqA05MFsHl7UeioEJP2NNern66nVberACpdclsxHKifxi5CvQUSHL8iLc7bE6wSt and more\"}", 0, 0, 0},
        /* keys about a secret, tokens of paging and models, placeholders,
           text with spaces, a value under another key */
        {"application/json",
         "{\"SecretId\": \"prod/db/Zk3q9XbT2mLp\", \"NextToken\": \"AAAAZk3q9XbT2mLp8RvW5nJc\", \"clientToken\": "
         "\"Zk3q9XbT2mLp8RvW\", \"max_tokens\": 4096, \"private_key_id\": \"1a2b3c4d5e6f7a8b9c0d\", "
         "\"password\": \"changeme\", \"api_key\": \"${OPENAI_API_KEY}\", \"secret\": \"the usual one\", "
         "\"token_type\": \"Bearer\", \"note\": \"Zk3q9XbT2mLp8RvW\", \"password_policy\": \"Zk3q9XbT2mLp8RvW\"}",
         0, 0, 0},
        /* a nested object's keys are no values of the key before them
           (one longer than the 63 bytes kept of a key too) */
        {"application/json",
         "{\"SecretAccessKey\": {\"locationName\": \"s\", \"shape\": \"SecretKeyType\"}, \"password\": "
         "{\"Zk3q9XbT2mLp8RvWZk3q9XbT2mLp8RvWZk3q9XbT2mLp8RvWZk3q9XbT2mLp8RvWZk3q9XbT2mLp8RvW\": 1}}",
         0, 0, 0},
        {"application/xml",
         "<cfg><add key=\"Theme\" value=\"Zk3q9XbT2mLp8RvW\"/><add key=\"password\"/><add value=\"Zk3q9XbT2mLp8RvW\"/>"
         "<field name=\"password_policy\" value=\"Zk3q9XbT2mLp8RvW\"/><entry key=\"api_key\"/>Zk3q9XbT2mLp8RvW"
         "<add name=\"secret\" value=\"changeme\"/></cfg>",
         0, 0, 0},
    };
    struct result *r = malloc(sizeof(*r));
    static const size_t pieces[] = {1, 2, 3, 7, 64, 4096};
    for (size_t i = 0; i < SGW_ARRAY_LEN(kvc); i++)
        for (size_t p = 0; p < SGW_ARRAY_LEN(pieces); p++) {
            stream_scan(w, kvc[i].ct, kvc[i].body, strlen(kvc[i].body), pieces[p], r);
            int n = 0;
            size_t first = SIZE_MAX;
            for (size_t k = 0; k < r->n; k++)
                if (strcmp(r->f[k].type, "GENERIC_SECRET") == 0 && n++ == 0)
                    first = k;
            if (n != kvc[i].n || (n && (r->f[first].start != kvc[i].start || r->f[first].end != kvc[i].end))) {
                FAIL("%s in pieces of %zu: %d GENERIC_SECRET, want %d at %zu-%zu", kvc[i].body, pieces[p], n,
                     kvc[i].n, kvc[i].start, kvc[i].end);
                dump("got", r);
            }
        }
    free(r);
}

/* A private key a decoder recognised (DER in base64, without its PEM
   lines) is a PRIVATE_KEY secret at any split; in a PEM block, whose header
   the secrets pack finds, one finding a key; without the secrets pack, the
   key is uninspectable (its bytes are no text). */
static void test_keys(struct cls_worker *w)
{
    static char js[4096], pem[4096];
    static uint8_t der[2048];
    struct result *r = malloc(sizeof(*r)), *r7 = malloc(sizeof(*r7));
    EVP_PKEY *k = EVP_EC_gen("P-256");
    PKCS8_PRIV_KEY_INFO *p8 = k ? EVP_PKEY2PKCS8(k) : NULL;
    uint8_t *p = der;
    int n = p8 && i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) <= (int)sizeof(der) ? i2d_PKCS8_PRIV_KEY_INFO(p8, &p) : -1;
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(k);
    if (n <= 0 || !r || !r7) {
        FAIL("key setup");
        free(r);
        free(r7);
        return;
    }
    size_t j = (size_t)sprintf(js, "{\"note\":\"deploy\",\"key\":\"");
    size_t bl = b64(der, (size_t)n, js + j);
    sprintf(js + j + bl, "\"}");
    stream_scan(w, "application/json", js, strlen(js), 1 << 16, r);
    stream_scan(w, "application/json", js, strlen(js), 7, r7);
    if (r->n != 1 || strcmp(r->f[0].type, "PRIVATE_KEY") != 0 || r->f[0].category != CLS_CAT_SECRET ||
        !strstr(r->f[0].reason, "PKCS#8") || strcmp(r->f[0].decoders, "json") != 0 || !same(r, r7)) {
        dump("base64 DER key in JSON", r);
        FAIL("base64 DER key in JSON");
    }
    /* PEM: the header's finding, none more for the key of its body */
    size_t m = (size_t)sprintf(pem, "-----BEGIN PRIVATE KEY-----\n");
    for (size_t i = 0; i < bl; i += 64)
        m += (size_t)sprintf(pem + m, "%.*s\n", (int)(bl - i < 64 ? bl - i : 64), js + j + i);
    m += (size_t)sprintf(pem + m, "-----END PRIVATE KEY-----\n");
    stream_scan(w, "text/plain", pem, m, 1 << 16, r);
    stream_scan(w, "text/plain", pem, m, 7, r7);
    if (r->n != 1 || strcmp(r->f[0].type, "PRIVATE_KEY") != 0 || r->f[0].start != 0 || !same(r, r7)) {
        dump("PEM key", r);
        FAIL("PEM key");
    }
    /* without the secrets pack */
    static const char *const packs[] = {"pii-core"};
    struct cls_config cfg = {packs, 1, NULL, 0, NULL, 0, NULL, 0};
    struct cls_engine *e = NULL;
    struct cls_worker *w2 = NULL;
    char err[128];
    if (cls_engine_new(&cfg, &e, err, sizeof(err)) != SGW_OK || cls_worker_new(e, &w2) != SGW_OK) {
        FAIL("pii-core engine");
    } else {
        stream_scan(w2, "application/json", js, strlen(js), 1 << 16, r);
        if (r->n != 1 || strcmp(r->f[0].type, "UNINSPECTABLE") != 0 || !strstr(r->f[0].reason, "PKCS#8")) {
            dump("key without the secrets pack", r);
            FAIL("key without the secrets pack");
        }
    }
    cls_worker_free(w2);
    cls_engine_unref(e);
    free(r);
    free(r7);
}

/* Field names as code and databases write them (snake_case, camelCase)
 * give the context words of several words ("date of birth", "social
 * security"); a key that is no such name gives none. */
static void test_key_words(struct cls_worker *w)
{
    static const struct {
        const char *key, *value, *type; /* type NULL: nothing found */
    } names[] = {
        {"date_of_birth", "1985-03-12", "DATE_OF_BIRTH"},   {"dateOfBirth", "1985-03-12", "DATE_OF_BIRTH"},
        {"birth_date", "1985-03-12", "DATE_OF_BIRTH"},      {"BirthDate", "1985-03-12", "DATE_OF_BIRTH"},
        {"DATE_OF_BIRTH", "1985-03-12", "DATE_OF_BIRTH"},   {"shipped_on", "1985-03-12", NULL},
        {"social_security_number", "536221847", "US_SOCIAL_SECURITY_NUMBER"},
        {"socialSecurityNumber", "536221847", "US_SOCIAL_SECURITY_NUMBER"},
        {"customerSSN", "536221847", "US_SOCIAL_SECURITY_NUMBER"}, {"order_number", "536221847", NULL},
    };
    struct result *r = malloc(sizeof(*r));
    if (!r) {
        FAIL("alloc");
        return;
    }
    for (size_t i = 0; i < SGW_ARRAY_LEN(names); i++) {
        char js[128];
        int n = snprintf(js, sizeof(js), "{\"%s\":\"%s\",\"n\":1}", names[i].key, names[i].value);
        stream_scan(w, "application/json", js, (size_t)n, 1 << 16, r);
        int ok = names[i].type ? r->n == 1 && strcmp(r->f[0].type, names[i].type) == 0 : r->n == 0;
        if (!ok) {
            dump(names[i].key, r);
            FAIL("a field name's context words");
        }
    }
    /* and in text: a word after '_' is a word ("user_ssn=", a log's) */
    static const char *const lines[] = {"user_ssn=536221847 ok\n", "order_no=536221847 ok\n"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(lines); i++) {
        stream_scan(w, "text/plain", lines[i], strlen(lines[i]), 1 << 16, r);
        if (i == 0 ? r->n != 1 || strcmp(r->f[0].type, "US_SOCIAL_SECURITY_NUMBER") != 0 : r->n != 0) {
            dump(lines[i], r);
            FAIL("a context word after '_' in text");
        }
    }
    /* code's camelCase in text: "dateOfBirth" folds to a context word of
       its own; "updatedAt" is none */
    static const char *const camel[] = {"user.dateOfBirth = 1985-03-12\n", "user.updatedAt = 1985-03-12\n"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(camel); i++) {
        stream_scan(w, "text/plain", camel[i], strlen(camel[i]), 1 << 16, r);
        if (i == 0 ? r->n != 1 || strcmp(r->f[0].type, "DATE_OF_BIRTH") != 0 : r->n != 0) {
            dump(camel[i], r);
            FAIL("dateOfBirth in text");
        }
    }
    free(r);
}

/* one engine shared by threads, one worker each: same findings as alone */
struct thr {
    struct cls_engine *e;
    const char *doc;
    size_t len;
    const struct result *want;
    int bad;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    struct cls_worker *w = NULL;
    if (cls_worker_new(t->e, &w) != SGW_OK) {
        t->bad = 1;
        return NULL;
    }
    struct result *r = malloc(sizeof(*r));
    for (int k = 0; k < 20 && !t->bad; k++) {
        scan_split(w, t->doc, t->len, NULL, 0, 1, r);
        t->bad = !same(r, t->want);
    }
    free(r);
    cls_worker_free(w);
    return NULL;
}

static void test_threads(struct cls_engine *e, struct cls_worker *w)
{
    size_t len;
    char *d = big_doc(60000, &len);
    struct result *want = malloc(sizeof(*want));
    scan_split(w, d, len, NULL, 0, 1, want);
    struct thr t[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        t[i] = (struct thr){e, d, len, want, 0};
        if (pthread_create(&th[i], NULL, thr_main, &t[i]) != 0)
            FAIL("pthread_create");
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        if (t[i].bad)
            FAIL("thread %d saw different findings", i);
    }
    free(want);
    free(d);
}

int main(void)
{
    struct cls_engine *e = NULL;
    char err[256];
    if (cls_engine_new(NULL, &e, err, sizeof(err)) != SGW_OK) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    struct cls_worker *w = NULL;
    if (cls_worker_new(e, &w) != SGW_OK)
        return 1;
    test_threads(e, w);
    cls_engine_unref(e); /* the worker keeps its own reference */
    test_trigger_bits();
    test_types(w);
    test_long_windows(w);
    test_reuse(w);
    test_split_small(w);
    test_split_random(w);
    test_straddle_and_units(w);
    test_context_rules(w);
    test_excerpts(w);
    test_bounded(w);
    test_stream_json(w);
    test_kv_secrets(w);
    test_keys(w);
    test_key_words(w);
    test_custom();
    test_left_bound();
    test_packs_select();
    cls_worker_free(w);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    puts("engine: ok");
    return 0;
}
