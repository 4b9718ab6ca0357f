/* classifiers/packs.c — the one table of finding types (name, category,
 * pack, what validates them, context words), the built-in confirmation
 * patterns that produce them, and the literal anchors of the prefilter.
 * docs/classifiers.md documents this file; keep the two in step. */
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "classifiers/engine.h"
#include "common/sgw.h"

enum {
    T_EMAIL,
    T_PHONE,
    T_CARD,
    T_IBAN,
    T_SWIFT,
    T_IP,
    T_MAC,
    T_SSN,
    T_ITIN,
    T_ROUTING,
    T_PASSPORT,
    T_DOB,
    T_NINO,
    T_NHS,
    T_SIN,
    T_DE_TAX,
    T_FR_NIR,
    T_ES_DNI,
    T_ES_NIE,
    T_IT_CF,
    T_NL_BSN,
    T_BE_NRN,
    T_PL_PESEL,
    T_SE_PNR,
    T_AT_SVNR,
    T_DK_CPR,
    T_FI_HETU,
    T_PT_NIF,
    T_IE_PPS,
    T_EU_VAT,
    T_IN_AADHAAR,
    T_IN_PAN,
    T_SG_NRIC,
    T_AU_TFN,
    T_AU_MEDICARE,
    T_BR_CPF,
    T_BR_CNPJ,
    T_JP_MYNUMBER,
    T_KR_RRN,
    T_CN_ID,
    T_AWS_AKID,
    T_AWS_SECRET,
    T_AWS_SESSION,
    T_PRIVATE_KEY,
    T_JWT,
    T_GITHUB,
    T_GITLAB,
    T_SLACK,
    T_STRIPE,
    T_GOOGLE,
    T_OPENAI,
    T_ANTHROPIC,
    T_HF,
    T_NPM,
    T_SENDGRID,
    T_TWILIO,
    T_AZURE,
    T_GENERIC_SECRET,
    /* vendor tokens (gitleaks' default rules, AI providers): no context
       words, always anchored, so their indices may pass 63 */
    T_SHOPIFY,
    T_DATABRICKS,
    T_DIGITALOCEAN,
    T_DOPPLER,
    T_PYPI,
    T_RUBYGEMS,
    T_POSTMAN,
    T_PULUMI,
    T_NEWRELIC,
    T_GRAFANA,
    T_LINEAR,
    T_HASHICORP,
    T_ATLASSIAN,
    T_SQUARE,
    T_DYNATRACE,
    T_AGE,
    T_ONEPASSWORD,
    T_FLYIO,
    T_PLANETSCALE,
    T_ALIBABA,
    T_AZURE_AD,
    T_GCP_OAUTH,
    T_SENTRY,
    T_PREFECT,
    T_HEROKU,
    T_GROQ,
    T_REPLICATE,
    T_PERPLEXITY,
    T_XAI,
    T_BEDROCK,
    T_DISCORD,
    T_TEAMS,
    T_AZURE_SAS,
    T__COUNT
};

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

