/*
 * One generator per process. The seed is drawn again after a fork
 * (bw_pid changes in the child), so that workers do not share a
 * sequence.
 */

#include <bw_core.h>

static uint64_t  bw_random_state[2];
static pid_t     bw_random_pid = -1;

static void
bw_random_seed(void)
{
    if (getentropy(bw_random_state, sizeof(bw_random_state)) != 0
        || (bw_random_state[0] | bw_random_state[1]) == 0)
    {
        bw_random_state[0] = (uint64_t) bw_current_msec
                             ^ ((uint64_t) getpid() << 32);
        bw_random_state[1] = (uint64_t) (uintptr_t) &bw_random_state
                             ^ 0x9e3779b97f4a7c15ULL;
    }
    bw_random_pid = bw_pid;
}

uint64_t
bw_random(void)
{
    uint64_t  x, y;

    if (bw_random_pid != bw_pid) {
        bw_random_seed();
    }

    x = bw_random_state[0];
    y = bw_random_state[1];
    bw_random_state[0] = y;
    x ^= x << 23;
    bw_random_state[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return bw_random_state[1] + y;
}

uint64_t
bw_random_below(uint64_t n)
{
    uint64_t  x, limit;

    /* reject the top sliver so that every value is equally likely */
    limit = UINT64_MAX - UINT64_MAX % n;
    do {
        x = bw_random();
    } while (x >= limit);

    return x % n;
}
