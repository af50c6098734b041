#!/usr/bin/env bash
# Make qemu-system-i386 available for the live cross-check in test/guests.test.ts.
# Best effort only: never fails (always exits 0), prints a note instead.
set -uo pipefail

if command -v qemu-system-i386 >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: qemu-system-i386 not found; install qemu-system-x86 to enable live qemu cross-checks"
    exit 0
fi
echo "note: qemu-system-i386 not found; installing qemu-system-x86 with apt-get ..."
if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null; then
    echo "note: installed $(qemu-system-i386 --version | head -n1)"
else
    echo "note: apt-get install qemu-system-x86 failed; live qemu cross-checks will be skipped"
fi
exit 0
