/*
 * Shared memory zones. The master maps each zone before it forks, so
 * every worker sees the same memory. A reload keeps a zone (and its
 * contents) when the name, owner and size are unchanged, unless its
 * owner asks for a fresh one each time (noreuse: upstream zones, whose
 * contents are rebuilt from the configuration).
 */

#include <bw_core.h>

bw_shm_zone_t *
bw_shared_memory_add(bw_conf_t *cf, bw_str_t *name, size_t size, void *tag)
{
    bw_uint_t        i;
    bw_shm_zone_t   *zone;
    bw_list_part_t  *part;

    part = &cf->cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (!bw_str_eq(name, &zone[i].name)) {
            continue;
        }
        if (tag != zone[i].tag) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "the shared memory zone \"%.*s\" is "
                              "already declared for a different use",
                              (int) name->len, name->data);
            return NULL;
        }
        if (size && zone[i].size && size != zone[i].size) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "the size %zu of shared memory zone \"%.*s\" "
                              "conflicts with already declared size %zu",
                              size, (int) name->len, name->data,
                              zone[i].size);
            return NULL;
        }
        if (zone[i].size == 0) {
            zone[i].size = size;
        }
        return &zone[i];
    }

    zone = bw_list_push(&cf->cycle->shared_memory);
    if (zone == NULL) {
        return NULL;
    }

    bw_memzero(zone, sizeof(bw_shm_zone_t));
    zone->name = *name;
    zone->size = size;
    zone->tag = tag;
    return zone;
}

/* The zone of the cycle named name that tag (a module) owns, if any. */
bw_shm_zone_t *
bw_shared_memory_find(bw_cycle_t *cycle, bw_str_t *name, void *tag)
{
    bw_uint_t        i;
    bw_shm_zone_t   *zone;
    bw_list_part_t  *part;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }
        if (zone[i].tag == tag && bw_str_eq(&zone[i].name, name)) {
            return &zone[i];
        }
    }
}

/*
 * "zone=NAME:SIZE" of a directive that declares a zone (limit_req_zone,
 * limit_conn_zone, ...), with nginx's messages: a zone holds at least
 * eight pages.
 */
bw_int_t
bw_shm_zone_param(bw_conf_t *cf, bw_str_t *arg, bw_str_t *name,
    size_t *size)
{
    u_char    *p;
    ssize_t    n;
    bw_str_t   s;

    if (arg->len <= 5 || memcmp(arg->data, "zone=", 5) != 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) arg->len, arg->data);
        return BW_ERROR;
    }

    name->data = arg->data + 5;
    p = (u_char *) memchr(name->data, ':', arg->len - 5);
    if (p == NULL || p == name->data) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid zone size \"%.*s\"",
                          (int) arg->len, arg->data);
        return BW_ERROR;
    }
    name->len = p - name->data;

    s.data = p + 1;
    s.len = arg->data + arg->len - s.data;
    n = bw_parse_size(&s);
    if (n == BW_ERROR) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid zone size \"%.*s\"",
                          (int) arg->len, arg->data);
        return BW_ERROR;
    }
    if (n < (ssize_t) (8 * BW_SLAB_PAGE_SIZE)) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "zone \"%.*s\" is too small",
                          (int) arg->len, arg->data);
        return BW_ERROR;
    }

    *size = (size_t) n;
    return BW_OK;
}

static bw_shm_zone_t *
bw_shm_find(bw_cycle_t *cycle, bw_shm_zone_t *z)
{
    bw_uint_t        i;
    bw_shm_zone_t   *zone;
    bw_list_part_t  *part;

    if (cycle->shared_memory.part.elts == NULL) {
        return NULL;
    }

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }
        if (zone[i].addr && zone[i].tag == z->tag
            && zone[i].size == z->size && bw_str_eq(&zone[i].name, &z->name))
        {
            return &zone[i];
        }
    }
}

bw_int_t
bw_shm_init_cycle(bw_cycle_t *cycle, bw_cycle_t *old_cycle)
{
    bw_uint_t        i;
    bw_shm_zone_t   *zone, *old;
    bw_list_part_t  *part;
    void            *addr;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].size == 0) {
            bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                         "zero size shared memory zone \"%.*s\"",
                         (int) zone[i].name.len, zone[i].name.data);
            return BW_ERROR;
        }

        old = zone[i].noreuse ? NULL : bw_shm_find(old_cycle, &zone[i]);
        if (old) {
            zone[i].addr = old->addr;
            zone[i].reused = 1;
            if (zone[i].init && zone[i].init(&zone[i], old->data) != BW_OK) {
                return BW_ERROR;
            }
            continue;
        }

        addr = mmap(NULL, zone[i].size, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_SHARED, -1, 0);
        if (addr == MAP_FAILED) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "mmap(MAP_ANON|MAP_SHARED, %zu) failed",
                         zone[i].size);
            return BW_ERROR;
        }
        zone[i].addr = addr;

        if (bw_slab_init((bw_slab_pool_t *) addr, zone[i].size) != BW_OK) {
            bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                         "shared zone \"%.*s\" is too small",
                         (int) zone[i].name.len, zone[i].name.data);
            return BW_ERROR;
        }

        if (zone[i].init && zone[i].init(&zone[i], NULL) != BW_OK) {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static bw_uint_t
bw_shm_maps(bw_cycle_t *cycle, u_char *addr)
{
    bw_uint_t        i;
    bw_shm_zone_t   *zone;
    bw_list_part_t  *part;

    if (cycle->shared_memory.part.elts == NULL) {
        return 0;
    }

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }
        if (zone[i].addr == addr) {
            return 1;
        }
    }
}

void
bw_shm_release_unused(bw_cycle_t *cycle, bw_cycle_t **keep, bw_uint_t n)
{
    bw_uint_t        i, k;
    bw_shm_zone_t   *zone;
    bw_list_part_t  *part;

    if (cycle->shared_memory.part.elts == NULL) {
        return;
    }

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }
        if (zone[i].addr == NULL) {
            continue;
        }
        for (k = 0; k < n; k++) {
            if (bw_shm_maps(keep[k], zone[i].addr)) {
                break;
            }
        }
        if (k == n) {
            munmap(zone[i].addr, zone[i].size);
        }
        /* this cycle is done with it either way */
        zone[i].addr = NULL;
    }
}

/* After a successful load: unmap old zones the new cycle did not keep. */
void
bw_shm_release_old(bw_cycle_t *cycle, bw_cycle_t *old_cycle)
{
    bw_shm_release_unused(old_cycle, &cycle, 1);
}

/* After a failed load: unmap the zones this cycle created. */
void
bw_shm_release_new(bw_cycle_t *cycle, bw_cycle_t *old_cycle)
{
    bw_shm_release_unused(cycle, &old_cycle, 1);
}
