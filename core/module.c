/* The module table: numbering and per-type slots. */

#include <bw_core.h>

bw_uint_t  bw_modules_n;

void
bw_preinit_modules(void)
{
    bw_uint_t  i;

    for (i = 0; bw_modules[i]; i++) {
        bw_modules[i]->index = i;
        bw_modules[i]->name = bw_module_names[i];
    }
    bw_modules_n = i;
}

bw_uint_t
bw_count_modules(bw_uint_t type)
{
    bw_uint_t  i, n;

    for (i = 0, n = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->type == type) {
            bw_modules[i]->ctx_index = n++;
        }
    }
    return n;
}

bw_int_t
bw_init_modules(bw_cycle_t *cycle)
{
    bw_uint_t  i;

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->init_module
            && bw_modules[i]->init_module(cycle) != BW_OK)
        {
            return BW_ERROR;
        }
    }
    return BW_OK;
}
