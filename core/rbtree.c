/*
 * Red-black tree (CLRS), used for timers and later for shared-memory
 * indexes. Nodes are embedded in their owners; nothing here allocates.
 */

#include <bw_core.h>

static inline void bw_rbtree_left_rotate(bw_rbtree_node_t **root,
    bw_rbtree_node_t *sentinel, bw_rbtree_node_t *node);
static inline void bw_rbtree_right_rotate(bw_rbtree_node_t **root,
    bw_rbtree_node_t *sentinel, bw_rbtree_node_t *node);

void
bw_rbtree_insert(bw_rbtree_t *tree, bw_rbtree_node_t *node)
{
    bw_rbtree_node_t  **root, *temp, *sentinel;

    root = &tree->root;
    sentinel = tree->sentinel;

    if (*root == sentinel) {
        node->parent = NULL;
        node->left = sentinel;
        node->right = sentinel;
        bw_rbt_black(node);
        *root = node;
        return;
    }

    tree->insert(*root, node, sentinel);

    while (node != *root && bw_rbt_is_red(node->parent)) {

        if (node->parent == node->parent->parent->left) {
            temp = node->parent->parent->right;

            if (bw_rbt_is_red(temp)) {
                bw_rbt_black(node->parent);
                bw_rbt_black(temp);
                bw_rbt_red(node->parent->parent);
                node = node->parent->parent;

            } else {
                if (node == node->parent->right) {
                    node = node->parent;
                    bw_rbtree_left_rotate(root, sentinel, node);
                }
                bw_rbt_black(node->parent);
                bw_rbt_red(node->parent->parent);
                bw_rbtree_right_rotate(root, sentinel, node->parent->parent);
            }

        } else {
            temp = node->parent->parent->left;

            if (bw_rbt_is_red(temp)) {
                bw_rbt_black(node->parent);
                bw_rbt_black(temp);
                bw_rbt_red(node->parent->parent);
                node = node->parent->parent;

            } else {
                if (node == node->parent->left) {
                    node = node->parent;
                    bw_rbtree_right_rotate(root, sentinel, node);
                }
                bw_rbt_black(node->parent);
                bw_rbt_red(node->parent->parent);
                bw_rbtree_left_rotate(root, sentinel, node->parent->parent);
            }
        }
    }

    bw_rbt_black(*root);
}

