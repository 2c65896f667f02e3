/*
 * The module interface (DESIGN.md): a compile-time table of modules,
 * written by ./configure into objs/modules.c.
 */

#ifndef BW_MODULE_H
#define BW_MODULE_H

#define BW_CORE_MODULE   1
#define BW_CONF_MODULE   2
#define BW_EVENT_MODULE  3
#define BW_HTTP_MODULE   4

struct bw_module_s {
    bw_uint_t        index;
    bw_uint_t        ctx_index;
    const char      *name;
    bw_uint_t        type;
    void            *ctx;
    bw_command_t    *commands;
    bw_int_t       (*init_module)(bw_cycle_t *cycle);
    bw_int_t       (*init_worker)(bw_cycle_t *cycle);
    void           (*exit_worker)(bw_cycle_t *cycle);
    void           (*exit_master)(bw_cycle_t *cycle);
};

/* Fields a module definition leaves to bw_preinit_modules(). */
#define BW_MODULE_V1   0, 0, NULL

typedef struct {
    bw_str_t     name;
    void      *(*create_conf)(bw_cycle_t *cycle);
    char      *(*init_conf)(bw_cycle_t *cycle, void *conf);
} bw_core_module_t;

extern bw_module_t  *bw_modules[];
extern const char   *bw_module_names[];
extern const char   *bw_built_modules;
extern const char   *bw_configure_args;
extern const char   *bw_configure_prefix;
extern bw_uint_t     bw_modules_n;

void bw_preinit_modules(void);
bw_uint_t bw_count_modules(bw_uint_t type);
bw_int_t bw_init_modules(bw_cycle_t *cycle);

#define bw_get_conf(conf_ctx, module)  (conf_ctx)[(module).index]

#endif
