/*
 * ops.S - one stub per entry of ops.h:
 *   void op_NAME(struct io *p)   p = { a, b, c, flags_in, eax, ecx, edx, flags }
 */
#include "ops.h"

#define X(name, kind, mask, ...)                                             \
    .globl op_##name;                                                        \
op_##name:                                                                   \
    pushl %ebx; pushl %esi;                                                  \
    movl 12(%esp), %esi;                                                     \
    movl 12(%esi), %eax; pushl %eax;                                         \
    movl 0(%esi), %eax; movl 4(%esi), %ecx; movl 8(%esi), %edx;              \
    popfl;                                                                   \
    __VA_ARGS__;                                                             \
    pushfl;                                                                  \
    movl %eax, 16(%esi); movl %ecx, 20(%esi); movl %edx, 24(%esi);           \
    popl %eax; movl %eax, 28(%esi);                                          \
    popl %esi; popl %ebx;                                                    \
    ret;

    .section .text
    .code32
OPS