const struct cls_type_def cls_types[] = {
    [T_EMAIL] = {"EMAIL", CLS_CAT_PII, CLS_PACK_CORE, "RFC 5321 shape, letter TLD that is no file extension (icon@2x.png, po/ca@valencia.po, root@localhost.localdomain), a country's when two letters; in mixed case, up to its first change of case (user@example.comThanks; not fE)",
                 W("email", "e-mail", "mail", "contact")},
    [T_PHONE] = {"PHONE", CLS_CAT_PII, CLS_PACK_CORE, "E.164 or NANP shape, 7-15 digits, not a run",
                 W("phone", "tel", "tél", "mobile", "cell", "telefon", "téléphone", "telefono", "handy", "call",
                   "fax", "portable", "móvil", "movil", "cellulare", "gsm", "whatsapp", "rufnummer")},
    [T_CARD] = {"CREDIT_DEBIT_CARD_NUMBER", CLS_CAT_FINANCIAL, CLS_PACK_CORE,
                "Luhn + issuer prefix and length",
                W("card", "credit", "debit", "visa", "mastercard", "amex", "kreditkarte", "carte",
                  "tarjeta", "carta")},
    [T_IBAN] = {"INTERNATIONAL_BANK_ACCOUNT_NUMBER", CLS_CAT_FINANCIAL, CLS_PACK_CORE,
                "registry length per country + ISO 7064 mod 97",
                W("iban", "bank account", "konto", "compte", "cuenta", "conto", "rekening")},
    [T_SWIFT] = {"SWIFT_CODE", CLS_CAT_FINANCIAL, CLS_PACK_CORE,
                 "8/11 chars, ISO country code; context word required",
                 W("swift", "bic", "bank identifier")},
    [T_IP] = {"IP_ADDRESS", CLS_CAT_PII, CLS_PACK_CORE, "IPv4 octets 0-255 without leading zeros; IPv6 RFC 4291, a '::' form with two groups or more (for two, five hex digits in one case)",
              W("ip", "address", "host", "server", "addr", "dns", "inet", "gateway", "nameserver", "ping",
                "proxy", "subnet", "netmask", "route", "remote", "peer", "endpoint", "resolver")},
    [T_MAC] = {"MAC_ADDRESS", CLS_CAT_PII, CLS_PACK_CORE, "six hex pairs, one separator; not all zero or all ff",
               W("mac", "hardware address", "ethernet")},
    [T_SSN] = {"US_SOCIAL_SECURITY_NUMBER", CLS_CAT_PII, CLS_PACK_CORE,
               "area not 000/666/9xx, group and serial not zero; bare 9 digits need context",
               W("ssn", "social security", "social sec", "ss#", "ss no")},
    [T_ITIN] = {"US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", CLS_CAT_PII, CLS_PACK_CORE,
                "9xx with group 50-65/70-88/90-92/94-99; bare needs context",
                W("itin", "taxpayer identification", "tax id", "tin")},
    [T_ROUTING] = {"US_BANK_ROUTING_NUMBER", CLS_CAT_FINANCIAL, CLS_PACK_CORE,
                   "ABA 3-7-1 checksum + Fed prefix; context word required",
                   W("routing", "aba", "rtn", "transit number", "bank routing")},
    [T_PASSPORT] = {"PASSPORT_NUMBER", CLS_CAT_PII, CLS_PACK_CORE, "6-9 alphanumerics with a digit; context word required",
                    W("passport", "reisepass", "passeport", "pasaporte", "passaporto", "paszport",
                      "passnummer", "pass-nr", "pass no", "paspoort", "pasnummer", "passaporte", "passin numero",
                      "passaport", "διαβατήριο", "διαβατηρίου", "паспорт", "putovnica", "putovnice", "cestovní pas",
                      "cestovný pas", "potni list", "útlevél", "útlevélszám", "pașaport", "paşaport", "pasaportului",
                      "paso numeris", "pases numurs", "passi number", "διαβατηριο", "διαβατηριου", "cestovni pas",
                      "cestovny pas", "utlevel", "pasaport")},
    [T_DOB] = {"DATE_OF_BIRTH", CLS_CAT_PII, CLS_PACK_CORE, "calendar-valid date 1900-2030; context word required",
               W("date of birth", "dob", "birth date", "birthdate", "dateofbirth", "born", "birthday", "geburtsdatum",
                 "geboren", "né le", "née le", "date de naissance", "fecha de nacimiento", "nacido",
                 "data di nascita", "nato il", "geboortedatum", "data urodzenia", "födelsedatum",
                 "syntymäaika", "geburtstag", "fødselsdato", "data de nascimento", "nascido",
                 "дата на раждане", "роден", "ημερομηνία γέννησησ", "ημερομηνια γεννησησ" /* (ς written σ: words are compared folded) */, "γεννήθηκε", "γεννηθηκε", "datum rođenja", "rođen",
                 "datum narození", "narozen", "dátum narodenia", "narodený", "datum rojstva", "rojen",
                 "születési dátum", "születési idő", "született", "data nașterii", "data naşterii", "născut",
                 "gimimo data", "gimęs", "dzimšanas datums", "dzimis", "sünniaeg", "sünnikuupäev", "sündinud",
                 "dáta breithe", "data tat-twelid", "fødselsdag", "födelsedag")},
    [T_NINO] = {"UK_NATIONAL_INSURANCE_NUMBER", CLS_CAT_PII, CLS_PACK_CORE, "HMRC prefix/suffix letter rules",
                W("national insurance", "nino", "ni number", "ni no")},
    [T_NHS] = {"UK_NATIONAL_HEALTH_SERVICE_NUMBER", CLS_CAT_HEALTH, CLS_PACK_CORE, "mod 11; context word required",
               W("nhs", "health service", "patient number", "nhs number")},
    [T_SIN] = {"CA_SOCIAL_INSURANCE_NUMBER", CLS_CAT_PII, CLS_PACK_CORE, "Luhn, 9 digits; context word required",
               W("sin", "social insurance", "insurance number", "assurance sociale", "nas")},
    [T_DE_TAX] = {"DE_TAX_ID", CLS_CAT_PII, CLS_PACK_EU, "Steuer-IdNr digit rule + ISO 7064 MOD 11,10; context word required",
                  W("steuer-id", "steuerid", "steueridentifikationsnummer", "identifikationsnummer",
                    "idnr", "tax id", "steuernummer", "steuer-idnr", "tin")},
    [T_FR_NIR] = {"FR_NIR", CLS_CAT_PII, CLS_PACK_EU, "sex/month/department shape + key 97 - n mod 97",
                  W("nir", "sécurité sociale", "securite sociale", "insee", "numéro de sécu", "ssn")},
    [T_ES_DNI] = {"ES_DNI", CLS_CAT_PII, CLS_PACK_EU, "8 digits + mod 23 letter", W("dni", "documento nacional", "nif")},
    [T_ES_NIE] = {"ES_NIE", CLS_CAT_PII, CLS_PACK_EU, "X/Y/Z + 7 digits + mod 23 letter", W("nie", "extranjero")},
    [T_IT_CF] = {"IT_FISCAL_CODE", CLS_CAT_PII, CLS_PACK_EU, "codice fiscale layout + check character",
                 W("codice fiscale", "cod. fisc", "fiscal code", "cf")},
    [T_NL_BSN] = {"NL_BSN", CLS_CAT_PII, CLS_PACK_EU, "11-test; context word required",
                  W("bsn", "burgerservicenummer", "sofinummer", "sofi")},
    [T_BE_NRN] = {"BE_NATIONAL_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "mod 97 (pre/post 2000) + month; bare needs context",
                  W("rijksregisternummer", "numéro national", "national number", "registre national", "insz",
                    "niss", "n.n.")},
    [T_PL_PESEL] = {"PL_PESEL", CLS_CAT_PII, CLS_PACK_EU, "weights 1-3-7-9 + birth date; context word required", W("pesel")},
    [T_SE_PNR] = {"SE_PERSONAL_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "Luhn over YYMMDDNNNC + date",
                  W("personnummer", "personal identity number", "samordningsnummer")},
    [T_AT_SVNR] = {"AT_SOCIAL_SECURITY_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "mod 11 check digit + date; context word required",
                   W("sozialversicherungsnummer", "svnr", "versicherungsnummer", "sv-nummer")},
    [T_DK_CPR] = {"DK_CPR_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "valid DDMMYY date; context word required",
                  W("cpr", "cpr-nummer", "personnummer")},
    [T_FI_HETU] = {"FI_PERSONAL_IDENTITY_CODE", CLS_CAT_PII, CLS_PACK_EU, "century sign + mod 31 character",
                   W("henkilötunnus", "hetu", "personal identity code")},
    [T_PT_NIF] = {"PT_TAX_ID", CLS_CAT_PII, CLS_PACK_EU, "mod 11; context word required",
                  W("nif", "contribuinte", "identificação fiscal")},
    [T_IE_PPS] = {"IE_PPS_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "mod 23 check letter", W("pps", "ppsn", "personal public service")},
    [T_EU_VAT] = {"EU_VAT_NUMBER", CLS_CAT_PII, CLS_PACK_EU, "per-country layout; DE/BE/IT/PT checksums",
                  W("vat", "ust-idnr", "ust-id", "umsatzsteuer", "tva", "iva", "btw", "moms")},
    [T_IN_AADHAAR] = {"IN_AADHAAR", CLS_CAT_PII, CLS_PACK_WORLD, "Verhoeff, no 0/1 lead; context word required",
                      W("aadhaar", "aadhar", "uidai", "uid")},
    [T_IN_PAN] = {"IN_PAN", CLS_CAT_PII, CLS_PACK_WORLD, "AAAAA9999A with holder-type letter",
                  W("pan", "permanent account number", "income tax")},
    [T_SG_NRIC] = {"SG_NRIC", CLS_CAT_PII, CLS_PACK_WORLD, "S/T/F/G + weighted mod 11 letter", W("nric", "fin", "identity card")},
    [T_AU_TFN] = {"AU_TFN", CLS_CAT_PII, CLS_PACK_WORLD, "weighted mod 11; context word required", W("tfn", "tax file number")},
    [T_AU_MEDICARE] = {"AU_MEDICARE", CLS_CAT_HEALTH, CLS_PACK_WORLD, "weighted mod 10; context word required", W("medicare")},
    [T_BR_CPF] = {"BR_CPF", CLS_CAT_PII, CLS_PACK_WORLD, "two mod 11 digits; bare needs context", W("cpf", "cadastro de pessoas")},
    [T_BR_CNPJ] = {"BR_CNPJ", CLS_CAT_PII, CLS_PACK_WORLD, "two mod 11 digits; bare needs context", W("cnpj")},
    [T_JP_MYNUMBER] = {"JP_MY_NUMBER", CLS_CAT_PII, CLS_PACK_WORLD, "weighted mod 11; context word required",
                       W("my number", "mynumber", "マイナンバー", "個人番号")},
    [T_KR_RRN] = {"KR_RRN", CLS_CAT_PII, CLS_PACK_WORLD, "date + weighted mod 11", W("rrn", "resident registration", "주민등록번호")},
    [T_CN_ID] = {"CN_RESIDENT_ID", CLS_CAT_PII, CLS_PACK_WORLD, "birth date + ISO 7064 MOD 11-2",
                 W("身份证", "resident identity", "id card", "shenfenzheng")},
    [T_AWS_AKID] = {"AWS_ACCESS_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "AKIA/ASIA/... + 16 base32 chars", NULL},
    [T_AWS_SECRET] = {"AWS_SECRET_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS,
                      "40 base64 chars after aws_secret... or near an access key (entropy >= 4)", NULL},
    [T_AWS_SESSION] = {"AWS_SESSION_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS,
                       "an STS session token: IQoJb3JpZ2luX2Vj (FwoGZXIvYXdzE, AQoDYXdzE before 2019) + 100 or more base64, URL-encoded or not (the span: its first 116 or more bytes)", NULL},
    [T_PRIVATE_KEY] = {"PRIVATE_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "PEM private key header; DER keys (PKCS#8, PKCS#1, SEC1, PKCS#12) and OpenSSH keys by their structure", NULL},
    [T_JWT] = {"JWT", CLS_CAT_SECRET, CLS_PACK_SECRETS, "three base64url parts, a JSON header with \"alg\"", NULL},
    [T_GITHUB] = {"GITHUB_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_", NULL},
    [T_GITLAB] = {"GITLAB_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "glpat- + 20 and the other GitLab prefixes (glptt-, gldt-, glrt-, gloas-, GR1348941…)", NULL},
    [T_SLACK] = {"SLACK_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "xox?- tokens, xapp-, webhook URLs", NULL},
    [T_STRIPE] = {"STRIPE_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "sk_/rk_ live/test keys", NULL},
    [T_GOOGLE] = {"GOOGLE_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "AIza + 35", NULL},
    [T_OPENAI] = {"OPENAI_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "sk-/sk-proj- + >= 20, entropy >= 3.5 with a digit", NULL},
    [T_ANTHROPIC] = {"ANTHROPIC_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "sk-ant-api03-...", NULL},
    [T_HF] = {"HUGGINGFACE_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "hf_ + 34, entropy", NULL},
    [T_NPM] = {"NPM_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "npm_ + 36", NULL},
    [T_SENDGRID] = {"SENDGRID_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "SG.22.43", NULL},
    [T_TWILIO] = {"TWILIO_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "SK/AC + 32 hex", NULL},
    [T_AZURE] = {"AZURE_STORAGE_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "AccountKey= + 88 base64", NULL},
    [T_GENERIC_SECRET] = {"GENERIC_SECRET", CLS_CAT_SECRET, CLS_PACK_SECRETS,
                          "password=/api_key:/secret: value or URL credentials, entropy >= 3, no placeholder or code",
                          NULL},
    [T_SHOPIFY] = {"SHOPIFY_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "shpat_/shpca_/shppa_/shpss_ + 32 hex", NULL},
    [T_DATABRICKS] = {"DATABRICKS_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "dapi + 32 hex", NULL},
    [T_DIGITALOCEAN] = {"DIGITALOCEAN_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "dop_v1_/doo_v1_/dor_v1_ + 64 hex", NULL},
    [T_DOPPLER] = {"DOPPLER_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "dp.pt./dp.st./dp.ct./dp.sa. + 40-44", NULL},
    [T_PYPI] = {"PYPI_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "pypi-AgEIcHlwaS5vcmc + 50 or more", NULL},
    [T_RUBYGEMS] = {"RUBYGEMS_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "rubygems_ + 48 hex", NULL},
    [T_POSTMAN] = {"POSTMAN_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "PMAK- + 24 hex - 34 hex", NULL},
    [T_PULUMI] = {"PULUMI_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "pul- + 40 hex", NULL},
    [T_NEWRELIC] = {"NEWRELIC_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "NRAK- + 27, NRJS- + 19 hex, NRII- + 32", NULL},
    [T_GRAFANA] = {"GRAFANA_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "glc_ + 32 or more base64, glsa_ + 32 _ 8 hex", NULL},
    [T_LINEAR] = {"LINEAR_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "lin_api_ + 40", NULL},
    [T_HASHICORP] = {"HASHICORP_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "Vault hvs./hvb. tokens, Terraform Cloud 14.atlasv1.60-70", NULL},
    [T_ATLASSIAN] = {"ATLASSIAN_API_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "ATATT3 + 186", NULL},
    [T_SQUARE] = {"SQUARE_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "EAAA + 60, sq0atp- + 22, sq0csp- + 43", NULL},
    [T_DYNATRACE] = {"DYNATRACE_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "dt0c01. + 24 . 64", NULL},
    [T_AGE] = {"AGE_SECRET_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "AGE-SECRET-KEY-1 + 58 bech32", NULL},
    [T_ONEPASSWORD] = {"ONEPASSWORD_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "ops_eyJ + 250 or more base64 (service account)", NULL},
    [T_FLYIO] = {"FLYIO_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "fo1_ + 43, fm1a_/fm1r_/fm2_ + 100 or more", NULL},
    [T_PLANETSCALE] = {"PLANETSCALE_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "pscale_tkn_/pscale_pw_/pscale_oauth_ + 32-64", NULL},
    [T_ALIBABA] = {"ALIBABA_ACCESS_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "LTAI + 20, entropy", NULL},
    [T_AZURE_AD] = {"AZURE_AD_CLIENT_SECRET", CLS_CAT_SECRET, CLS_PACK_SECRETS, "3 + digit + Q~ + 31-34", NULL},
    [T_GCP_OAUTH] = {"GOOGLE_OAUTH_CLIENT_SECRET", CLS_CAT_SECRET, CLS_PACK_SECRETS, "GOCSPX- + 28", NULL},
    [T_SENTRY] = {"SENTRY_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "sntrys_eyJ + 50 or more (org), sntryu_ + 64 hex (user)", NULL},
    [T_PREFECT] = {"PREFECT_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "pnu_ + 36", NULL},
    [T_HEROKU] = {"HEROKU_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "HRKU-AA + 58", NULL},
    [T_GROQ] = {"GROQ_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "gsk_ + 52", NULL},
    [T_REPLICATE] = {"REPLICATE_API_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "r8_ + 37", NULL},
    [T_PERPLEXITY] = {"PERPLEXITY_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "pplx- + 48", NULL},
    [T_XAI] = {"XAI_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "xai- + 80", NULL},
    [T_BEDROCK] = {"AWS_BEDROCK_API_KEY", CLS_CAT_SECRET, CLS_PACK_SECRETS, "ABSK + 60 or more base64 (long-term), bedrock-api-key- + 60 or more (short-term)", NULL},
    [T_DISCORD] = {"DISCORD_WEBHOOK", CLS_CAT_SECRET, CLS_PACK_SECRETS, "discord.com/api/webhooks/ + id / 60-68", NULL},
    [T_AZURE_SAS] = {"AZURE_SAS_TOKEN", CLS_CAT_SECRET, CLS_PACK_SECRETS, "?sig= or &sig= + a 32-byte HMAC in base64, URL-encoded or not (a shared access signature: its URL grants access as it stands)", NULL},
    [T_TEAMS] = {"MICROSOFT_TEAMS_WEBHOOK", CLS_CAT_SECRET, CLS_PACK_SECRETS, "*.webhook.office.com/webhookb2/ + GUIDs and a 32-hex key", NULL},
};
const size_t cls_n_types = SGW_ARRAY_LEN(cls_types);

static int has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return 1;
    return 0;
}

/* An unquoted value that is code, not a secret: a call or an index
 * (`os.getcwd()`, `line[start:pos]`), a dotted name (`self.password`,
 * `process.env.API_KEY`, `std::string`), a name with '_' (`password_mgr`), or, after
 * ` = ` as code spaces an assignment, a name of letters (`credentials`,
 * `Whitespace`). A config file's secret is unquoted too (`password=…`,
 * `api_key: …`), and random. spaced: the value follows " = ". */
static inline int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int code_value(const char *s, size_t n, int spaced)
{
    size_t dots = 0, under = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(' || c == ')' || c == '[' || c == ']')
            return 1;
        if (c == ':' && i + 2 < n && s[i + 1] == ':' && name_char(s[i + 2]) && i > 0) {
            i++; /* C++'s scope: std::move(…), Foo::bar */
            dots++;
        } else if (c == '.') {
            if (i + 1 == n || !name_char(s[i + 1]))
                return 0; /* a name's part after a dot begins with a letter or '_' */
            dots++;
        } else if (c >= '0' && c <= '9') {
            digits++;
        } else if (!name_char(c)) {
            return 0; /* other symbols: no name */
        } else {
            under += c == '_';
        }
    }
    if (!name_char(s[0]))
        return 0;
    return dots || (!digits && (under || spaced));
}

/* Words of a value written in documentation and examples, not a secret
 * ("myregistrytoken", "my-auth-token-here", "SuperSecretToken",
 * "your_api_key", "changeme123"): what is left without those words is
 * short or has no digit. (A random value that has one of them glued to it
 * keeps a long, mixed rest.) */
static const char *const placeholder_words[] = {"token",    "secret",      "example", "your",
                                                "changeme", "placeholder", "dummy",   "redacted"};

/* Is one of placeholder_words anywhere in s[0..n), in any case? One pass
 * on each word's first two letters (no two words share a first letter):
 * a value is validated once per match, and a page of `password=…` has a
 * match every few bytes, each value up to 128 bytes long. */
static int placeholder_any(const char *s, size_t n)
{
    static const char second[128] = {['t'] = 'o', ['s'] = 'e', ['e'] = 'x', ['y'] = 'o',
                                     ['c'] = 'h', ['p'] = 'l', ['d'] = 'u', ['r'] = 'e'};
    for (size_t k = 0; k + 4 <= n; k++) {
        uint8_t c = (uint8_t)(s[k] | 0x20);
        if (c >= 128 || !second[c] || (char)(s[k + 1] | 0x20) != second[c])
            continue;
        for (size_t i = 0; i < SGW_ARRAY_LEN(placeholder_words); i++) {
            const char *w = placeholder_words[i];
            size_t j = 0;
            while (w[j] && k + j < n &&
                   (char)(s[k + j] >= 'A' && s[k + j] <= 'Z' ? s[k + j] + 32 : s[k + j]) == w[j])
                j++;
            if (!w[j])
                return 1;
        }
    }
    return 0;
}

static int placeholder_value(const char *s, size_t n)
{
    const char *const *words = placeholder_words;
    size_t rest = n, found = 0;
    int digit = 0;
    uint8_t gone[200] = {0};
    char lo[200];
    if (n > sizeof(gone) || !placeholder_any(s, n))
        return 0; /* (none of the words: nothing is found below) */
    for (size_t k = 0; k < n; k++)
        lo[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
    for (size_t i = 0; i < SGW_ARRAY_LEN(placeholder_words); i++) {
        const char *w = words[i];
        size_t wl = strlen(w);
        for (size_t k = 0; k + wl <= n; k++)
            if (lo[k] == w[0] && !gone[k] && memcmp(lo + k + 1, w + 1, wl - 1) == 0) {
                memset(gone + k, 1, wl);
                rest -= wl;
                found = 1;
                k += wl - 1;
            }
    }
    if (!found)
        return 0;
    for (size_t k = 0; k < n; k++)
        digit |= !gone[k] && s[k] >= '0' && s[k] <= '9';
    return rest < 12 || !digit;
}

/* A directory, as PWD= and HOME= hold (the value of an environment dump). */
static int dir_value(const char *s, size_t n)
{
    static const char *const dirs[] = {"/home/", "/usr/", "/var/", "/etc/", "/opt/", "/tmp/", "/dev/",
                                       "/root/", "/srv/", "/mnt/", "/Users/", "/bin/", "/sbin/"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(dirs); i++) {
        size_t dl = strlen(dirs[i]);
        if (n >= dl && memcmp(s, dirs[i], dl) == 0)
            return 1;
    }
    return 0;
}

/* An E.164 number: a plus, digits and one '.' alone is a signed decimal
 * (Decimal('+35236450.6')); fourteen digits that are a date and a time
 * are a timestamp (a Debian version's ~+20191229111838). */
static int v_phone_e164(const char *s, size_t n)
{
    size_t dots = 0, other = 0;
    char d[16];
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        dots += s[i] == '.';
        other += s[i] == ' ' || s[i] == '-' || s[i] == '(';
        if (s[i] >= '0' && s[i] <= '9' && nd < sizeof(d))
            d[nd++] = s[i];
    }
    if (nd == 14 && !other && !dots) {
        unsigned y = (unsigned)((d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0'));
        unsigned mo = (unsigned)((d[4] - '0') * 10 + (d[5] - '0')), dd = (unsigned)((d[6] - '0') * 10 + (d[7] - '0'));
        unsigned h = (unsigned)((d[8] - '0') * 10 + (d[9] - '0')), mi = (unsigned)((d[10] - '0') * 10 + (d[11] - '0'));
        if (y >= 1970 && y <= 2099 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && h < 24 && mi < 60)
            return 0;
    }
    return !(dots == 1 && !other) && cls_v_phone(s, n);
}

/* A NANP number: its two separators agree when one is a dot (252.227-7014
 * is a clause of the DFARS, 415.555.2671 a number). */
static int v_phone_nanp(const char *s, size_t n)
{
    int dot = 0, dash = 0;
    for (size_t i = 0; i < n; i++) {
        dot |= s[i] == '.';
        dash |= s[i] == '-';
    }
    return !(dot && dash) && cls_v_phone(s, n);
}

/* A national number: its trunk 0, then 8 to 11 digits (9 to 12 in all). */
static int v_phone_national(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] >= '0' && s[i] <= '9';
    return k >= 9 && k <= 12 && cls_v_phone(s, n);
}

/* The value of a password=/api_key:/secret: assignment. The pattern puts
 * the keyword, '=' or ':', blanks and the value's opening quote before it,
 * so s[-3..-1] are the match's: whether the value was quoted, or follows
 * " = " (s[-3] is at least the keyword's last letter). */
static int v_secret_value(const char *s, size_t n)
{
    if (n < 8)
        return 0;
    if (s[0] == '<' || s[0] == '$' || s[0] == '{' || s[0] == '%' || s[0] == '*' || s[0] == '[')
        return 0;
    if (n >= 4 && (memcmp(s, "xxxx", 4) == 0 || memcmp(s, "XXXX", 4) == 0))
        return 0;
    /* the rest of an operator (Makefile's PWD:=, C++'s token::kind), a
       regular expression (TOKEN = /^Unexpected/), a directory (PWD=/home/…) */
    if (s[0] == '=' || s[0] == ':' || (s[0] == '/' && s[1] == '^') || dir_value(s, n))
        return 0;
    /* (every test must pass: the entropy first, which most values that
       are none fail, before the searches for words and code) */
    if (cls_entropy(s, n) < 3.0 || placeholder_value(s, n))
        return 0;
    return !(s[-1] != '"' && s[-1] != '\'' &&
             code_value(s, n, s[-1] == ' ' && s[-2] == '=' && s[-3] == ' '));
}

/* ---- key-value secrets (engine.h, cls_kv_secret_*) ---- */

const size_t cls_kv_type = T_GENERIC_SECRET;
const uint16_t cls_kv_prio = 60;

/* A key names a secret when its name, folded (lower case, without '_',
 * '-', '.', ' ': client_secret, clientSecret, x-api-key, SecretAccessKey
 * alike) and without a plural 's', ends with one of these words: AWS's
 * SecretString, GCP's private_key, an HTTP header dump's Authorization; not
 * SecretId, private_key_id, password_policy, NextToken, clientToken,
 * max_tokens ("token" alone is one). Every JSON key comes to
 * cls_kv_maybe_key first (engine.h): its last two letters decide most. */
#define KVN(s) {s, sizeof(s) - 1}
static const struct {
    const char *name;
    size_t len;
} kv_names[] = {
    KVN("password"),     KVN("passwd"),      KVN("pwd"),          KVN("pass"),          KVN("passphrase"),
    KVN("secret"),
    KVN("secretkey"),    KVN("secretaccesskey"), KVN("secretstring"), KVN("secretvalue"), KVN("secretbinary"),
    KVN("apikey"),       KVN("privatekey"),  KVN("authorization"), KVN("accesstoken"),  KVN("authtoken"),
    KVN("refreshtoken"), KVN("idtoken"),     KVN("sessiontoken"), KVN("bearertoken"),   KVN("apitoken"),
    KVN("secrettoken"),  KVN("oauthtoken"),  KVN("bottoken"),     KVN("securitytoken"), KVN("usertoken"),
    KVN("apptoken")};
#undef KVN

/* A key k[0, n) (separators after it gone) that ends in "pass" names a
 * password when "pass" is a word of it: the whole name, after a separator
 * (smtp_pass, db.pass), or begun in capitals (dbPass, SMTPPASS); not
 * bypass, compass. */
static int pass_word(const char *k, size_t n)
{
    if (n < 4)
        return 0;
    char p = k[n - 4];
    if (n == 4 || !((k[n - 5] >= 'a' && k[n - 5] <= 'z') || (k[n - 5] >= 'A' && k[n - 5] <= 'Z')))
        return 1;
    return p == 'P';
}

int cls_kv_secret_key(const char *k, size_t n)
{
    while (n && (k[n - 1] == '_' || k[n - 1] == '-' || k[n - 1] == '.' || k[n - 1] == ' '))
        n--;
    if (!cls_kv_maybe_key(k, n))
        return 0;
    char s[64];
    size_t m = 0;
    for (size_t i = n > 40 ? n - 40 : 0; i < n; i++) {
        char c = k[i];
        if (c == '_' || c == '-' || c == '.' || c == ' ')
            continue;
        s[m++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (m && s[m - 1] == 's' && !(m >= 2 && s[m - 2] == 's'))
        m--; /* passwords, api_keys (not "pass"; "tokens" stopped before) */
    if (m == 5 && memcmp(s, "token", 5) == 0)
        return 1;
    for (size_t i = 0; i < SGW_ARRAY_LEN(kv_names); i++) {
        size_t l = kv_names[i].len, j = 0;
        if (m < l)
            continue;
        while (j < l && s[m - 1 - j] == kv_names[i].name[l - 1 - j]) /* from the end: most differ there */
            j++;
        if (j == l && l == 4 && memcmp(kv_names[i].name, "pass", 4) == 0)
            return pass_word(k, n) ? CLS_KV_ANY : 0; /* (its folded name has no plural 's') */
        if (j == l)
            return CLS_KV_ANY;
    }
    /* Docker's config.json: {"auths": {"registry": {"auth": "<base64 of
       user:password>"}}} (and a proxy's or an HTTP client's basicAuth) */
    if (m >= 4 && memcmp(s + m - 4, "auth", 4) == 0)
        return CLS_KV_USERPASS;
    return 0;
}

static int v_url_secret(const char *s, size_t n);

/* Base64 (standard, padded) of user:password, as Docker's config.json and
 * HTTP Basic credentials hold them: printable, a name before a ':', a
 * password of four or more after it that is not documentation's. */
static int v_b64_userpass(const char *s, size_t n)
{
    uint8_t d[200];
    if (n < 8 || n % 4 || n > 4 * (sizeof(d) / 3))
        return 0;
    int len = EVP_DecodeBlock(d, (const unsigned char *)s, (int)n);
    if (len < 0)
        return 0;
    len -= (s[n - 1] == '=') + (s[n - 2] == '=');
    const uint8_t *colon = len > 0 ? memchr(d, ':', (size_t)len) : NULL;
    if (!colon || colon == d || d + len - (colon + 1) < 4)
        return 0;
    for (int i = 0; i < len; i++)
        if (d[i] < 0x21 || d[i] > 0x7e)
            return 0;
    return v_url_secret((const char *)colon + 1, (size_t)(d + len - (colon + 1)));
}

int cls_kv_secret_value(const uint8_t *v, size_t n, int kind, size_t *from)
{
    if (kind == CLS_KV_USERPASS) {
        *from = 0;
        return v_b64_userpass((const char *)v, n);
    }
    /* an authorization header's scheme goes first */
    static const char *const schemes[] = {"Bearer ", "bearer ", "Basic ", "basic ", "token ", "Token "};
    size_t a = 0;
    for (size_t i = 0; i < SGW_ARRAY_LEN(schemes); i++) {
        size_t l = strlen(schemes[i]);
        if (n > l && memcmp(v, schemes[i], l) == 0) {
            a = l;
            break;
        }
    }
    *from = a;
    const char *s = (const char *)v + a;
    size_t m = n - a;
    if (m < 8)
        return 0;
    for (size_t i = 0; i < m; i++)
        if ((uint8_t)s[i] <= ' ' || s[i] == '"' || s[i] == '\'')
            return 0; /* one token, as secrets are */
    if (s[0] == '<' || s[0] == '$' || s[0] == '{' || s[0] == '%' || s[0] == '*' || s[0] == '[' || s[0] == '=' ||
        s[0] == ':')
        return 0;
    if (memcmp(s, "xxxx", 4) == 0 || memcmp(s, "XXXX", 4) == 0 || memmem(s, m, "://", 3))
        return 0;
    if (placeholder_value(s, m) || dir_value(s, m))
        return 0;
    return cls_entropy(s, m) >= 3.0;
}

/* The credentials of an Authorization header: random (a digit, or both
 * cases: not a word of prose after "basic"), not documentation's (<token>,
 * YOUR_TOKEN, ${TOKEN} stop the pattern or fail here). */
static int v_auth_value(const char *s, size_t n)
{
    int up = 0, lo = 0, dig = 0;
    for (size_t i = 0; i < n; i++) {
        up |= s[i] >= 'A' && s[i] <= 'Z';
        lo |= s[i] >= 'a' && s[i] <= 'z';
        dig |= s[i] >= '0' && s[i] <= '9';
    }
    return (dig || (up && lo)) && !placeholder_value(s, n) && memcmp(s, "xxxx", n < 4 ? n : 4) != 0 &&
           cls_entropy(s, n) >= 3.0;
}

/* The password of URL credentials (user:password@host): not the words
 * documentation writes there. */
static int v_url_secret(const char *s, size_t n)
{
    static const char *const doc[] = {"pass", "password", "passwd", "pwd", "secret", "xyz", "abc", "xxx", "123", "1234"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(doc); i++)
        if (strlen(doc[i]) == n && strncasecmp(s, doc[i], n) == 0)
            return 0;
    return !placeholder_value(s, n);
}

/* The value of a pass: or pass= assignment: one of a password's (a digit
 * or a symbol in it; a name of letters is code's or prose's). */
static int v_pass_value(const char *s, size_t n)
{
    int other = 0;
    for (size_t i = 0; i < n; i++)
        other |= !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z');
    return other && v_secret_value(s, n);
}

/* A password given on a command line (curl -u user:PASSWORD, mysql
 * -pPASSWORD, sshpass -p PASSWORD): not documentation's words, not a
 * number alone (docker -u 1000:1000), not a variable or a prompt's
 * placeholder; a word of letters alone in one case is an example's. */
static int v_cli_password(const char *s, size_t n)
{
    if (n < 6 || s[0] == '$' || s[0] == '%' || s[0] == '<' || s[0] == '{' || s[0] == '[' || s[0] == '*')
        return 0;
    int up = 0, lo = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        up |= s[i] >= 'A' && s[i] <= 'Z';
        lo |= s[i] >= 'a' && s[i] <= 'z';
        other |= !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z');
    }
    if (!(up || lo) && has_digit(s, n) && n == strspn(s, "0123456789:.-"))
        return 0;
    if (!other && !(up && lo))
        return 0;
    if (memcmp(s, "xxxx", 4) == 0 || memcmp(s, "XXXX", 4) == 0)
        return 0;
    return v_url_secret(s, n);
}

/* The value of an environment variable whose name ends in _KEY (the
 * families api_key, secret, password, token have their own pattern): a
 * secret's length and randomness (16 bytes or more, a digit and a letter,
 * 3.3 bits per character), by the assignment rules otherwise. */
static int v_env_key_value(const char *s, size_t n)
{
    int alpha = 0;
    for (size_t i = 0; i < n; i++)
        alpha |= (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z';
    return n >= 16 && alpha && has_digit(s, n) && v_secret_value(s, n) && cls_entropy(s, n) >= 3.3;
}

/* A MAC address: not the null address nor the broadcast one (placeholders
 * of every interface listing). */
static int v_mac(const char *s, size_t n)
{
    int zero = 1, ff = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':' || s[i] == '-')
            continue;
        zero &= s[i] == '0';
        ff &= (s[i] | 0x20) == 'f';
    }
    return !zero && !ff;
}

static int v_openai(const char *s, size_t n)
{
    return has_digit(s, n) && cls_entropy(s, n) >= 3.5;
}

static int v_hf(const char *s, size_t n)
{
    return cls_entropy(s, n) >= 3.5;
}

/* A vendor token: random characters after its prefix, not a placeholder
 * (gsk_ and a row of one letter, r8_0000…, lin_api_your_key_here…). Hex alone reaches 4. */
static int v_token(const char *s, size_t n)
{
    return cls_entropy(s, n) >= 3.0;
}

/* A shared access signature's sig: 43 base64 symbols and '=' (%2B, %2F,
 * %3D as a URL writes them) that decode to 32 bytes, HMAC-SHA256's; not a
 * placeholder's run of one symbol. */
static int v_sas_sig(const char *s, size_t n)
{
    char b[44];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof(b); i++) {
        if (s[i] == '%' && i + 2 < n) {
            char h = (char)(s[i + 2] | 0x20);
            b[m++] = h == 'b' ? '+' : h == 'f' ? '/' : '=';
            i += 2;
        } else {
            b[m++] = s[i];
        }
    }
    return m == 44 && b[43] == '=' && cls_entropy(b, 43) >= 3.5;
}

/* A JWT's header (its first part, base64url) is a JSON object with "alg"
 * (RFC 7515 and 7516 require it, "none" included): base64 of any other
 * JSON (a Kinesis record, a paging token) begins with eyJ too. */
static int v_jwt(const char *s, size_t n)
{
    char b[688];
    uint8_t d[516];
    size_t h = 0;
    while (h < n && s[h] != '.')
        h++;
    if (h < 16 || h > 684)
        return 0;
    for (size_t i = 0; i < h; i++)
        b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    size_t m = h;
    while (m % 4)
        b[m++] = '=';
    int len = EVP_DecodeBlock(d, (const unsigned char *)b, (int)m);
    if (len < 4)
        return 0;
    size_t i = 0;
    while (i < (size_t)len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    return i < (size_t)len && d[i] == '{' && memmem(d, (size_t)len, "\"alg\"", 5) != NULL;
}

static int v_aws_secret_near(const char *s, size_t n)
{
    int up = 0, lo = 0;
    for (size_t i = 0; i < n; i++) {
        up |= s[i] >= 'A' && s[i] <= 'Z';
        lo |= s[i] >= 'a' && s[i] <= 'z';
    }
    return up && lo && has_digit(s, n) && cls_entropy(s, n) >= 4.0;
}

/* the value after aws_secret_access_key=: random-looking */
static int v_aws_secret_value(const char *s, size_t n)
{
    return cls_entropy(s, n) >= 3.5;
}

/* an e-mail whose "TLD" is a file extension is an asset name (icon@2x.png) */
/* Is tld[0, tl) a file name's extension (icon@2x.png is no address)? */
static int file_ext(const char *tld, size_t tl)
{
    /* (and systemd's unit types: getty@tty1.service, user@1000.slice;
       gettext's catalogues of a locale with a modifier: po/ca@valencia.po,
       en@quot.header; a host's default name: root@localhost.localdomain.
       None of these is a top-level domain) */
    static const char *const ext[] = {
        "png",  "jpg",    "jpeg",   "gif",    "svg",   "webp",  "js",     "css",  "ts",      "py",
        "md",   "txt",    "json",   "html",   "zip",   "pdf",   "service", "socket", "target", "timer",
        "mount", "slice", "scope",  "device", "swap",  "automount", "po", "pot",  "header",  "localdomain",
        "yaml", "yml",    "xml",    "log",    "conf",  "cfg",   "ini",    "lock", "bak",     "tmp",
        "orig", "rst",    "htm",    "hpp",    "cpp",   "java",  "tar",    "gz",   "deb",     "rpm",
        "sig",  "asc",    "patch",  "diff",   "csv",   "tsv",   "ico",    "bmp",  "tiff",    "wav",
        "ttf",  "otf",    "eot"};
    for (size_t i = 0; i < SGW_ARRAY_LEN(ext); i++) {
        size_t el = strlen(ext[i]);
        if (el != tl)
            continue;
        size_t k = 0;
        while (k < el && (tld[k] | 0x20) == ext[i][k])
            k++;
        if (k == el)
            return 1;
    }
    return 0;
}

/* Is t[0..2) a top-level domain? Every two-letter one is a country's:
 * ISO 3166-1's codes (Debian's iso-codes) and ac, eu, su, uk, and yu of
 * old addresses. Random bytes read as text make addresses such as
 * "D@B.xn" and "j@J.Lo". */
static int cc_tld(const char *t)
{
    static const char cc[] =
        "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo "
        "bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk "
        "dm do dz ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq "
        "gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki "
        "km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo "
        "mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk "
        "pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss "
        "st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk um us uy uz va "
        "vc ve vg vi vn vu wf ws ye yt yu za zm zw";
    unsigned key = (unsigned)(t[0] | 0x20) << 8 | (unsigned)(t[1] | 0x20);
    size_t lo = 0, hi = sizeof(cc) / 3; /* (sorted, three bytes a code) */
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        unsigned c = (unsigned)(uint8_t)cc[3 * m] << 8 | (uint8_t)cc[3 * m + 1];
        if (c == key)
            return 1;
        if (c < key)
            lo = m + 1;
        else
            hi = m;
    }
    return 0;
}

/* Is tld[0, tl) a top-level domain as people write one? Its name is all
 * of it in lower case, upper case or capitalised, else the part before
 * its first change of case: an address glued to the next word
 * ("user@example.comThanks", HTML stripped of its <br>) still counts, but
 * not a name of one letter before the change ("fE", "bYW": random bytes,
 * an OTLP span id read as text). A name of two letters is a country's. */
static int tld_ok(const char *tld, size_t tl)
{
    int up0 = tld[0] >= 'A' && tld[0] <= 'Z';
    size_t k = 1;
    if (up0 && tl > 1 && tld[1] >= 'a' && tld[1] <= 'z')
        up0 = 0; /* capitalised: the lower-case run after its capital */
    while (k < tl && (tld[k] >= 'A' && tld[k] <= 'Z') == up0)
        k++;
    return k >= 3 || (k == 2 && cc_tld(tld));
}

/* An address written with bracketed words: a bracket in it (else the plain
 * pattern has it), a country's or a common generic top-level domain (in
 * prose, "meet (at) noon [dot] later" ends in a word). */
static int v_email_obf(const char *s, size_t n)
{
    static const char *const gtld[] = {"com", "org", "net", "edu", "gov", "mil", "int", "info", "biz",
                                       "name", "pro", "app", "dev", "cloud", "tech", "online", "site",
                                       "email", "mobi", "asia", "coop", "aero", "museum", "xyz"};
    if (!memchr(s, '[', n) && !memchr(s, '(', n) && !memchr(s, '{', n) && !memchr(s, '<', n))
        return 0;
    size_t t = n;
    while (t > 0 && ((s[t - 1] | 0x20) >= 'a' && (s[t - 1] | 0x20) <= 'z'))
        t--;
    size_t tl = n - t;
    if (tl == 2)
        return cc_tld(s + t);
    for (size_t i = 0; i < SGW_ARRAY_LEN(gtld); i++) {
        size_t k = 0;
        while (k < tl && gtld[i][k] && (s[t + k] | 0x20) == gtld[i][k])
            k++;
        if (k == tl && !gtld[i][k])
            return 1;
    }
    return 0;
}

static int v_email(const char *s, size_t n)
{
    size_t dot = n;
    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    if (file_ext(s + dot, n - dot) || !tld_ok(s + dot, n - dot))
        return 0;
    /* local part may not end with a dot */
    for (size_t i = 0; i < n; i++)
        if (s[i] == '@')
            return i > 0 && s[i - 1] != '.';
    return 0;
}

/* an obfuscated address's bracketed "at" or "dot": [at], (dot), {at}, <dot> */
#define OB "[ \\t]*[\\[({<][ \\t]*"
#define CB "[ \\t]*[\\])}>][ \\t]*"

#define LBN CLS_LBN
#define RBN "(?![A-Za-z0-9_]|[./-][0-9])"
#define LBA CLS_LBA
#define RBA "(?![A-Za-z0-9_])"
/* a NANP number; after a number and a separator it must not be followed
   by another (a row of a table: "967 979 992 1004 1017") */
#define NANP "(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}"
#define A(x) (1ull << (x))
/* a two-byte UTF-8 letter: Latin-1 letters (not × ÷), Latin Extended,
   Greek and Cyrillic (leads C3-D3) */
#define U8L "(?:\\xc3[\\x80-\\x96\\x98-\\xb6\\xb8-\\xbf]|[\\xc4-\\xcd\\xd0-\\xd3][\\x80-\\xbf]|\\xce[\\x86-\\xbf]|\\xcf[\\x80-\\xbf])"

/* type, regex, validator, anchors, need_flags, min_digits, conf, conf_ctx, prio, pflags,
 * min_upper, any_flags. The gates (anchors, flags, digit and upper-case
 * counts) only decide whether the regex runs on a window, so each must hold
 * for every possible match: a shape flag (CLS_WF_DU, ...) may be required
 * only where the regex cannot match without that shape (PHONE: the
 * "[0-9]{2}[ .-][0-9]{4}" tail; IT_CF: "[A-Z]{6}"; DATE_OF_BIRTH: two
 * separators between digits; EU_VAT: two capitals then a digit; ...). */
const struct cls_pattern_def cls_patterns[] = {
    /* the local part may hold two-byte UTF-8 letters (RFC 6531: josé@,
       иван@; the window's left edge goes over them); an internationalised
       domain is found in its ASCII copy (the normalisation's) */
    {T_EMAIL,
     "(?<![A-Za-z0-9._%+-]|" U8L ")(?:[A-Za-z0-9]|" U8L ")(?:[A-Za-z0-9._%+-]|" U8L
     "){0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
     "[A-Za-z0-9])?\\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])",
     v_email, 0, CLS_WF_AT | CLS_WF_DOT, 0, 90, 95, 50, 0, 0, 0},
    /* written to get past a filter: bob [at] example [dot] com, bob(at)
       example.com, bob@example{dot}com (anchored on the bracketed words;
       plain "at" and "dot" are prose) */
    {T_EMAIL,
     "(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:" OB "(?i:at|@)" CB "|@)"
     "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:(?:" OB "(?i:dot|\\.)" CB
     "|\\.)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?:" OB "(?i:dot|\\.)" CB
     "|\\.)[A-Za-z]{2,24}(?![A-Za-z0-9-])",
     v_email_obf, A(CLS_A_OBF), 0, 0, 85, 90, 50, 0, 0, 0},
    {T_PHONE, LBN "\\+[1-9][0-9]{0,2}(?:[ .-]?(?:\\([0-9]{1,4}\\)|[0-9]{1,4})){2,6}" RBN, v_phone_e164, 0,
     CLS_WF_PLUS, 8, 75, 90, 20, CLS_PF_TRIM, 0, 0},
    {T_PHONE,
     LBN "(?(?<=[0-9][ .-])(?=" NANP "(?! [0-9])))" NANP RBN,
     v_phone_nanp, 0, CLS_WF_DSD | CLS_WF_RUN4, 10, 75, 90, 20, 0, 0, CLS_WF_SPACE | CLS_WF_DASH | CLS_WF_DOT | CLS_WF_PAREN},
    /* not a row of a table of numbers: no group of four (or one digit)
       and a separator right before it, nor two more such groups after it
       (one may follow: an expiry date, a security code) */
    /* national numbers with their trunk 0 (030 12345678, 06 12 34 56 78,
       020 7946 0958, (089) 1234567; 9 to 12 digits, written so that every
       match has nine, as the gate says; not a group of a longer number,
       an IBAN's "ES83 0835 5683 3700"): too like other numbers to be
       reported without a context word (confidence 0 without one; its words
       go into no literal stage, where "tel" and "call" cost 5-7 %), and a
       window without a trunk '0' runs no regex for them (CLS_PF_TRUNK0) */
    {T_PHONE,
     LBN "(?<![0-9][ ./-])(?:(?:0[1-9]|\\(0[1-9]\\) ?)(?:[ ./-]?[0-9]){7,10}|\\(0[1-9][0-9]\\) ?(?:[ ./-]?[0-9]){6,9}"
         "|\\(0[1-9][0-9]{2}\\) ?(?:[ ./-]?[0-9]){5,8}|\\(0[1-9][0-9]{3}\\) ?(?:[ ./-]?[0-9]){4,7})" RBN,
     v_phone_national, 0, 0, 9, 0, 85, 19, CLS_PF_TRUNK0, 0, 0},
    {T_CARD,
     LBN "(?<!(?<![0-9])[0-9]{4}[ -])(?<!(?<![0-9])[0-9][ -])[0-9](?:[ -]?[0-9]){12,18}"
         "(?![ -][0-9]{4}[ -][0-9]{4}(?![0-9]))(?![ -][0-9][ -][0-9](?![0-9]))" RBN,
     cls_v_card,
     0, 0, 13, 90, 98, 60, CLS_PF_TRIM, 0,
     CLS_WF_DSD | CLS_WF_RUN8},
    /* four groups of four with dots (catalogue 4.1 case 26): never a
       number with a decimal point, which has one */
    {T_CARD, LBN "[0-9]{4}(?:\\.[0-9]{4}){3}" RBN, cls_v_card, 0, CLS_WF_DOT | CLS_WF_DSD2, 16, 90,
     98, 60, 0, 0, 0},
    /* groups of four with dots among spaces and dashes (4111 1111-1111.1111:
       the audit's card-sep-mixed); not a group of a row of numbers, as
       above (1234.5678 9012.3456 7890.1234) */
    {T_CARD,
     LBN "(?<![0-9][ .-])(?=[0-9]{4}(?:[ -][0-9]{4}){0,2}\\.)[0-9]{4}(?:[ .-][0-9]{4}){3}(?![ .-][0-9])" RBN,
     cls_v_card, 0, CLS_WF_DOT | CLS_WF_DSD, 16, 90, 98, 60, 0, 0, 0},
    /* four lines of four digits, next to a context word ("card:"): a
       column of numbers alone is too often one */
    {T_CARD, LBN "[0-9]{4}(?:\r?\n[0-9]{4}|\t[0-9]{4}){3}" RBN, cls_v_card, 0, 0, 16, 0, 95, 60,
     CLS_PF_NEEDCTX, 0, 0},
    {T_IBAN, LBA "[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?" RBA, cls_v_iban, 0,
     CLS_WF_RUN4 | CLS_WF_UU | CLS_WF_UD, 6,
     95, 99, 70, CLS_PF_TRIM, 2, 0},
    /* the country in small letters (de89 3704 …, De89…: the audit's
       iban-lowercase; a model reads it as well), for the countries whose
       account part is digits (DE, ES, BE, AT, CH, PL, PT, the Nordics…):
       with letters in it, words of four letters would pass for groups,
       and the gates could ask for no digits */
    {T_IBAN, LBA "(?:[a-z][A-Za-z]|[A-Z][a-z])[0-9]{2}(?: ?[0-9]{4}){2,7}(?: ?[0-9]{1,3})?" RBN, cls_v_iban,
     0, CLS_WF_RUN4, 10, 95, 99, 70, CLS_PF_TRIM, 0, 0},
    {T_SWIFT, LBA "[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?" RBA, cls_v_swift, A(CLS_A_SWIFT), 0, 0, 0, 80,
     15, CLS_PF_NEEDCTX, 0, 0},
    /* an address of one digit, then numbers of one or two, is written like
       a version (GIT 1.6.5.5, linux-2.6.16.60, dpkg (1.4.1.2)), one of two
       digits (not 10), then three of one, like a section of a standard
       (// 27.8.3.2 Assign, per 17.4.4.4): reported with a context word only
       (confidence 0 without one; unlike CLS_PF_NEEDCTX its words gate no
       window). A prefix length after it says it is an address
       (11.0.0.0/16), but for 0.0.0.0/0 and its like: any address, no one's. */
#define IP_VERSION "(?:[0-9](?:\\.[0-9]{1,2}){3}|(?!10\\.)[1-9][0-9](?:\\.[0-9]){3})"
    {T_IP, "(?<![A-Za-z0-9_.])(?!(?=0)" IP_VERSION "(?![0-9])|" IP_VERSION "(?![0-9]|/[0-9]))(?:[0-9]{1,3}\\.){3}[0-9]{1,3}(?![A-Za-z0-9_]|\\.[0-9])",
     cls_v_ipv4, 0, CLS_WF_3DOTS | CLS_WF_IP3, 4, 80, 90, 30, 0, 0, 0},
    {T_IP, "(?<![A-Za-z0-9_.-])(?:(?=0)" IP_VERSION "|" IP_VERSION "(?!/[0-9]))(?![A-Za-z0-9_]|\\.[0-9])", cls_v_ipv4, 0,
     CLS_WF_3DOTS | CLS_WF_IP3, 4, 0, 90, 30, 0, 0, 0},
#undef IP_VERSION
    /* not after '-' (an ARN's region: arn:aws:apigateway:us-west-2::/apis),
       not a Python slice (x[::2], x[4-1::-1]; "[::1]" alone is loopback) */
    {T_IP,
     "(?<![A-Za-z0-9_:.-])(?<![A-Za-z0-9_)\\]]\\[)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\\.[0-9]{1,3}){0,3}"
     "(?![A-Za-z0-9_:])",
     cls_v_ipv6, 0, CLS_WF_COLON | CLS_WF_COLON2, 1, 80, 90, 30, 0, 0, 0},
    {T_MAC,
     "(?<![A-Za-z0-9_:.-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\\1[0-9A-Fa-f]{2}){4}(?![A-Za-z0-9_:]|-[0-9A-Fa-f])",
     v_mac, 0, CLS_WF_SEP5, 1, 75, 85, 31, 0, 0, CLS_WF_COLON | CLS_WF_DASH},
    {T_ITIN, LBN "9[0-9]{2}-[0-9]{2}-[0-9]{4}" RBN, cls_v_us_itin, 0, CLS_WF_DASH | CLS_WF_DSD, 9, 75, 95, 41, 0, 0,
     0},
    {T_ITIN, LBN "9[0-9]{2}(?: [0-9]{2} |[0-9]{2})[0-9]{4}" RBN, cls_v_us_itin, 0, 0, 9, 0, 85, 41,
     CLS_PF_NEEDCTX, 0, 0},
    {T_SSN, LBN "[0-9]{3}-[0-9]{2}-[0-9]{4}" RBN, cls_v_us_ssn, 0, CLS_WF_DASH | CLS_WF_DSD, 9, 80, 95, 40, 0, 0, 0},
    {T_SSN, LBN "[0-9]{3}(?: [0-9]{2} |[0-9]{2})[0-9]{4}" RBN, cls_v_us_ssn, 0, 0, 9, 0, 85, 35,
     CLS_PF_NEEDCTX, 0, 0},
    {T_ROUTING, LBN "[0-9]{9}" RBN, cls_v_aba, 0, 0, 9, 0, 85, 36, CLS_PF_NEEDCTX, 0, 0},
    {T_PASSPORT, LBA "(?=[A-Z]{0,2}[0-9])[A-Z0-9]{6,9}" RBA, NULL, 0, CLS_WF_AU6, 1, 0, 80, 10, CLS_PF_NEEDCTX, 0,
     0},
    {T_DOB,
     LBN "(?:(?:19|20)[0-9]{2}([-./])[01]?[0-9]\\1[0-3]?[0-9]|[0-3]?[0-9][./-][0-3]?[0-9][./-](?:19|20)?[0-9]{2})" RBN,
     cls_v_date, 0, CLS_WF_DSD2, 4, 0, 80, 12, CLS_PF_NEEDCTX | CLS_PF_CTXNEAR, 0, CLS_WF_DOT | CLS_WF_DASH | CLS_WF_SLASH},
    /* day and month each with a dot and a space, as Czech, Slovak, Slovene,
       Croatian and German write them: 12. 3. 1985 (a four-digit year) */
    {T_DOB, LBN "[0-3]?[0-9]\\. [01]?[0-9]\\. (?:19|20)[0-9]{2}" RBN, cls_v_date, 0, CLS_WF_DOT | CLS_WF_SPACE, 6, 0, 80,
     12, CLS_PF_NEEDCTX | CLS_PF_CTXNEAR, 0, 0},
    /* the month written as a word: 12 March 1985, 12. M\xc3\xa4rz 1985, 12 de marzo de 1985,
       March 12, 1985 (the validator knows the months). A digit keeps a
       window open 6 bytes, too few for " September ": the words of a birth
       date open one that reaches 40 bytes past them (CLS_A_DOB) */
#define DATE_NAMED                                                                                 \
    LBN "(?:[0-3]?[0-9]\\.? (?:de )?[A-Za-z\\x80-\\xff]{3,22}\\.?,? (?:de )?"                            \
        "|[A-Za-z\\x80-\\xff]{3,22}\\.? [0-3]?[0-9](?:st|nd|rd|th)?,? )(?:19|20)[0-9]{2}" RBN           \
        "|" LBN "(?:19|20)[0-9]{2}\\. (?i:gada) [0-3]?[0-9]\\. [A-Za-z\\x80-\\xff]{3,22}" RBN /* Latvian (before the Hungarian form, which */ \
        /* would take its "gada 12." for a month and a day) */ \
        "|" LBN "(?:19|20)[0-9]{2}\\. [A-Za-z\\x80-\\xff]{3,22} [0-3]?[0-9]\\.?" RBN /* Hungarian: 1985. március 12. */ \
        "|" LBN "(?:19|20)[0-9]{2} [mM]\\. [A-Za-z\\x80-\\xff]{3,22} [0-3]?[0-9](?: [dD]\\.)?" RBN /* Lithuanian */
    {T_DOB, DATE_NAMED, cls_v_date_named, A(CLS_A_DOB), CLS_WF_SPACE | CLS_WF_RUN4, 5, 0, 80, 12,
     CLS_PF_NEEDCTX | CLS_PF_CTXNEAR, 0, 0},
    /* (and in a digit's window, for a date that fits one: "DOB: 1 May 1985") */
    {T_DOB, DATE_NAMED, cls_v_date_named, 0, CLS_WF_SPACE | CLS_WF_RUN4, 5, 0, 80, 12,
     CLS_PF_NEEDCTX | CLS_PF_CTXNEAR, 0, 0},
    {T_NINO, LBA "[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]" RBA, cls_v_uk_nino, 0, CLS_WF_UU, 6, 85, 95, 45, 0, 3,
     CLS_WF_UD | CLS_WF_DSD | CLS_WF_RUN6},
    {T_NHS, LBN "[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}" RBN, cls_v_uk_nhs, 0, 0, 10, 0, 90, 38, CLS_PF_NEEDCTX, 0, 0},
    {T_SIN, LBN "[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}" RBN, cls_v_ca_sin, 0, 0, 9, 0, 85, 37, CLS_PF_NEEDCTX, 0, 0},
    /* pii-eu */
    {T_DE_TAX, LBN "[0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}" RBN, cls_v_de_taxid, 0, 0, 11, 0, 90, 47,
     CLS_PF_NEEDCTX, 0, 0},
    /* written whole (the key may stand apart) or with its seven groups
       apart: not 15 digits of a table in groups of five */
    {T_FR_NIR,
     LBA "[1278](?:[0-9]{4}(?:[0-9]{2}|2[AB])[0-9]{6} ?| [0-9]{2} [0-9]{2} (?:[0-9]{2}|2[AB]) [0-9]{3} [0-9]{3} )[0-9]{2}" RBN,
     cls_v_fr_nir, 0, 0, 12, 80, 95, 48, 0, 0, CLS_WF_DSD | CLS_WF_RUN8},
    {T_ES_DNI, LBN "[0-9]{8}-?[A-Z]" RBA, cls_v_es_dni, 0, CLS_WF_RUN8, 8, 75, 95, 46, 0, 1,
     CLS_WF_DU | CLS_WF_DDU},
    {T_ES_NIE, LBA "[XYZ]-?[0-9]{7}-?[A-Z]" RBA, cls_v_es_nie, 0, CLS_WF_RUN7, 7, 80, 95, 46, 0, 2,
     CLS_WF_DU | CLS_WF_DDU},
    {T_IT_CF,
     LBA "[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]" RBA,
     cls_v_it_cf, 0, CLS_WF_UP6, 1, 90, 98, 55, 0, 9, 0},
    {T_NL_BSN, LBN "(?:[0-9]{4}\\.[0-9]{2}\\.[0-9]{3}|[0-9]{9})" RBN, cls_v_nl_bsn, 0, 0, 9, 0, 90, 39,
     CLS_PF_NEEDCTX, 0, 0},
    {T_BE_NRN, LBN "[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}-[0-9]{3}\\.[0-9]{2}" RBN, cls_v_be_nrn, 0,
     CLS_WF_DOT | CLS_WF_DSD | CLS_WF_DASH | CLS_WF_3DOTS | CLS_WF_IP3, 11, 85, 95, 44, 0, 0, 0},
    {T_BE_NRN, LBN "[0-9]{11}" RBN, cls_v_be_nrn, 0, 0, 11, 0, 85, 44, CLS_PF_NEEDCTX, 0, 0},
    {T_PL_PESEL, LBN "[0-9]{11}" RBN, cls_v_pl_pesel, 0, 0, 11, 0, 90, 43, CLS_PF_NEEDCTX, 0, 0},
    {T_SE_PNR, LBN "(?:19|20)?[0-9]{6}[-+][0-9]{4}" RBN, cls_v_se_pnr, 0, CLS_WF_RUN6, 10, 75, 95, 42, 0, 0,
     CLS_WF_DSD | CLS_WF_PLUS},
    {T_AT_SVNR, LBN "[0-9]{4} ?[0-9]{6}" RBN, cls_v_at_svnr, 0, 0, 10, 0, 85, 33, CLS_PF_NEEDCTX, 0, 0},
    {T_DK_CPR, LBN "[0-9]{6}-?[0-9]{4}" RBN, cls_v_dk_cpr, 0, 0, 10, 0, 85, 41, CLS_PF_NEEDCTX, 0, 0},
    {T_FI_HETU, LBA "[0-9]{6}[-+ABCDEFUVWXY][0-9]{3}[0-9A-Y]" RBA, cls_v_fi_hetu, 0, CLS_WF_RUN6, 9, 85, 95, 45, 0, 0,
     CLS_WF_DSD | CLS_WF_PLUS | CLS_WF_DU},
    {T_PT_NIF, LBN "[0-9]{9}" RBN, cls_v_pt_nif, 0, 0, 9, 0, 85, 34, CLS_PF_NEEDCTX, 0, 0},
    {T_IE_PPS, LBN "[0-9]{7}[A-W][A-IW]?" RBA, cls_v_ie_pps, 0, CLS_WF_RUN7 | CLS_WF_DU, 7, 70, 90, 40, 0,
     1, 0},
    /* EU VAT numbers: every form has two capitals then a digit (the prefix, or ATU1, ESX1,
       FRAB1); every form but RO's (2 to 10 digits) a run of at least 5 digits (old-style
       IE8Z49289F), so RO is a pattern of its own */
    {T_EU_VAT,
     LBA "(?:ATU[0-9]{8}|BE[01][0-9]{9}|BG[0-9]{9,10}|CY[0-9]{8}[A-Z]|CZ[0-9]{8,10}|DE[0-9]{9}|DK[0-9]{8}|"
         "EE[0-9]{9}|EL[0-9]{9}|ES[A-Z0-9][0-9]{7}[A-Z0-9]|FI[0-9]{8}|FR[A-Z0-9]{2}[0-9]{9}|HR[0-9]{11}|"
         "HU[0-9]{8}|IE[0-9][A-Z0-9+*][0-9]{5}[A-Z]{1,2}|IT[0-9]{11}|LT(?:[0-9]{9}|[0-9]{12})|LU[0-9]{8}|"
         "LV[0-9]{11}|MT[0-9]{8}|NL[0-9]{9}B[0-9]{2}|PL[0-9]{10}|PT[0-9]{9}|SE[0-9]{10}01|"
         "SI[0-9]{8}|SK[0-9]{10})" RBA,
     cls_v_eu_vat, 0, CLS_WF_UUD | CLS_WF_RUN4, 5, 75, 95, 52, 0, 2, 0},
    {T_EU_VAT, LBA "RO[0-9]{2,10}" RBA, cls_v_eu_vat, 0, CLS_WF_UUD, 2, 75, 95, 52, 0, 2, 0},
    /* pii-world */
    {T_IN_AADHAAR, LBN "[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}" RBN, cls_v_in_aadhaar, 0, 0, 12, 0, 90, 44,
     CLS_PF_NEEDCTX, 0, 0},
    {T_IN_PAN, LBA "[A-Z]{3}[ABCFGHLJPTK][A-Z][0-9]{4}[A-Z]" RBA, cls_v_in_pan, 0,
     CLS_WF_RUN4 | CLS_WF_UU | CLS_WF_UD | CLS_WF_DU, 4, 80, 95, 45, 0, 6, 0},
    {T_SG_NRIC, LBA "[STFG][0-9]{7}[A-Z]" RBA, cls_v_sg_nric, 0,
     CLS_WF_RUN7 | CLS_WF_UD | CLS_WF_DU, 7, 85, 95, 45, 0, 2, 0},
    {T_AU_TFN, LBN "[0-9]{3} ?[0-9]{3} ?[0-9]{3}" RBN, cls_v_au_tfn, 0, 0, 9, 0, 85, 36, CLS_PF_NEEDCTX, 0, 0},
    {T_AU_MEDICARE, LBN "[2-6][0-9]{3} ?[0-9]{5} ?[0-9](?:[ /-]?[0-9])?" RBN, cls_v_au_medicare, 0, 0, 10, 0,
     85, 36, CLS_PF_NEEDCTX, 0, 0},
    {T_BR_CPF, LBN "[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}-[0-9]{2}" RBN, cls_v_br_cpf, 0,
     CLS_WF_DOT | CLS_WF_DSD | CLS_WF_DASH | CLS_WF_DSD2, 11, 85, 95, 48, 0, 0, 0},
    {T_BR_CPF, LBN "[0-9]{11}" RBN, cls_v_br_cpf, 0, 0, 11, 0, 85, 48, CLS_PF_NEEDCTX, 0, 0},
    {T_BR_CNPJ, LBN "[0-9]{2}\\.[0-9]{3}\\.[0-9]{3}/[0-9]{4}-[0-9]{2}" RBN, cls_v_br_cnpj, 0,
     CLS_WF_SLASH | CLS_WF_DSD, 14,
     90, 95, 49, 0, 0, 0},
    {T_BR_CNPJ, LBN "[0-9]{14}" RBN, cls_v_br_cnpj, 0, 0, 14, 0, 85, 49, CLS_PF_NEEDCTX, 0, 0},
    {T_JP_MYNUMBER, LBN "[0-9]{4} ?[0-9]{4} ?[0-9]{4}" RBN, cls_v_jp_mynumber, 0, 0, 12, 0, 85, 43,
     CLS_PF_NEEDCTX, 0, 0},
    {T_KR_RRN, LBN "[0-9]{6}-[1-8][0-9]{6}" RBN, cls_v_kr_rrn, 0, CLS_WF_DASH | CLS_WF_DSD | CLS_WF_RUN7, 13, 85, 95,
     47, 0, 0, 0},
    {T_CN_ID, LBN "[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:[0-2][0-9]|3[01])[0-9]{3}[0-9Xx]" RBA,
     cls_v_cn_id, 0, CLS_WF_RUN8, 17, 85, 95, 50, 0, 0, 0},
    /* secrets */
    /* glued to an identifier by '_' too (creds_AKIA…, an environment
       variable's name written into its value): twenty characters of this
       alphabet after one of these prefixes are a key ID whatever joins
       them to a name */
    {T_AWS_AKID, "(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])", NULL,
     A(CLS_A_AWS), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_AWS_SECRET,
     "(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key|aws_?secret|aws-secret(?:-access)?-key)"
     "[\"' ]*[:=>]+[\"' ]*([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
     v_aws_secret_value, A(CLS_A_AWSSEC), 0, 0, 95, 95, 90, CLS_PF_VALUE, 0, 0},
    {T_AWS_SECRET, "(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", v_aws_secret_near, A(CLS_A_AWS),
     0, 0, 80, 80, 85, 0, 0, 0},
    {T_AWS_SESSION, "(?<![A-Za-z0-9+/])(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE|AQoDYXdzE)(?:[A-Za-z0-9+/]|%2[BFbf]){100}",
     v_token, A(CLS_A_AWSSESS), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PRIVATE_KEY, "-----BEGIN[ A-Z0-9]{0,40} PRIVATE KEY(?: BLOCK)?-----", NULL, A(CLS_A_PEM), 0, 0, 99,
     99, 95, 0, 0, 0},
    {T_JWT,
     "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}+\\.[A-Za-z0-9_-]{10,}+\\.[A-Za-z0-9_-]{10,}+",
     v_jwt, A(CLS_A_JWT), 0, 0, 90, 90, 88, 0, 0, 0},
    /* the decoder chain ends the text unit after a base64 run that decodes to
       text (a JWT header does), so a header alone at the end of a unit counts */
    {T_JWT, "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{16,}+$", v_jwt, A(CLS_A_JWT), 0, 0, 80, 80, 87, CLS_PF_UNITEND, 0, 0},
    {T_GITHUB, LBA "(?:gh[pousr]_[A-Za-z0-9]{36,255}+|github_pat_[A-Za-z0-9_]{82})" RBA, NULL, A(CLS_A_GH),
     0, 0, 95, 95, 90, 0, 0, 0},
    {T_GITLAB,
     LBA "(?:glpat-[A-Za-z0-9_-]{20,}+|glptt-[0-9a-f]{40}|(?:gldt|glrt|glsoat|glffct)-[A-Za-z0-9_-]{20,}+|"
         "glimt-[A-Za-z0-9_-]{25}|glagent-[A-Za-z0-9_-]{50}|gloas-[A-Za-z0-9_-]{64}|"
         "glcbt-[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}|GR1348941[A-Za-z0-9_-]{20,}+)(?![A-Za-z0-9_-])",
     NULL, A(CLS_A_GL), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_SLACK,
     LBA "(?:xox[baprse]-[0-9A-Za-z-]{10,250}+|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+|"
         "https://hooks\\.slack\\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)",
     NULL, A(CLS_A_SLACK), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_STRIPE, LBA "[rs]k_(?:live|test)_[0-9A-Za-z]{16,247}+", NULL, A(CLS_A_STRIPE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_GOOGLE, LBA "AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", NULL, A(CLS_A_GOOGLE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_ANTHROPIC, "(?<![A-Za-z0-9_-])sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{32,200}+", NULL,
     A(CLS_A_SKDASH), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_OPENAI, "(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}+", v_openai,
     A(CLS_A_SKDASH), 0, 0, 90, 90, 89, 0, 0, 0},
    {T_HF, LBA "hf_[A-Za-z0-9]{34}" RBA, v_hf, A(CLS_A_HF), 0, 0, 90, 90, 90, 0, 0, 0},
    {T_NPM, LBA "npm_[A-Za-z0-9]{36}" RBA, NULL, A(CLS_A_NPM), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_SENDGRID, LBA "SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", NULL, A(CLS_A_SG), 0, 0,
     95, 95, 90, 0, 0, 0},
    {T_TWILIO, LBA "(?:SK|AC)[0-9a-f]{32}" RBA, NULL, 0, CLS_WF_UU, 8, 85, 85, 85, 0, 2, 0},
    {T_AZURE, "AccountKey=([A-Za-z0-9+/]{86}==)", NULL, A(CLS_A_AZURE), 0, 0, 95, 95, 90, CLS_PF_VALUE, 0, 0},
    {T_AZURE_SAS, "[?&]sig=((?:[A-Za-z0-9+/]|%2[BFbf]){43}(?:=|%3[Dd]))(?![A-Za-z0-9%+/=])", v_sas_sig,
     A(CLS_A_SAS), 0, 0, 90, 90, 90, CLS_PF_VALUE, 0, 0},
    {T_GENERIC_SECRET,
     "(?<![:/])(?i:password|passwd|pwd|secret(?:[_-]?key)?|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|"
     "private[_-]?key|(?:refresh|session|id|bearer|api|oauth|bot|security)[_-]?token|(?<![A-Za-z])token)"
     "[\"']?[ \\t]*[:=][ \\t]*[\"']?([^\\s\"',;&<>]{8,128}+)",
     v_secret_value, A(CLS_A_KEYWORD), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, CLS_WF_COLON | CLS_WF_EQ},
    /* "pass" as a name of its own (nodemailer's auth: {user, pass: '…'},
       SMTP_PASS=…), not a word's end (bypass, LLVM's FooPass : PassInfoMixin)
       nor a test log's result (PASS: binutils-all/i386/ibt), and a value
       with a digit or a symbol (-debug-pass=Executions is none); after a
       small letter or a digit only begun in a capital (dbPass, smtp2Pass) */
    {T_GENERIC_SECRET, "(?:(?<![A-Za-z])[pP]ass|(?<=[a-z0-9])Pass|(?<![A-Za-z])PASS(?![ \\t]*:))[\"']?[ \\t]*[:=][ \\t]*[\"']?([^\\s\"',;&<>]{8,128}+)",
     v_pass_value, A(CLS_A_KEYWORD), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, CLS_WF_COLON | CLS_WF_EQ},
    /* Docker's config.json written out ("auth": "<base64 of user:password>"),
       a YAML basic auth: the value decodes to a name, ':' and a password */
    {T_GENERIC_SECRET, "(?<![A-Za-z])(?i:auth)[\"']?[ \\t]*[:=][ \\t]*[\"']?([A-Za-z0-9+/]{8,264}={0,2})(?![A-Za-z0-9+/=])",
     v_b64_userpass, A(CLS_A_KEYWORD), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, CLS_WF_COLON | CLS_WF_EQ},
    /* an HTTP Authorization header written out (curl -H, a request dump):
       its credentials, after the scheme */
    {T_GENERIC_SECRET,
     "(?i:authorization)[\"']?[ \\t]*[:=][ \\t]*[\"']?(?i:bearer|basic|token)[ \\t]+([A-Za-z0-9._~+/-]{8,200}+=*)",
     v_auth_value, A(CLS_A_KEYWORD), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, CLS_WF_COLON | CLS_WF_EQ},
    {T_GENERIC_SECRET, "(?i)[a-z][a-z0-9+.-]{1,20}://[^/\\s:@\"]{1,64}:([^/\\s@\"]{3,128})@[^/\\s\"]+", v_url_secret,
     A(CLS_A_URL), CLS_WF_AT, 0, 95, 95, 60, CLS_PF_VALUE, 0, 0},
    /* an environment variable named *_KEY (OPENAI_KEY=…, ENCRYPTION_KEY: …);
       not the names of keys that are no secret (a public or publishable
       key, a table's sort or partition key, an S3 object's, a cache's) */
    {T_GENERIC_SECRET,
     "(?<![A-Za-z0-9_])[A-Z][A-Z0-9_]{0,60}_(?<!PUBLIC_)(?<!PUBLISHABLE_)(?<!PRIMARY_)(?<!SORT_)(?<!PARTITION_)"
     "(?<!FOREIGN_)(?<!CACHE_)(?<!S3_)(?<!OBJECT_)(?<!HASH_)(?<!RANGE_)(?<!ROUTING_)(?<!IDEMPOTENCY_)(?<!SITE_)"
     "(?<!SSH_)(?<!GPG_)(?<!PGP_)(?<!LICENSE_)(?<!SEARCH_)(?<!LOOKUP_)(?<!CONFIG_)(?<!ENV_)KEY[ \\t]*[:=][ \\t]*[\"']?"
     "([^\\s\"',;&<>]{16,128}+)",
     v_env_key_value, A(CLS_A_ENVKEY), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, CLS_WF_COLON | CLS_WF_EQ},
    /* a password on a command line: curl -u/--user user:PASSWORD, mysql
       -pPASSWORD (attached: -p alone prompts), sshpass -p PASSWORD */
    {T_GENERIC_SECRET, "(?<![\\w-])(?:-u|--user)(?:[ \\t]*|=)[\"']?[^\\s:\"'@]{1,64}:([^\\s\"']{6,128}+)",
     v_cli_password, A(CLS_A_CURL), CLS_WF_COLON, 0, 80, 80, 60, CLS_PF_VALUE, 0, 0},
    {T_GENERIC_SECRET, "(?:(?<![\\w-])-p(?=[^\\s\"'-])|sshpass[ \\t]+-p[ \\t]*[\"']?)([^\\s\"']{6,128}+)",
     v_cli_password, A(CLS_A_CLIPW), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, 0},
    /* a .netrc entry (curl's, git's, Heroku's): machine HOST login USER
       password PASSWORD, on one line or several */
    {T_GENERIC_SECRET, "(?<![A-Za-z0-9_])login[ \\t\\r\\n]+[^\\s]{1,64}[ \\t\\r\\n]+password[ \\t]+([^\\s\"']{6,128}+)",
     v_cli_password, A(CLS_A_NETRC), 0, 0, 80, 80, 60, CLS_PF_VALUE, 0, 0},
    /* vendor tokens: a prefix of their own, then their characters; the
       validator turns placeholders away (a row of one letter) */
    {T_SHOPIFY, LBA "shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" RBA, v_token, A(CLS_A_SHOPIFY), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_DATABRICKS, LBA "dapi[a-f0-9]{32}(?:-[0-9])?" RBA, v_token, A(CLS_A_DATABRICKS), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_DIGITALOCEAN, LBA "do[opr]_v1_[a-f0-9]{64}" RBA, v_token, A(CLS_A_DIGITALOCEAN), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_DOPPLER, LBA "dp\\.(?:pt|st|ct|sa)\\.[A-Za-z0-9]{40,44}" RBA, v_token, A(CLS_A_DOPPLER), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PYPI, "pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}+", v_token, A(CLS_A_PYPI), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_RUBYGEMS, LBA "rubygems_[a-f0-9]{48}" RBA, v_token, A(CLS_A_RUBYGEMS), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_POSTMAN, LBA "PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}" RBA, v_token, A(CLS_A_POSTMAN), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PULUMI, LBA "pul-[a-f0-9]{40}" RBA, v_token, A(CLS_A_PULUMI), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_NEWRELIC, LBA "(?:NRAK-[A-Za-z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])", v_token, A(CLS_A_NEWRELIC), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_GRAFANA, LBA "(?:glc_[A-Za-z0-9+/]{32,400}+={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?![A-Za-z0-9_+/=])", v_token, A(CLS_A_GRAFANA), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_LINEAR, LBA "lin_api_[A-Za-z0-9]{40}" RBA, v_token, A(CLS_A_LINEAR), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_HASHICORP, "(?<![A-Za-z0-9_.-])(?:hvs\\.[A-Za-z0-9_-]{90,120}+|hvb\\.[A-Za-z0-9_-]{138,300}+|"
     "[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}+)(?![A-Za-z0-9_=-])", v_token, A(CLS_A_HASHICORP), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_ATLASSIAN, LBA "ATATT3[A-Za-z0-9_=-]{186}(?![A-Za-z0-9_=-])", v_token, A(CLS_A_ATLASSIAN), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_SQUARE, LBA "(?:EAAA[A-Za-z0-9_+=-]{60}|sq0atp-[A-Za-z0-9_-]{22}|sq0csp-[A-Za-z0-9_-]{43})(?![A-Za-z0-9_+=-])", v_token, A(CLS_A_SQUARE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_DYNATRACE, LBA "dt0c01\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{64}" RBA, v_token, A(CLS_A_DYNATRACE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_AGE, LBA "AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" RBA, v_token, A(CLS_A_AGE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_ONEPASSWORD, LBA "ops_eyJ[A-Za-z0-9+/]{250,}+={0,3}", v_token, A(CLS_A_ONEPASSWORD), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_FLYIO, LBA "(?:fo1_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])|fm(?:1[ar]|2)_[A-Za-z0-9+/]{100,}+={0,3})", v_token, A(CLS_A_FLYIO), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PLANETSCALE, LBA "pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}+(?![A-Za-z0-9_=.-])", v_token, A(CLS_A_PLANETSCALE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_ALIBABA, LBA "LTAI[A-Za-z0-9]{20}" RBA, v_token, A(CLS_A_ALIBABA), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_AZURE_AD, "(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])", v_token, A(CLS_A_AZURE_AD), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_GCP_OAUTH, LBA "GOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])", v_token, A(CLS_A_GCP_OAUTH), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_SENTRY, LBA "(?:sntrys_eyJ[A-Za-z0-9+/=_-]{50,}+|sntryu_[a-f0-9]{64}(?![A-Za-z0-9_]))", v_token, A(CLS_A_SENTRY), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PREFECT, LBA "pnu_[A-Za-z0-9]{36}" RBA, v_token, A(CLS_A_PREFECT), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_HEROKU, LBA "HRKU-AA[A-Za-z0-9_-]{58}(?![A-Za-z0-9_-])", v_token, A(CLS_A_HEROKU), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_GROQ, LBA "gsk_[A-Za-z0-9]{52}" RBA, v_token, A(CLS_A_GROQ), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_REPLICATE, LBA "r8_[A-Za-z0-9]{37}" RBA, v_token, A(CLS_A_REPLICATE), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_PERPLEXITY, LBA "pplx-[A-Za-z0-9]{48}" RBA, v_token, A(CLS_A_PERPLEXITY), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_XAI, LBA "xai-[A-Za-z0-9]{80}" RBA, v_token, A(CLS_A_XAI), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_BEDROCK, LBA "(?:ABSK[A-Za-z0-9+/]{60,}+={0,2}|bedrock-api-key-[A-Za-z0-9+/]{60,}+={0,2})", v_token, A(CLS_A_BEDROCK), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_DISCORD, "https?://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}(?![A-Za-z0-9_-])", v_token, A(CLS_A_DISCORD), 0, 0, 95, 95, 90, 0, 0, 0},
    {T_TEAMS, "https://[a-z0-9-]+\\.webhook\\.office\\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/[a-f0-9]{32}/[a-f0-9-]{36}", v_token, A(CLS_A_TEAMS), 0, 0, 95, 95, 90, 0, 0, 0},
};
const size_t cls_n_patterns = SGW_ARRAY_LEN(cls_patterns);

/* Literal anchors: a hit opens a window reaching `right` bytes past it. */
const struct cls_literal_def cls_literals[] = {
    {"AKIA", CLS_A_AWS, 0, 96, 0},           {"ASIA", CLS_A_AWS, 0, 96, 0},
    {"AGPA", CLS_A_AWS, 0, 96, 0},           {"AIDA", CLS_A_AWS, 0, 96, 0},
    {"AROA", CLS_A_AWS, 0, 96, 0},           {"ANPA", CLS_A_AWS, 0, 96, 0},
    {"ANVA", CLS_A_AWS, 0, 96, 0},           {"AIPA", CLS_A_AWS, 0, 96, 0},
    {"ABIA", CLS_A_AWS, 0, 96, 0},           {"ACCA", CLS_A_AWS, 0, 96, 0},
    {"aws_secret", CLS_A_AWSSEC, 1, 72, 0},  {"awssecret", CLS_A_AWSSEC, 1, 72, 0},
    {"aws-secret", CLS_A_AWSSEC, 1, 72, 0},  {"secret_access_key", CLS_A_AWSSEC, 1, 64, 0},
    {"secretaccesskey", CLS_A_AWSSEC, 1, 64, 0},
    {"-----BEGIN", CLS_A_PEM, 0, 48, 0},     {"eyJ", CLS_A_JWT, 0, 16, 0},
    {"ghp_", CLS_A_GH, 0, 8, 0},             {"gho_", CLS_A_GH, 0, 8, 0},
    {"ghu_", CLS_A_GH, 0, 8, 0},             {"ghs_", CLS_A_GH, 0, 8, 0},
    {"ghr_", CLS_A_GH, 0, 8, 0},             {"github_pat_", CLS_A_GH, 0, 8, 0},
    {"glpat-", CLS_A_GL, 0, 8, 0},           {"glptt-", CLS_A_GL, 0, 8, 0},
    {"gldt-", CLS_A_GL, 0, 8, 0},            {"glrt-", CLS_A_GL, 0, 8, 0},
    {"glsoat-", CLS_A_GL, 0, 8, 0},          {"glffct-", CLS_A_GL, 0, 8, 0},
    {"glimt-", CLS_A_GL, 0, 8, 0},           {"glagent-", CLS_A_GL, 0, 8, 0},
    {"gloas-", CLS_A_GL, 0, 8, 0},           {"glcbt-", CLS_A_GL, 0, 8, 0},
    {"GR1348941", CLS_A_GL, 0, 8, 0},           {"xoxb-", CLS_A_SLACK, 0, 8, 0},
    {"xoxp-", CLS_A_SLACK, 0, 8, 0},         {"xoxa-", CLS_A_SLACK, 0, 8, 0},
    {"xoxr-", CLS_A_SLACK, 0, 8, 0},         {"xoxs-", CLS_A_SLACK, 0, 8, 0},
    {"xoxe-", CLS_A_SLACK, 0, 8, 0},         {"xapp-", CLS_A_SLACK, 0, 8, 0},
    {"hooks.slack.com", CLS_A_SLACK, 0, 8, 0},
    {"sk_live_", CLS_A_STRIPE, 0, 8, 0},     {"sk_test_", CLS_A_STRIPE, 0, 8, 0},
    {"rk_live_", CLS_A_STRIPE, 0, 8, 0},     {"rk_test_", CLS_A_STRIPE, 0, 8, 0},
    {"AIza", CLS_A_GOOGLE, 0, 8, 0},         {"sk-", CLS_A_SKDASH, 0, 8, 0},
    {"hf_", CLS_A_HF, 0, 8, 0},              {"npm_", CLS_A_NPM, 0, 8, 0},
    {"SG.", CLS_A_SG, 0, 8, 0},              {"AccountKey=", CLS_A_AZURE, 0, 8, 0},
    {"password", CLS_A_KEYWORD, 1, 48, 0},   {"passwd", CLS_A_KEYWORD, 1, 48, 0},
    {"pwd", CLS_A_KEYWORD, 1, 48, 0},        {"secret", CLS_A_KEYWORD, 1, 48, 0},
    {"api_key", CLS_A_KEYWORD, 1, 48, 0},    {"apikey", CLS_A_KEYWORD, 1, 48, 0},
    {"api-key", CLS_A_KEYWORD, 1, 48, 0},    {"access_token", CLS_A_KEYWORD, 1, 48, 0},
    {"access-token", CLS_A_KEYWORD, 1, 48, 0}, {"auth_token", CLS_A_KEYWORD, 1, 48, 0},
    {"client_secret", CLS_A_KEYWORD, 1, 48, 0}, {"private_key", CLS_A_KEYWORD, 1, 48, 0},
    {"token", CLS_A_KEYWORD, 1, 48, 0},      {"authorization", CLS_A_KEYWORD, 1, 64, 0},      {"://", CLS_A_URL, 0, 48, 0},
    /* "pass" alone is in too many words: only before what assigns it
       (nodemailer's auth: {user, pass: '…'}, SMTP_PASS=…) */
    {"pass:", CLS_A_KEYWORD, 1, 48, 0},      {"pass=", CLS_A_KEYWORD, 1, 48, 0},
    {"pass\"", CLS_A_KEYWORD, 1, 48, 0},     {"pass'", CLS_A_KEYWORD, 1, 48, 0},
    {"pass =", CLS_A_KEYWORD, 1, 48, 0},     {"pass :", CLS_A_KEYWORD, 1, 48, 0},
    /* ... as "auth" only before what assigns it (Docker's "auth": "…") */
    {"auth\":", CLS_A_KEYWORD, 1, 255, 0},   {"auth\" :", CLS_A_KEYWORD, 1, 255, 0},
    {"auth:", CLS_A_KEYWORD, 1, 255, 0},     {"auth=", CLS_A_KEYWORD, 1, 255, 0},
    {"_KEY", CLS_A_ENVKEY, 0, 48, 64},
    {"curl", CLS_A_CURL, 0, 255, 0},         {"--user", CLS_A_CURL, 0, 140, 0},
    {"mysql", CLS_A_CLIPW, 0, 255, 0},       {"sshpass", CLS_A_CLIPW, 0, 140, 0},
    {" login ", CLS_A_NETRC, 0, 255, 0},     {"\tlogin ", CLS_A_NETRC, 0, 255, 0},
    {"IQoJb3JpZ2luX2Vj", CLS_A_AWSSESS, 0, 255, 0}, {"FwoGZXIvYXdzE", CLS_A_AWSSESS, 0, 255, 0},
    {"AQoDYXdzE", CLS_A_AWSSESS, 0, 255, 0},
    {"?sig=", CLS_A_SAS, 0, 140, 0},         {"&sig=", CLS_A_SAS, 0, 140, 0},
    {"swift", CLS_A_SWIFT, 1, 40, 0},        {"bic", CLS_A_SWIFT, 1, 40, 0},
    {"[at]", CLS_A_OBF, 1, 72, 72},
    {"(at)", CLS_A_OBF, 1, 72, 72},
    {"{at}", CLS_A_OBF, 1, 72, 72},
    {"<at>", CLS_A_OBF, 1, 72, 72},
    {"[@]", CLS_A_OBF, 1, 72, 72},
    {"(@)", CLS_A_OBF, 1, 72, 72},
    {"{@}", CLS_A_OBF, 1, 72, 72},
    {"<@>", CLS_A_OBF, 1, 72, 72},
    {"[dot]", CLS_A_OBF, 1, 72, 72},
    {"(dot)", CLS_A_OBF, 1, 72, 72},
    {"{dot}", CLS_A_OBF, 1, 72, 72},
    {"<dot>", CLS_A_OBF, 1, 72, 72},
    {"shpat_", CLS_A_SHOPIFY, 0, 8, 0},
    {"shpca_", CLS_A_SHOPIFY, 0, 8, 0},
    {"shppa_", CLS_A_SHOPIFY, 0, 8, 0},
    {"shpss_", CLS_A_SHOPIFY, 0, 8, 0},
    {"dapi", CLS_A_DATABRICKS, 0, 8, 0},
    {"dop_v1_", CLS_A_DIGITALOCEAN, 0, 8, 0},
    {"doo_v1_", CLS_A_DIGITALOCEAN, 0, 8, 0},
    {"dor_v1_", CLS_A_DIGITALOCEAN, 0, 8, 0},
    {"dp.pt.", CLS_A_DOPPLER, 0, 8, 0},
    {"dp.st.", CLS_A_DOPPLER, 0, 8, 0},
    {"dp.ct.", CLS_A_DOPPLER, 0, 8, 0},
    {"dp.sa.", CLS_A_DOPPLER, 0, 8, 0},
    {"pypi-AgEIcHlwaS5vcmc", CLS_A_PYPI, 0, 8, 0},
    {"rubygems_", CLS_A_RUBYGEMS, 0, 8, 0},
    {"PMAK-", CLS_A_POSTMAN, 0, 8, 0},
    {"pul-", CLS_A_PULUMI, 0, 8, 0},
    {"NRAK-", CLS_A_NEWRELIC, 0, 8, 0},
    {"NRJS-", CLS_A_NEWRELIC, 0, 8, 0},
    {"NRII-", CLS_A_NEWRELIC, 0, 8, 0},
    {"glc_", CLS_A_GRAFANA, 0, 8, 0},
    {"glsa_", CLS_A_GRAFANA, 0, 8, 0},
    {"lin_api_", CLS_A_LINEAR, 0, 8, 0},
    {"hvs.", CLS_A_HASHICORP, 0, 8, 0},
    {"hvb.", CLS_A_HASHICORP, 0, 8, 0},
    {".atlasv1.", CLS_A_HASHICORP, 0, 8, 0},
    {"ATATT3", CLS_A_ATLASSIAN, 0, 8, 0},
    {"EAAA", CLS_A_SQUARE, 0, 8, 0},
    {"sq0atp-", CLS_A_SQUARE, 0, 8, 0},
    {"sq0csp-", CLS_A_SQUARE, 0, 8, 0},
    {"dt0c01.", CLS_A_DYNATRACE, 0, 8, 0},
    {"AGE-SECRET-KEY-1", CLS_A_AGE, 0, 8, 0},
    {"ops_eyJ", CLS_A_ONEPASSWORD, 0, 8, 0},
    {"fo1_", CLS_A_FLYIO, 0, 8, 0},
    {"fm1a_", CLS_A_FLYIO, 0, 8, 0},
    {"fm1r_", CLS_A_FLYIO, 0, 8, 0},
    {"fm2_", CLS_A_FLYIO, 0, 8, 0},
    {"pscale_", CLS_A_PLANETSCALE, 0, 8, 0},
    {"LTAI", CLS_A_ALIBABA, 0, 8, 0},
    {"0Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"1Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"2Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"3Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"4Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"5Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"6Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"7Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"8Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"9Q~", CLS_A_AZURE_AD, 0, 8, 0},
    {"GOCSPX-", CLS_A_GCP_OAUTH, 0, 8, 0},
    {"sntrys_", CLS_A_SENTRY, 0, 8, 0},
    {"sntryu_", CLS_A_SENTRY, 0, 8, 0},
    {"pnu_", CLS_A_PREFECT, 0, 8, 0},
    {"HRKU-AA", CLS_A_HEROKU, 0, 8, 0},
    {"gsk_", CLS_A_GROQ, 0, 8, 0},
    {"r8_", CLS_A_REPLICATE, 0, 8, 0},
    {"pplx-", CLS_A_PERPLEXITY, 0, 8, 0},
    {"xai-", CLS_A_XAI, 0, 8, 0},
    {"ABSK", CLS_A_BEDROCK, 0, 8, 0},
    {"bedrock-api-key-", CLS_A_BEDROCK, 0, 8, 0},
    {"discord.com/api/webhooks/", CLS_A_DISCORD, 0, 90, 64},
    {"discordapp.com/api/webhooks/", CLS_A_DISCORD, 0, 90, 64},
    {".webhook.office.com/webhookb2/", CLS_A_TEAMS, 0, 112, 64},
    /* a birth date's words ("dob" is too short for the literal stage; a
       date with it and a short month's name fits a digit's window) */
    {"date of birth", CLS_A_DOB, 1, 40, 0},  {"birth date", CLS_A_DOB, 1, 40, 0},
    {"birthdate", CLS_A_DOB, 1, 40, 0},      {"born", CLS_A_DOB, 1, 40, 0},
    {"dateofbirth", CLS_A_DOB, 1, 40, 0}, /* (code's dateOfBirth in text: camelCase folded) */
    {"birthday", CLS_A_DOB, 1, 40, 0},       {"geburtsdatum", CLS_A_DOB, 1, 40, 0},
    {"geboren", CLS_A_DOB, 1, 40, 0},        {"né le", CLS_A_DOB, 1, 40, 0},
    {"née le", CLS_A_DOB, 1, 40, 0},  {"date de naissance", CLS_A_DOB, 1, 40, 0},
    {"fecha de nacimiento", CLS_A_DOB, 1, 40, 0}, {"nacido", CLS_A_DOB, 1, 40, 0},
    {"data di nascita", CLS_A_DOB, 1, 40, 0}, {"nato il", CLS_A_DOB, 1, 40, 0},
    {"geboortedatum", CLS_A_DOB, 1, 40, 0},  {"data urodzenia", CLS_A_DOB, 1, 40, 0},
    {"födelsedatum", CLS_A_DOB, 1, 40, 0}, {"syntymäaika", CLS_A_DOB, 1, 40, 0},
    {"geburtstag", CLS_A_DOB, 1, 40, 0},     {"fødselsdato", CLS_A_DOB, 1, 40, 0},
    {"data de nascimento", CLS_A_DOB, 1, 40, 0}, {"nascido", CLS_A_DOB, 1, 40, 0},
    /* (the other EU languages; the Greek ones folded: ς as σ, see ctx_in) */
    {"дата на раждане", CLS_A_DOB, 1, 40, 0}, {"роден", CLS_A_DOB, 1, 40, 0},
    {"ημερομηνία γέννησησ", CLS_A_DOB, 1, 40, 0}, {"ημερομηνια γεννησησ", CLS_A_DOB, 1, 40, 0},
    {"γεννήθηκε", CLS_A_DOB, 1, 40, 0}, {"γεννηθηκε", CLS_A_DOB, 1, 40, 0},
    {"datum rođenja", CLS_A_DOB, 1, 40, 0}, {"rođen", CLS_A_DOB, 1, 40, 0},
    {"datum narození", CLS_A_DOB, 1, 40, 0}, {"narozen", CLS_A_DOB, 1, 40, 0},
    {"dátum narodenia", CLS_A_DOB, 1, 40, 0}, {"narodený", CLS_A_DOB, 1, 40, 0},
    {"datum rojstva", CLS_A_DOB, 1, 40, 0}, {"rojen", CLS_A_DOB, 1, 40, 0},
    {"data nașterii", CLS_A_DOB, 1, 40, 0}, {"data naşterii", CLS_A_DOB, 1, 40, 0}, {"născut", CLS_A_DOB, 1, 40, 0},
    {"sünniaeg", CLS_A_DOB, 1, 40, 0}, {"sündinud", CLS_A_DOB, 1, 40, 0},
    {"születési", CLS_A_DOB, 1, 40, 0}, {"született", CLS_A_DOB, 1, 40, 0},
    {"fødselsdag", CLS_A_DOB, 1, 40, 0}, {"födelsedag", CLS_A_DOB, 1, 40, 0},
    {"gimimo data", CLS_A_DOB, 1, 40, 0}, {"gimęs", CLS_A_DOB, 1, 40, 0},
    {"dzimšanas datums", CLS_A_DOB, 1, 40, 0}, {"dzimis", CLS_A_DOB, 1, 40, 0},
};
const size_t cls_n_literals = SGW_ARRAY_LEN(cls_literals);

uint32_t cls_pack_bit(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "pii-core") == 0)
        return CLS_PACK_CORE;
    if (strcmp(name, "pii-eu") == 0)
        return CLS_PACK_EU;
    if (strcmp(name, "pii-world") == 0)
        return CLS_PACK_WORLD;
    if (strcmp(name, "secrets") == 0)
        return CLS_PACK_SECRETS;
    return 0;
}

/* Names and numbers set aside for documentation: e-mail domains of RFC 2606
 * and 6761 (example.com/.net/.org and their subdomains, .example, .test,
 * .invalid, .localhost), IPv4 ranges of RFC 5737 (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24), IPv6's 2001:db8::/32 (RFC 3849), and
 * the fictional phone numbers of NANP (555-0100 to 555-0199) and Ofcom
 * (020 7946 0xxx, 07700 900xxx). */
static int doc_reserved(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at) {
        size_t dl = n - (size_t)(at + 1 - s);
        char dom[256];
        if (dl == 0 || dl >= sizeof(dom))
            return 0;
        for (size_t i = 0; i < dl; i++)
            dom[i] = (char)(at[1 + i] >= 'A' && at[1 + i] <= 'Z' ? at[1 + i] + 32 : at[1 + i]);
        static const char *const doms[] = {"example.com", "example.net", "example.org", "example",
                                           "test", "invalid", "localhost"};
        for (size_t i = 0; i < SGW_ARRAY_LEN(doms); i++) {
            size_t l = strlen(doms[i]);
            if (dl >= l && memcmp(dom + dl - l, doms[i], l) == 0 && (dl == l || dom[dl - l - 1] == '.'))
                return 1;
        }
        return 0;
    }
    if (n >= 9 && strncasecmp(s, "2001:db8:", 9) == 0)
        return 1;
    static const char *const nets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    for (size_t i = 0; i < SGW_ARRAY_LEN(nets); i++) {
        size_t l = strlen(nets[i]);
        if (n > l && memcmp(s, nets[i], l) == 0) {
            size_t k = l;
            while (k < n && s[k] >= '0' && s[k] <= '9')
                k++;
            if (k == n)
                return 1;
        }
    }
    char d[16];
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (nd == sizeof(d))
                return 0;
            d[nd++] = s[i];
        } else if (!strchr(" .-()+", s[i])) {
            return 0;
        }
    }
    const char *t = d;
    size_t tn = nd;
    if (tn == 11 && t[0] == '1') {
        t++;
        tn--;
    }
    if (tn == 10 && memcmp(t + 3, "5550", 4) == 0 && t[7] == '1')
        return 1; /* NXX-555-01XX */
    if (nd >= 11 && memcmp(d, "44", 2) == 0) { /* +44 ... as 0 ... */
        d[1] = '0';
        t = d + 1;
        tn = nd - 1;
    } else {
        t = d;
        tn = nd;
    }
    return tn == 11 && (memcmp(t, "0207946", 7) == 0 || memcmp(t, "07700900", 8) == 0);
}

int cls_is_example(const char *s, size_t n)
{
    if (doc_reserved(s, n))
        return 1;
    /* AWS documentation keys and the card networks' published test numbers */
    static const char *const ex[] = {
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "4111111111111111",
        "4242424242424242",     "5555555555554444",  "378282246310005", "4012888888881881",
    };
    /* AWS's documentation marks every key, secret and session token it
       shows so: AKIAI44QH8DHBEXAMPLE, …EXAMPLEKEY, IQoJ…wEXAMPLEtMSJH… */
    if (n >= 16 && memmem(s, n, "EXAMPLE", 7))
        return 1;
    char d[24];
    size_t nd = 0;
    int digits_only = 1;
    for (size_t i = 0; i < n && digits_only; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (nd < sizeof(d))
                d[nd++] = s[i];
        } else if (s[i] != ' ' && s[i] != '-') {
            digits_only = 0;
        }
    }
    for (size_t i = 0; i < SGW_ARRAY_LEN(ex); i++) {
        size_t el = strlen(ex[i]);
        if (el == n && memcmp(ex[i], s, n) == 0)
            return 1;
        if (digits_only && el == nd && memcmp(ex[i], d, nd) == 0)
            return 1;
    }
    return 0;
}
