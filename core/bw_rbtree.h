/* Red-black tree with a sentinel, keyed by an unsigned integer. */

#ifndef BW_RBTREE_H
#define BW_RBTREE_H

typedef bw_uint_t  bw_rbtree_key_t;
typedef bw_int_t   bw_rbtree_key_int_t;

typedef struct bw_rbtree_node_s  bw_rbtree_node_t;

struct bw_rbtree_node_s {
    bw_rbtree_key_t     key;
    bw_rbtree_node_t   *left;
    bw_rbtree_node_t   *right;
    bw_rbtree_node_t   *parent;
    u_char              color;
    u_char              data;
};

typedef struct bw_rbtree_s  bw_rbtree_t;

typedef void (*bw_rbtree_insert_pt)(bw_rbtree_node_t *root,
    bw_rbtree_node_t *node, bw_rbtree_node_t *sentinel);

struct bw_rbtree_s {
    bw_rbtree_node_t     *root;
    bw_rbtree_node_t     *sentinel;
    bw_rbtree_insert_pt   insert;
};

#define bw_rbtree_init(tree, s, i) \
    bw_rbtree_sentinel_init(s); (tree)->root = s; (tree)->sentinel = s; \
    (tree)->insert = i

#define bw_rbt_red(node)        ((node)->color = 1)
#define bw_rbt_black(node)      ((node)->color = 0)
#define bw_rbt_is_red(node)     ((node)->color)
#define bw_rbt_is_black(node)   (!bw_rbt_is_red(node))
#define bw_rbt_copy_color(n1, n2) (n1->color = n2->color)
#define bw_rbtree_sentinel_init(node)  bw_rbt_black(node)

void bw_rbtree_insert(bw_rbtree_t *tree, bw_rbtree_node_t *node);
void bw_rbtree_delete(bw_rbtree_t *tree, bw_rbtree_node_t *node);
void bw_rbtree_insert_value(bw_rbtree_node_t *root, bw_rbtree_node_t *node,
    bw_rbtree_node_t *sentinel);
/* For keys that wrap around (timers): compares differences. */
void bw_rbtree_insert_timer_value(bw_rbtree_node_t *root,
    bw_rbtree_node_t *node, bw_rbtree_node_t *sentinel);
bw_rbtree_node_t *bw_rbtree_next(bw_rbtree_t *tree, bw_rbtree_node_t *node);

/*
 * A node keyed by a string (shared zones' entries: limit_req buckets,
 * limit_conn counters): ordered by the string's hash, then by its bytes,
 * so that a lookup never scans on a collision. data points into the
 * owner's allocation.
 */
typedef struct {
    bw_rbtree_node_t    node;
    bw_str_t            str;
} bw_str_node_t;

void bw_str_rbtree_insert_value(bw_rbtree_node_t *temp,
    bw_rbtree_node_t *node, bw_rbtree_node_t *sentinel);
bw_str_node_t *bw_str_rbtree_lookup(bw_rbtree_t *rbtree, bw_str_t *name,
    bw_uint_t hash);

static inline bw_rbtree_node_t *
bw_rbtree_min(bw_rbtree_node_t *node, bw_rbtree_node_t *sentinel)
{
    while (node->left != sentinel) {
        node = node->left;
    }
    return node;
}

#endif
