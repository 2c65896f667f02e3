/*
 * Platform includes, base types and return codes. Every file includes
 * this first (through bw_core.h). Linux only: epoll, sendfile,
 * SO_REUSEPORT and accept4 are assumed.
 */

#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <auto_config.h>

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef intptr_t        bw_int_t;
typedef uintptr_t       bw_uint_t;
typedef intptr_t        bw_flag_t;
typedef bw_uint_t       bw_msec_t;
typedef bw_int_t        bw_msec_int_t;
typedef int             bw_err_t;
typedef unsigned char   u_char;

#define BW_OK           0
#define BW_ERROR       -1
#define BW_AGAIN       -2
#define BW_BUSY        -3
#define BW_DONE        -4
#define BW_DECLINED    -5
#define BW_ABORT       -6

#define BW_INT_T_LEN    (sizeof("-9223372036854775808") - 1)
#define BW_MAX_INT_T_VALUE  INTPTR_MAX
#define BW_MAX_OFF_T_VALUE  INT64_MAX

#define BW_ALIGNMENT    sizeof(uintptr_t)
#define bw_align(d, a)  (((d) + ((a) - 1)) & ~((a) - 1))
#define bw_align_ptr(p, a) \
    (u_char *) (((uintptr_t) (p) + ((uintptr_t) (a) - 1)) \
                & ~((uintptr_t) (a) - 1))

#define bw_min(a, b)    ((a) < (b) ? (a) : (b))
#define bw_max(a, b)    ((a) > (b) ? (a) : (b))
#define bw_nelts(a)     (sizeof(a) / sizeof((a)[0]))

/* a switch case that goes on into the next (gcc and clang alike: clang
 * does not take a comment for it) */
#define bw_fallthrough  __attribute__((fallthrough))

#define bw_memzero(p, n)    (void) memset(p, 0, n)
#define bw_cpymem(d, s, n)  (((u_char *) memcpy(d, s, n)) + (n))

#define BW_LF   (u_char) '\n'
#define BW_CR   (u_char) '\r'
#define BW_CRLF "\r\n"

#define bw_likely(x)    __builtin_expect(!!(x), 1)
#define bw_unlikely(x)  __builtin_expect(!!(x), 0)

/* Unbounded string functions are not allowed anywhere in the tree. */
#pragma GCC poison strcpy strcat sprintf gets vsprintf

#endif /* BW_CONFIG_H */
