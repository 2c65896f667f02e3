/* Shared memory zones, mapped by the master before fork. */

#ifndef BW_SHM_H
#define BW_SHM_H

typedef bw_int_t (*bw_shm_zone_init_pt)(bw_shm_zone_t *zone, void *data);

struct bw_shm_zone_s {
    void                  *data;    /* the owner's state in the zone */
    bw_str_t               name;
    size_t                 size;
    u_char                *addr;
    void                  *tag;     /* the owning module */
    bw_shm_zone_init_pt    init;
    unsigned               reused:1;
    unsigned               noreuse:1;   /* fresh on every reload */
};

bw_shm_zone_t *bw_shared_memory_add(bw_conf_t *cf, bw_str_t *name,
    size_t size, void *tag);
bw_shm_zone_t *bw_shared_memory_find(bw_cycle_t *cycle, bw_str_t *name,
    void *tag);
bw_int_t bw_shm_zone_param(bw_conf_t *cf, bw_str_t *arg, bw_str_t *name,
    size_t *size);
bw_int_t bw_shm_init_cycle(bw_cycle_t *cycle, bw_cycle_t *old_cycle);
/* Unmap the zones of cycle that none of the n cycles in keep maps. */
void bw_shm_release_unused(bw_cycle_t *cycle, bw_cycle_t **keep,
    bw_uint_t n);
void bw_shm_release_old(bw_cycle_t *cycle, bw_cycle_t *old_cycle);
void bw_shm_release_new(bw_cycle_t *cycle, bw_cycle_t *old_cycle);

#endif
