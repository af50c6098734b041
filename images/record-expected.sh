#!/usr/bin/env bash
# Re-record the reference output of every guest (or of the named ones) by
# running it under the real oracle, qemu-system-i386:
#   images/expected/NAME.txt   serial output (COM1), byte for byte
#   images/expected/NAME.exit  qemu's exit status: (value written to port 0xF4) << 1 | 1
#
# Usage: images/record-expected.sh [NAME...]
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v qemu-system-i386 >/dev/null || { echo "qemu-system-i386 not found (run images/install-qemu.sh)" >&2; exit 1; }

bash "$IMAGES_DIR/build.sh" --no-qemu-install "$@"
mkdir -p "$IMAGES_DIR/expected"

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for f in "$IMAGES_DIR"/build/*.elf; do names+=("$(basename "$f" .elf)"); done
fi

for name in "${names[@]}"; do
    start=$(date +%s.%N)
    set +e
    timeout 60 qemu-system-i386 -kernel "$IMAGES_DIR/build/$name.elf" -m 64 -display none -monitor none \
        -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        </dev/null >"$IMAGES_DIR/expected/$name.txt"
    rc=$?
    set -e
    end=$(date +%s.%N)
    echo "$rc" >"$IMAGES_DIR/expected/$name.exit"
    printf '%-12s exit=%-3s %5.2fs  %s lines\n' "$name" "$rc" "$(awk "BEGIN{print $end - $start}")" "$(wc -l <"$IMAGES_DIR/expected/$name.txt")"
    if [[ $rc -ne 1 ]]; then echo "  warning: $name did not exit with success (1)" >&2; fi
done
