/* classifiers/decode_later.c — decoders that land in the next commits; until
 * then their content is refused (fail closed), never passed uninspected. */
#include "classifiers/decode_internal.h"

int dec_new_cbor(struct dec_env *env, unsigned nest, struct dec **out)
{
    return dec_new_reject(env, nest, "CBOR content not inspectable", out);
}
