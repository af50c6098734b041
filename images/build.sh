#!/usr/bin/env bash
# Build every x86vm test guest into images/build/NAME.elf.
#
# A guest is a directory images/NAME/ containing *.c and/or *.S files; each is
# linked together with images/common/*.{c,S} using images/common/linker.ld
# (multiboot v1 ELF, loaded at 1 MiB).  Only gcc, as and ld are needed.
#
# Usage: images/build.sh [--no-qemu-install] [NAME...]
#   (X86VM_NO_QEMU_INSTALL=1 has the same effect as --no-qemu-install)
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$IMAGES_DIR/build"
COMMON="$IMAGES_DIR/common"

install_qemu=1
[[ "${X86VM_NO_QEMU_INSTALL:-}" == 1 ]] && install_qemu=0
names=()
for arg in "$@"; do
    case "$arg" in
        --no-qemu-install) install_qemu=0 ;;
        -*) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
        *) names+=("$arg") ;;
    esac
done
if [[ ${#names[@]} -eq 0 ]]; then
    for d in "$IMAGES_DIR"/*/; do
        n="$(basename "$d")"
        case "$n" in common|build|expected|linux|bench) continue ;; esac
        names+=("$n")
    done
fi

CC="${CC:-gcc}"
CFLAGS=(-m32 -march=i686 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector -O2
        -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none
        -mgeneral-regs-only -mno-red-zone -Wall -Wextra -Wno-unused-parameter
        -fno-tree-loop-distribute-patterns -I"$COMMON" ${EXTRA_CFLAGS:-})
ASFLAGS=(-m32 -march=i686 -fno-pic -I"$COMMON")
LDFLAGS=(-m elf_i386 -T "$COMMON/linker.ld" -nostdlib -z max-page-size=0x1000 -z noexecstack)
# binutils >= 2.39 warns about the (intentional) RWX load segment; silence it when supported.
if ld --help 2>/dev/null | grep -- '--no-warn-rwx-segments' >/dev/null; then
    LDFLAGS+=(--no-warn-rwx-segments)
fi

mkdir -p "$OUT/obj"

compile() { # src obj
    case "$1" in
        *.c) "$CC" "${CFLAGS[@]}" -c "$1" -o "$2" ;;
        *.S) "$CC" "${ASFLAGS[@]}" -c "$1" -o "$2" ;;
    esac
}

compile_dir() { # dir prefix array: compile dir/*.{c,S} into $OUT/obj/PREFIX_FILE.o, appending each object to the named array
    local -n objs_out="$3"
    local src obj
    for src in "$1"/*.c "$1"/*.S; do
        [[ -e "$src" ]] || continue
        obj="$OUT/obj/${2}_$(basename "$src").o"
        compile "$src" "$obj"
        objs_out+=("$obj")
    done
}

common_objs=()
compile_dir "$COMMON" common common_objs

pids=()
for name in "${names[@]}"; do
    dir="$IMAGES_DIR/$name"
    [[ -d "$dir" ]] || { echo "build.sh: no guest '$name'" >&2; exit 2; }
    (
        objs=()
        compile_dir "$dir" "$name" objs
        ld "${LDFLAGS[@]}" -o "$OUT/$name.elf" "${objs[@]}" "${common_objs[@]}"
    ) &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[[ $rc -eq 0 ]] || { echo "build.sh: guest build failed" >&2; exit 1; }
echo "built ${#names[@]} guests into ${OUT#"$PWD"/}: ${names[*]}"

if [[ $install_qemu -eq 1 ]]; then
    bash "$IMAGES_DIR/install-qemu.sh" || echo "note: could not install qemu (live cross-checks will be skipped)"
fi
printf '%s\n' "$@" | grep -q '^[^-]' || bash "$IMAGES_DIR/linux/build.sh" # all guests: also the Linux guest (Debian packages; cached; offline: a note)
printf '%s\n' "$@" | grep -q '^[^-]' || bash "$IMAGES_DIR/bench/build.sh" # all guests: also the benchmark guests (images/bench/suite.txt)
