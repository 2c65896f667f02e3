/*
 * Fast non-cryptographic random numbers (xorshift128+), seeded from the
 * kernel once per process: for request ids and balancer choices, never
 * for secrets.
 */

#ifndef BW_RANDOM_H
#define BW_RANDOM_H

uint64_t bw_random(void);

/* uniform in [0, n), n > 0 */
uint64_t bw_random_below(uint64_t n);

#endif
