/*
 * format.h - the one printf engine: kprintf (lib.c, COM1) and the benchmark runtime's bprintf
 * (images/bench/rt/main.c, whose native build runs without lib.c) both hand it their output function.
 * A header of static functions, so every build that includes it has it without linking anything more.
 *
 * Conversions: %s %c %d %u %x %X %%, with an optional '-' (left-justify), '0' (zero-pad) and width;
 * anything else is printed as it stands.
 */
#ifndef FORMAT_H
#define FORMAT_H

#include "lib.h"
#include <stdarg.h>

static void fmt_padded(void (*out)(char), const char *buf, int len, int width, int left, char pad)
{
    if (!left)
        for (int i = len; i < width; i++) out(pad);
    for (int i = 0; i < len; i++) out(buf[i]);
    if (left)
        for (int i = len; i < width; i++) out(' ');
}

static void vformat(void (*out)(char), const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') { out(*fmt); continue; }
        fmt++;
        int left = 0, width = 0;
        char pad = ' ';
        if (*fmt == '-') { left = 1; fmt++; }
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        char buf[16];
        int len = 0;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            fmt_padded(out, s, (int)strlen(s), width, left, ' ');
            break;
        }
        case 'c': buf[0] = (char)va_arg(ap, int); fmt_padded(out, buf, 1, width, left, ' '); break;
        case 'd': case 'u': case 'x': case 'X': {
            u32 v = va_arg(ap, u32);
            int neg = 0;
            u32 base = (*fmt == 'x' || *fmt == 'X') ? 16 : 10;
            const char *digits = (*fmt == 'X') ? "0123456789ABCDEF" : "0123456789abcdef";
            if (*fmt == 'd' && (s32)v < 0) { neg = 1; v = (u32)(-(s32)v); }
            char tmp[16];
            int n = 0;
            do { tmp[n++] = digits[v % base]; v /= base; } while (v);
            if (neg) {
                if (pad == '0') { out('-'); if (width) width--; }
                else tmp[n++] = '-';
            }
            while (n) buf[len++] = tmp[--n];
            fmt_padded(out, buf, len, width, left, pad);
            break;
        }
        case '%': out('%'); break;
        default: out('%'); out(*fmt); break;
        }
    }
}

#endif
