/* Unit vectors for classifiers/validators.c: published test numbers (valid),
 * one-digit-off and wrong-shape variants (invalid), and edges. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "classifiers/validators.h"

static int failures;

#define CHECK(fn, s, want)                                                                   \
    do {                                                                                     \
        int got_ = fn(s, strlen(s));                                                         \
        if (got_ != (want)) {                                                                \
            fprintf(stderr, "%s:%d: %s(\"%s\") = %d, want %d\n", __FILE__, __LINE__, #fn, s, \
                    got_, want);                                                             \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)
#define OK(fn, s) CHECK(fn, s, 1)
#define NO(fn, s) CHECK(fn, s, 0)

static void test_cards(void)
{
    /* the issuers' published test cards */
    OK(cls_v_card, "4111111111111111");
    /* 17 to 19 digits without separators: valid next to a context word
       only (a Java long, a nonce); grouped, valid */
    CHECK(cls_v_card, "3843061514398340071", CLS_V_NEEDCTX);
    CHECK(cls_v_card, "6221261234567890129", CLS_V_NEEDCTX);
    OK(cls_v_card, "6221 2612 3456 7890 129");
    OK(cls_v_card, "4111 1111 1111 1111");
    OK(cls_v_card, "4111-1111-1111-1111");
    OK(cls_v_card, "5555555555554444");
    OK(cls_v_card, "5105105105105100");
    OK(cls_v_card, "378282246310005");
    OK(cls_v_card, "371449635398431");
    OK(cls_v_card, "6011111111111117");
    OK(cls_v_card, "4012888888881881");
    OK(cls_v_card, "3530111333300000");
    OK(cls_v_card, "30569309025904");
    OK(cls_v_card, "2223003122003222");
    NO(cls_v_card, "4111111111111112");   /* Luhn off by one */
    NO(cls_v_card, "1234567812345670");   /* Luhn ok, no issuer starts with 1 */
    NO(cls_v_card, "0000000000000000");
    NO(cls_v_card, "37828224631000");     /* Amex too short */
    NO(cls_v_card, "41111111111111111111"); /* 20 digits */
    NO(cls_v_card, "");
    /* digit groups: whole, fours (the last shorter), 4-6-5 / 4-6-4, ones */
    OK(cls_v_card, "3782 822463 10005");
    OK(cls_v_card, "3056 930902 5904");
    OK(cls_v_card, "3782 8224 6310 005");
    OK(cls_v_card, "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1");
    NO(cls_v_card, "41 11 11 11 11 11 11 11"); /* a table's pairs */
    NO(cls_v_card, "41111 11111 111111");
    NO(cls_v_card, "4111 1111 11 11 1111");
    NO(cls_v_card, "411 1111 1111 1111 1");
    OK(cls_v_luhn, "79927398713");
    NO(cls_v_luhn, "79927398710");
    NO(cls_v_luhn, "7");
}

static void test_iban(void)
{
    OK(cls_v_iban, "DE89370400440532013000");
    OK(cls_v_iban, "DE89 3704 0044 0532 0130 00");
    OK(cls_v_iban, "GB82WEST12345698765432");
    OK(cls_v_iban, "GB82 WEST 1234 5698 7654 32");
    OK(cls_v_iban, "FR1420041010050500013M02606");
    OK(cls_v_iban, "NL91ABNA0417164300");
    OK(cls_v_iban, "BE68539007547034");
    OK(cls_v_iban, "ES9121000418450200051332");
    OK(cls_v_iban, "IT60X0542811101000000123456");
    OK(cls_v_iban, "CH9300762011623852957");
    OK(cls_v_iban, "gb82west12345698765432"); /* case-insensitive */
    NO(cls_v_iban, "DE89370400440532013001"); /* check fails */
    NO(cls_v_iban, "DE8937040044053201300");  /* DE needs 22 */
    NO(cls_v_iban, "XX89370400440532013000"); /* unknown country */
    NO(cls_v_iban, "DE");
    OK(cls_v_mod97, "DE89370400440532013000");
    NO(cls_v_mod97, "DE00370400440532013000");
}

