/* rules/default_policy.c — the embedded default policy. Must stay byte-identical
 * to rules/default-policy.yaml (tests/unit/rules/test_policy.c checks it). */
#include "rules/rules.h"

static const char k_default_policy[] =
    "# sovgw embedded default policy: deny everything except the documentation\n"
    "# example (example.com and its subdomains on ports 80 and 443).\n"
    "# Replace it with your own: sovgw policy compile FILE --store DIR\n"
    "version: 1\n"
    "defaults: { action: deny }\n"
    "rules:\n"
    "  - id: allow-example\n"
    "    description: the README's example destination\n"
    "    match:\n"
    "      host: [example.com, \"*.example.com\"]\n"
    "      port: [80, 443]\n"
    "    action: allow\n";

const char *rl_default_policy(void)
{
    return k_default_policy;
}
