/* Placeholder until the LMDB store lands (issue 2); removed by that change. */
#include "common/sgw.h"
int sto_pending(void);
int sto_pending(void)
{
    return SGW_OK;
}