void
bw_rbtree_insert_value(bw_rbtree_node_t *temp, bw_rbtree_node_t *node,
    bw_rbtree_node_t *sentinel)
{
    bw_rbtree_node_t  **p;

    for ( ;; ) {
        p = (node->key < temp->key) ? &temp->left : &temp->right;
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    bw_rbt_red(node);
}

static bw_int_t
bw_str_node_cmp(bw_str_t *a, bw_str_t *b)
{
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    return memcmp(a->data, b->data, a->len);
}

void
bw_str_rbtree_insert_value(bw_rbtree_node_t *temp, bw_rbtree_node_t *node,
    bw_rbtree_node_t *sentinel)
{
    bw_str_node_t      *n, *t;
    bw_rbtree_node_t  **p;

    n = (bw_str_node_t *) node;

    for ( ;; ) {
        t = (bw_str_node_t *) temp;

        if (node->key != temp->key) {
            p = node->key < temp->key ? &temp->left : &temp->right;
        } else {
            p = bw_str_node_cmp(&n->str, &t->str) < 0 ? &temp->left
                                                       : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    bw_rbt_red(node);
}

bw_str_node_t *
bw_str_rbtree_lookup(bw_rbtree_t *rbtree, bw_str_t *val, bw_uint_t hash)
{
    bw_int_t           rc;
    bw_str_node_t     *n;
    bw_rbtree_node_t  *node, *sentinel;

    node = rbtree->root;
    sentinel = rbtree->sentinel;

    while (node != sentinel) {
        if (hash != node->key) {
            node = hash < node->key ? node->left : node->right;
            continue;
        }

        n = (bw_str_node_t *) node;
        rc = bw_str_node_cmp(val, &n->str);
        if (rc == 0) {
            return n;
        }
        node = rc < 0 ? node->left : node->right;
    }

    return NULL;
}

void
bw_rbtree_insert_timer_value(bw_rbtree_node_t *temp, bw_rbtree_node_t *node,
    bw_rbtree_node_t *sentinel)
{
    bw_rbtree_node_t  **p;

    for ( ;; ) {
        p = ((bw_rbtree_key_int_t) (node->key - temp->key) < 0)
            ? &temp->left : &temp->right;
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    bw_rbt_red(node);
}

void
bw_rbtree_delete(bw_rbtree_t *tree, bw_rbtree_node_t *node)
{
    bw_uint_t           red;
    bw_rbtree_node_t  **root, *sentinel, *subst, *temp, *w;

    root = &tree->root;
    sentinel = tree->sentinel;

    if (node->left == sentinel) {
        temp = node->right;
        subst = node;

    } else if (node->right == sentinel) {
        temp = node->left;
        subst = node;

    } else {
        subst = bw_rbtree_min(node->right, sentinel);
        temp = subst->right;
    }

    if (subst == *root) {
        *root = temp;
        bw_rbt_black(temp);
        node->left = NULL;
        node->right = NULL;
        node->parent = NULL;
        node->key = 0;
        return;
    }

    red = bw_rbt_is_red(subst);

    if (subst == subst->parent->left) {
        subst->parent->left = temp;
    } else {
        subst->parent->right = temp;
    }

    if (subst == node) {
        temp->parent = subst->parent;

    } else {
        if (subst->parent == node) {
            temp->parent = subst;
        } else {
            temp->parent = subst->parent;
        }

        subst->left = node->left;
        subst->right = node->right;
        subst->parent = node->parent;
        bw_rbt_copy_color(subst, node);

        if (node == *root) {
            *root = subst;
        } else if (node == node->parent->left) {
            node->parent->left = subst;
        } else {
            node->parent->right = subst;
        }

        if (subst->left != sentinel) {
            subst->left->parent = subst;
        }
        if (subst->right != sentinel) {
            subst->right->parent = subst;
        }
    }

    node->left = NULL;
    node->right = NULL;
    node->parent = NULL;
    node->key = 0;

    if (red) {
        return;
    }

    while (temp != *root && bw_rbt_is_black(temp)) {

        if (temp == temp->parent->left) {
            w = temp->parent->right;

            if (bw_rbt_is_red(w)) {
                bw_rbt_black(w);
                bw_rbt_red(temp->parent);
                bw_rbtree_left_rotate(root, sentinel, temp->parent);
                w = temp->parent->right;
            }

            if (bw_rbt_is_black(w->left) && bw_rbt_is_black(w->right)) {
                bw_rbt_red(w);
                temp = temp->parent;

            } else {
                if (bw_rbt_is_black(w->right)) {
                    bw_rbt_black(w->left);
                    bw_rbt_red(w);
                    bw_rbtree_right_rotate(root, sentinel, w);
                    w = temp->parent->right;
                }
                bw_rbt_copy_color(w, temp->parent);
                bw_rbt_black(temp->parent);
                bw_rbt_black(w->right);
                bw_rbtree_left_rotate(root, sentinel, temp->parent);
                temp = *root;
            }

        } else {
            w = temp->parent->left;

            if (bw_rbt_is_red(w)) {
                bw_rbt_black(w);
                bw_rbt_red(temp->parent);
                bw_rbtree_right_rotate(root, sentinel, temp->parent);
                w = temp->parent->left;
            }

            if (bw_rbt_is_black(w->left) && bw_rbt_is_black(w->right)) {
                bw_rbt_red(w);
                temp = temp->parent;

            } else {
                if (bw_rbt_is_black(w->left)) {
                    bw_rbt_black(w->right);
                    bw_rbt_red(w);
                    bw_rbtree_left_rotate(root, sentinel, w);
                    w = temp->parent->left;
                }
                bw_rbt_copy_color(w, temp->parent);
                bw_rbt_black(temp->parent);
                bw_rbt_black(w->left);
                bw_rbtree_right_rotate(root, sentinel, temp->parent);
                temp = *root;
            }
        }
    }

    bw_rbt_black(temp);
}

static inline void
bw_rbtree_left_rotate(bw_rbtree_node_t **root, bw_rbtree_node_t *sentinel,
    bw_rbtree_node_t *node)
{
    bw_rbtree_node_t  *temp;

    temp = node->right;
    node->right = temp->left;

    if (temp->left != sentinel) {
        temp->left->parent = node;
    }

    temp->parent = node->parent;

    if (node == *root) {
        *root = temp;
    } else if (node == node->parent->left) {
        node->parent->left = temp;
    } else {
        node->parent->right = temp;
    }

    temp->left = node;
    node->parent = temp;
}

static inline void
bw_rbtree_right_rotate(bw_rbtree_node_t **root, bw_rbtree_node_t *sentinel,
    bw_rbtree_node_t *node)
{
    bw_rbtree_node_t  *temp;

    temp = node->left;
    node->left = temp->right;

    if (temp->right != sentinel) {
        temp->right->parent = node;
    }

    temp->parent = node->parent;

    if (node == *root) {
        *root = temp;
    } else if (node == node->parent->right) {
        node->parent->right = temp;
    } else {
        node->parent->left = temp;
    }

    temp->right = node;
    node->parent = temp;
}

bw_rbtree_node_t *
bw_rbtree_next(bw_rbtree_t *tree, bw_rbtree_node_t *node)
{
    bw_rbtree_node_t  *root, *sentinel, *parent;

    sentinel = tree->sentinel;

    if (node->right != sentinel) {
        return bw_rbtree_min(node->right, sentinel);
    }

    root = tree->root;

    for ( ;; ) {
        parent = node->parent;
        if (node == root) {
            return NULL;
        }
        if (node == parent->left) {
            return parent;
        }
        node = parent;
    }
}
