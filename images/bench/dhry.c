/* dhry - a Dhrystone-like mix (not the original program): records linked through pointers, record
 * copies, 30-character string copies and comparisons, an enumeration switch, procedure calls with
 * pointer parameters, one- and two-dimensional array updates, integer multiply/divide. */
#include "bench.h"

const char bench_name[] = "dhry";

enum kind { K_IDENT1, K_IDENT2, K_IDENT3, K_IDENT4, K_IDENT5 };

struct record {
    struct record *next;
    enum kind discr, kind;
    int int_comp;
    char str_comp[31];
};

static struct record rec_a, rec_b, *glob;
static int int_glob, arr1[50], arr2[50][50];
static char ch1_glob, ch2_glob, str1[31], str2[31];
static int bool_glob;

static NOINLINE void str_copy(char *d, const char *s) { while ((*d++ = *s++)) ; }
static NOINLINE int str_cmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return (unsigned char)*a - (unsigned char)*b;
}

static NOINLINE enum kind func1(char a, char b) { return a != b ? K_IDENT1 : (ch1_glob = a, K_IDENT2); }

static NOINLINE int func2(const char *a, const char *b)
{
    int i = 2;
    char c = 'A';
    while (i <= 2)
        if (func1(a[i], b[i + 1]) == K_IDENT1) { c = 'A'; i++; }
    if (c >= 'W' && c < 'Z') i = 7;
    if (c == 'R') return 1;
    if (str_cmp(a, b) > 0) { int_glob = i + 7; return 1; }
    return 0;
}

static NOINLINE int func3(enum kind k) { return k == K_IDENT3; }

static NOINLINE void proc6(enum kind in, enum kind *out)
{
    *out = in;
    if (!func3(in)) *out = K_IDENT4;
    switch (in) {
    case K_IDENT1: *out = K_IDENT1; break;
    case K_IDENT2: *out = int_glob > 100 ? K_IDENT1 : K_IDENT4; break;
    case K_IDENT3: *out = K_IDENT2; break;
    case K_IDENT4: break;
    case K_IDENT5: *out = K_IDENT3; break;
    }
}

static NOINLINE void proc7(int a, int b, int *out) { *out = b + a + 2; }

static NOINLINE void proc8(int *a1, int (*a2)[50], int x, int y)
{
    int loc = x + 5;
    a1[loc] = y;
    a1[loc + 1] = a1[loc];
    a1[loc + 30] = loc;
    for (int i = loc; i <= loc + 1; i++) a2[loc][i] = loc;
    a2[loc][loc - 1] += 1;
    a2[loc + 20][loc] = a1[loc];
    int_glob = 5;
}

static NOINLINE void proc3(struct record **p)
{
    if (glob) *p = glob->next;
    proc7(10, int_glob, &glob->int_comp);
}

static NOINLINE void proc1(struct record *p)
{
    struct record *next = p->next;
    *next = *glob;                 /* record copy */
    p->int_comp = 5;
    next->int_comp = p->int_comp;
    next->next = p->next;
    proc3(&next->next);
    if (next->discr == K_IDENT1) {
        next->int_comp = 6;
        proc6(p->kind, &next->kind);
        next->next = glob->next;
        proc7(next->int_comp, 10, &next->int_comp);
    } else {
        *p = *p->next;
    }
}

static NOINLINE void proc2(int *x)
{
    int loc = *x + 10;
    for (;;) {
        if (ch1_glob == 'A') { loc--; *x = loc - int_glob; break; }
        break;
    }
}

u32 bench_run(u32 iterations)
{
    u32 h = 0;
    glob = &rec_a;
    rec_a.next = &rec_b;
    rec_a.discr = K_IDENT1;
    rec_a.kind = K_IDENT3;
    rec_a.int_comp = 40;
    str_copy(rec_a.str_comp, "DHRYSTONE-LIKE PROGRAM, SOME STRING");
    str_copy(str1, "DHRYSTONE-LIKE PROGRAM, 1'ST STRING");
    arr2[8][7] = 10;
    for (u32 it = 0; it < iterations; it++) {
        int i1 = 2, i2 = 3, i3;
        enum kind k;
        ch1_glob = 'A';
        ch2_glob = 'B';
        bool_glob = 0;
        str_copy(str2, (it & 1) ? "DHRYSTONE-LIKE PROGRAM, 2'ND STRING" : "DHRYSTONE-LIKE PROGRAM, 3'RD STRING");
        k = K_IDENT2;
        bool_glob = !func2(str1, str2);
        while (i1 < i2) { i3 = 5 * i1 - i2; proc7(i1, i2, &i3); i1++; }
        proc8(arr1, arr2, i1, i3);
        proc1(glob);
        for (char c = 'A'; c <= ch2_glob; c++)
            if (k == func1(c, 'C')) { proc6(K_IDENT1, &k); str_copy(str2, "DHRYSTONE-LIKE PROGRAM, 3'RD STRING"); i2 = (int)it; int_glob = (int)it; }
        i2 = i2 * i1;
        i1 = i2 / i3;
        i2 = 7 * (i2 - i3) - i1;
        proc2(&i1);
        h = mix32(h, (u32)(i1 * 7 + i2 * 131 + i3) ^ (u32)int_glob ^ (u32)k << 24 ^ (u32)bool_glob << 28);
        h = mix32(h, (u32)glob->int_comp + (u32)rec_b.int_comp * 1000 + (u32)arr1[8] + (u32)arr2[8][7]);
    }
    return h;
}