static void test_us(void)
{
    OK(cls_v_aba, "011000015");
    OK(cls_v_aba, "021000021");
    NO(cls_v_aba, "021000022");
    NO(cls_v_aba, "991000021"); /* prefix 99 unassigned */
    NO(cls_v_aba, "02100002");
    OK(cls_v_us_ssn, "536-22-1234");
    OK(cls_v_us_ssn, "001-01-0001");
    NO(cls_v_us_ssn, "000-12-3456");
    NO(cls_v_us_ssn, "666-12-3456");
    NO(cls_v_us_ssn, "900-12-3456");
    NO(cls_v_us_ssn, "123-00-4567");
    NO(cls_v_us_ssn, "123-45-0000");
    NO(cls_v_us_ssn, "078-05-1120"); /* the Woolworth card */
    NO(cls_v_us_ssn, "123-45-678");
    OK(cls_v_us_itin, "912-70-1234");
    OK(cls_v_us_itin, "900-50-0000");
    NO(cls_v_us_itin, "912-66-1234");
    NO(cls_v_us_itin, "812-70-1234");
}

static void test_uk_ca(void)
{
    OK(cls_v_uk_nhs, "943 476 5919");
    OK(cls_v_uk_nhs, "9434765919");
    NO(cls_v_uk_nhs, "9434765918");
    NO(cls_v_uk_nhs, "1111111111");
    NO(cls_v_uk_nhs, "943476591");
    OK(cls_v_uk_nino, "AB123456C");
    OK(cls_v_uk_nino, "AB 12 34 56 C");
    NO(cls_v_uk_nino, "QQ123456C");
    NO(cls_v_uk_nino, "BG123456A");
    NO(cls_v_uk_nino, "AO123456A");
    NO(cls_v_uk_nino, "AB123456E");
    NO(cls_v_uk_nino, "AB12345C");
    OK(cls_v_ca_sin, "046 454 286");
    NO(cls_v_ca_sin, "046 454 287");
    NO(cls_v_ca_sin, "000000000");
}

static void test_eu(void)
{
    /* Steuer-IdNr examples from the BZSt test data */
    OK(cls_v_de_taxid, "86095742719");
    OK(cls_v_de_taxid, "47036892816");
    OK(cls_v_de_taxid, "65929970489");
    OK(cls_v_de_taxid, "25768131411");
    NO(cls_v_de_taxid, "86095742718"); /* check digit */
    NO(cls_v_de_taxid, "12345678903"); /* no repeated digit */
    NO(cls_v_de_taxid, "06095742719"); /* leading zero */
    OK(cls_v_fr_nir, "2 55 08 14 168 025 38");
    OK(cls_v_fr_nir, "255081416802538");
    NO(cls_v_fr_nir, "255081416802539");
    NO(cls_v_fr_nir, "355081416802538");
    OK(cls_v_es_dni, "12345678Z");
    OK(cls_v_es_dni, "12345678-Z");
    NO(cls_v_es_dni, "12345678A");
    OK(cls_v_es_nie, "X1234567L");
    NO(cls_v_es_nie, "X1234567T");
    NO(cls_v_es_nie, "A1234567L");
    OK(cls_v_it_cf, "RSSMRA85T10A562S");
    NO(cls_v_it_cf, "RSSMRA85T10A562T");
    NO(cls_v_it_cf, "RSSMRA85Z10A562S"); /* Z is no month letter */
    OK(cls_v_nl_bsn, "111222333");
    OK(cls_v_nl_bsn, "123456782");
    NO(cls_v_nl_bsn, "123456789");
    NO(cls_v_nl_bsn, "000000000");
    OK(cls_v_be_nrn, "85.07.30-033.28");
    OK(cls_v_be_nrn, "17073003384"); /* born after 2000 */
    NO(cls_v_be_nrn, "85073003329");
    OK(cls_v_pl_pesel, "44051401359");
    NO(cls_v_pl_pesel, "44051401358");
    NO(cls_v_pl_pesel, "44135401354"); /* month 13 */
    OK(cls_v_se_pnr, "811218-9876");
    OK(cls_v_se_pnr, "19811218-9876");
    NO(cls_v_se_pnr, "811218-9875");
    NO(cls_v_se_pnr, "811318-9876");
    OK(cls_v_fi_hetu, "131052-308T");
    NO(cls_v_fi_hetu, "131052-308U");
    NO(cls_v_fi_hetu, "131352-308T");
    OK(cls_v_pt_nif, "123456789");
    NO(cls_v_pt_nif, "123456788");
    NO(cls_v_pt_nif, "423456789");
    OK(cls_v_ie_pps, "1234567T");
    OK(cls_v_ie_pps, "1234567TW");
    NO(cls_v_ie_pps, "1234567A");
    OK(cls_v_at_svnr, "1237010180");
    NO(cls_v_at_svnr, "1238010180");
    OK(cls_v_dk_cpr, "070761-4285");
    NO(cls_v_dk_cpr, "320761-4285");
    OK(cls_v_eu_vat, "DE136695976");
    NO(cls_v_eu_vat, "DE136695975");
    OK(cls_v_eu_vat, "BE0417497106");
    NO(cls_v_eu_vat, "BE0417497107");
    OK(cls_v_eu_vat, "IT00743110157");
    NO(cls_v_eu_vat, "IT00743110158");
    OK(cls_v_eu_vat, "ATU12345678");
    OK(cls_v_eu_vat, "NL123456789B01");
    NO(cls_v_eu_vat, "XX123456789");
    OK(cls_v_eu_vat, "RO5540");
    OK(cls_v_eu_vat, "RO87");
    OK(cls_v_eu_vat, "IE8Z49289F");
    OK(cls_v_eu_vat, "IE9+90838W");
    OK(cls_v_eu_vat, "IE5*69144E");
    OK(cls_v_eu_vat, "IE6388047V");
    NO(cls_v_eu_vat, "IE9+*0838W");
    NO(cls_v_eu_vat, "IE9+0838W");
}

static void test_world(void)
{
    /* Verhoeff: Wikipedia's worked example 236 -> 3 */
    OK(cls_v_verhoeff, "2363");
    NO(cls_v_verhoeff, "2364");
    OK(cls_v_verhoeff, "123451"); /* 12345 -> check 1 */
    /* an Aadhaar-shaped number: exactly one check digit makes it valid */
    {
        char buf[16] = "23412341234X";
        int valid = 0;
        for (char c = '0'; c <= '9'; c++) {
            buf[11] = c;
            valid += cls_v_in_aadhaar(buf, 12);
        }
        if (valid != 1) {
            fprintf(stderr, "aadhaar: %d check digits valid, want 1\n", valid);
            failures++;
        }
    }
    NO(cls_v_in_aadhaar, "123412341234"); /* leading 1 never issued */
    OK(cls_v_in_pan, "ABCPE1234F");
    NO(cls_v_in_pan, "ABCDE1234F"); /* D is no holder type */
    NO(cls_v_in_pan, "ABCPE12345");
    OK(cls_v_cn_id, "11010519491231002X");
    NO(cls_v_cn_id, "110105194912310021");
    NO(cls_v_cn_id, "11010519491331002X"); /* month 13 */
    OK(cls_v_br_cpf, "529.982.247-25");
    NO(cls_v_br_cpf, "529.982.247-26");
    NO(cls_v_br_cpf, "111.111.111-11");
    OK(cls_v_br_cnpj, "11.222.333/0001-81");
    NO(cls_v_br_cnpj, "11.222.333/0001-82");
    OK(cls_v_sg_nric, "S1234567D");
    NO(cls_v_sg_nric, "S1234567A");
    NO(cls_v_sg_nric, "A1234567D");
    OK(cls_v_au_tfn, "123 456 782");
    NO(cls_v_au_tfn, "123 456 783");
    OK(cls_v_au_medicare, "2123456701");
    NO(cls_v_au_medicare, "2123456711");
    NO(cls_v_au_medicare, "7123456701");
    OK(cls_v_kr_rrn, "800101-1234560");
    NO(cls_v_kr_rrn, "800101-1234561");
    NO(cls_v_kr_rrn, "800101-9234560");
    OK(cls_v_jp_mynumber, "1234 5678 9018");
    NO(cls_v_jp_mynumber, "123456789019");
}

static void test_network_misc(void)
{
    OK(cls_v_ipv4, "192.168.1.10");
    OK(cls_v_ipv4, "8.8.8.8");
    OK(cls_v_ipv4, "255.255.255.255");
    NO(cls_v_ipv4, "256.1.1.1");
    NO(cls_v_ipv4, "1.2.3");
    NO(cls_v_ipv4, "1.2.3.4.5");
    NO(cls_v_ipv4, "01.2.3.4");
    OK(cls_v_ipv6, "2001:db8::1");
    OK(cls_v_ipv6, "fe80:0:0:0:202:b3ff:fe1e:8329");
    NO(cls_v_ipv6, "::1"); /* loopback */
    OK(cls_v_ipv6, "::ffff:192.0.2.128");
    NO(cls_v_ipv6, "2001:db8::1::2");
    NO(cls_v_ipv6, "12345::1");
    NO(cls_v_ipv6, "1:2:3:4:5:6:7");
    NO(cls_v_ipv6, "00:1a:2b:3c:4d:5e:6f:70"); /* byte dump */
    /* one group with "::": loopback, a prefix, or bytes that happen to
       read so (random trace ids in protobuf held "6::" and "::1") */
    NO(cls_v_ipv6, "::a");
    NO(cls_v_ipv6, "6::");
    NO(cls_v_ipv6, "fe80::");
    OK(cls_v_ipv6, "2001:db8::");
    /* two groups need five hex digits in one case (random span ids read
       as text held "7::e4" and "f::B"); longer forms may mix (unbound's
       changelog: "2001:DB8:7:bba4::53") */
    OK(cls_v_ipv6, "fe80::1");
    NO(cls_v_ipv6, "7::e4");
    NO(cls_v_ipv6, "f::B");
    NO(cls_v_ipv6, "ab::cd");
    NO(cls_v_ipv6, "fE80::1");
    OK(cls_v_ipv6, "FE80::1");
    OK(cls_v_ipv6, "2001:DB8::a:0");
    OK(cls_v_ipv6, "2a00:1450:4001:82a::200e");
    OK(cls_v_date, "1985-07-30");
    OK(cls_v_date_named, "12 March 1985");
    OK(cls_v_date_named, "12. M\xc3\xa4rz 1985");
    OK(cls_v_date_named, "3. M\xc3\x84RZ 1985");
    OK(cls_v_date_named, "12 de septiembre de 1985");
    OK(cls_v_date_named, "March 1st, 1985");
    OK(cls_v_date_named, "29 Feb 2000");
    OK(cls_v_date_named, "3 pa\xc5\xba" "dziernika 1985");
    OK(cls_v_date_named, "12 d\xc3\xa9" "c. 1985");
    /* the other EU languages: Czech, Croatian, Romanian, Finnish, Estonian,
       Greek (accents and case folded away), Bulgarian */
    OK(cls_v_date_named, "12. b\xc5\x99" "ezna 1985");
    OK(cls_v_date_named, "3. \xc3\xbanora 1985");
    OK(cls_v_date_named, "12. listopada 1985");
    OK(cls_v_date_named, "12 martie 1985");
    OK(cls_v_date_named, "12. maaliskuuta 1985");
    OK(cls_v_date_named, "12. m\xc3\xa4rts 1985");
    OK(cls_v_date_named, "12 \xce\x9c\xce\xb1\xcf\x81\xcf\x84\xce\xaf\xce\xbf\xcf\x85 1985");
    OK(cls_v_date_named, "12 \xce\x9c\xce\x91\xce\xa1\xce\xa4\xce\x99\xce\x9f\xce\xa5 1985");
    OK(cls_v_date_named, "12 \xd0\xbc\xd0\xb0\xd1\x80\xd1\x82 1985");
    OK(cls_v_date_named, "12 \xd0\x9c\xd0\x90\xd0\xa0\xd0\xa2 1985");
    NO(cls_v_date_named, "30 \xd1\x84\xd0\xb5\xd0\xb2\xd1\x80\xd1\x83\xd0\xb0\xd1\x80\xd0\xb8 1985"); /* 30 February */
    OK(cls_v_date_named, "1985. m\xc3\xa1rcius 12."); /* Hungarian: the year first */
    NO(cls_v_date_named, "1985. febru\xc3\xa1r 30.");
    OK(cls_v_date_named, "1985 m. kovo 12 d."); /* Lithuanian */
    OK(cls_v_date_named, "1985 M. GRUOD\xc5\xbdIO 12 D.");
    NO(cls_v_date_named, "1985 m. kovo 32 d.");
    NO(cls_v_date_named, "12 m. kovo 1985 d."); /* "m." and "d." after a year only */
    OK(cls_v_date_named, "1985. gada 12. mart\xc4\x81"); /* Latvian, the locative */
    OK(cls_v_date_named, "1985. gada 1. janv\xc4\x81ris");
    NO(cls_v_date_named, "1985. gada 12. marti");
    NO(cls_v_date_named, "1985. gada 12.");
    NO(cls_v_date_named, "12 marti 1985"); /* no abbreviation in those languages */
    NO(cls_v_date_named, "12 \xd0\xbc\xd0\xb0\xd1\x80\xd0\xba\xd0\xb0 1985"); /* \xd0\xbc\xd0\xb0\xd1\x80\xd0\xba\xd0\xb0: a stamp */
    NO(cls_v_date_named, "29 Feb 1900");    /* no leap year */
    NO(cls_v_date_named, "31 April 1985");
    NO(cls_v_date_named, "12 Marching 1985");
    NO(cls_v_date_named, "12 Ma 1985");     /* two letters say no month */
    NO(cls_v_date_named, "12 March 1885");
    NO(cls_v_date_named, "12 March May 1985");
    NO(cls_v_date_named, "123 March 1985");
    OK(cls_v_date, "30.07.1985");
    OK(cls_v_date, "07/30/1985");
    NO(cls_v_date, "1985-13-30");
    NO(cls_v_date, "31.02.1985");
    NO(cls_v_date, "30.07.1785");
    OK(cls_v_phone, "+49 30 1234 5678");
    NO(cls_v_phone, "123456");
    NO(cls_v_phone, "0123456789");
    NO(cls_v_phone, "5555555555");
    OK(cls_v_swift, "DEUTDEFF");
    OK(cls_v_swift, "DEUTDEFF500");
    OK(cls_v_swift, "NWBKGB2L");
    NO(cls_v_swift, "DEUTQQFF");
    NO(cls_v_swift, "DEUTDEF");
    double h0 = cls_entropy("aaaaaaaa", 8), h3 = cls_entropy("abcdefgh", 8);
    if (!(h0 < 0.01 && h3 > 2.99 && h3 < 3.01)) {
        fprintf(stderr, "entropy: %f %f\n", h0, h3);
        failures++;
    }
    /* exactly the textbook sum over the byte values in order (a value's
       entropy is compared with 3.0: the same bits, not nearly): random
       strings over alphabets of 1 to 256 bytes, lengths 1 to 300 */
    {
        uint32_t x = 12345;
        char buf[300];
        for (int r = 0; r < 3000; r++) {
            x = x * 1103515245u + 12345u;
            size_t n = 1 + (x >> 8) % sizeof(buf);
            unsigned alpha = 1 + (x >> 20) % 256;
            unsigned cnt[256] = {0};
            for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                buf[i] = (char)(uint8_t)((x >> 16) % alpha);
                cnt[(uint8_t)buf[i]]++;
            }
            double want = 0.0;
            for (int c = 0; c < 256; c++)
                if (cnt[c]) {
                    double p = (double)cnt[c] / (double)n;
                    want -= p * log2(p);
                }
            double got = cls_entropy(buf, n);
            if (memcmp(&got, &want, sizeof(got)) != 0) {
                fprintf(stderr, "entropy of %zu bytes over %u: %.17g, want %.17g\n", n, alpha, got,
                        want);
                failures++;
                break;
            }
        }
    }
    if (cls_validator_find("luhn") != cls_v_luhn || cls_validator_find("nope") != NULL ||
        cls_validator_find(NULL) != NULL) {
        fprintf(stderr, "validator lookup broken\n");
        failures++;
    }
}

int main(void)
{
    test_cards();
    test_iban();
    test_us();
    test_uk_ca();
    test_eu();
    test_world();
    test_network_misc();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    puts("validators: ok");
    return 0;
}
