#!/usr/bin/env bash
# Build the x86vm Linux guest from Debian's i386 packages only (pins and checksums: versions.env):
#   images/build/linux/vmlinuz            Debian's 686 (non-PAE) kernel, bzImage
#   images/build/linux/initramfs.cpio.gz  busybox-static + /init (this directory) + device nodes
#
# The .debs are downloaded once with `apt-get download` (enabling the i386 architecture and running
# `apt-get update` if needed, as root) into a cache outside the work tree
# (${X86VM_CACHE_DIR:-~/.cache/x86vm}/debian), so later builds work offline. The outputs are rebuilt
# only when an input (this script, init, profile, mkcpio.mjs, versions.env) changes.
# If the packages cannot be had (no network, no apt, not root) this prints a note and exits 0:
# the rest of the build goes on and the Linux tests fail saying the guest is missing.
# A checksum mismatch is an error (exit 1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/../build/linux"
CACHE="${X86VM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/x86vm}/debian"
INPUTS=(build.sh init profile mkcpio.mjs versions.env)

NOTE_EXIT=75 # from inside $(fetch ...): the caller turns it into exit 0
note() {
    echo "images/linux: NOTE: $*; the Linux guest is not built (its tests will fail saying so)" >&2
    [[ $BASH_SUBSHELL -gt 0 ]] && exit $NOTE_EXIT
    exit 0
}
die() { echo "images/linux: ERROR: $*" >&2; exit 1; }

mkdir -p "$OUT"
stamp="$(cd "$HERE" && cat "${INPUTS[@]}" | sha256sum | cut -d' ' -f1)"
if [[ -f "$OUT/vmlinuz" && -f "$OUT/initramfs.cpio.gz" && "$(cat "$OUT/.inputs" 2>/dev/null)" == "$stamp" ]]; then
    echo "images/linux: up to date (images/build/linux)"
    exit 0
fi

# shellcheck source=versions.env
source "$HERE/versions.env"
command -v dpkg-deb >/dev/null || note "dpkg-deb is not installed (a Debian host is needed)"
mkdir -p "$CACHE"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# fetch PKG VERSION SHA256 -> prints the path of the verified .deb in the cache
fetch() {
    local pkg="$1" ver="$2" sum="$3"
    local deb="$CACHE/${pkg}_${ver//:/%3a}_i386.deb"
    if [[ -f "$deb" && "$(sha256 "$deb")" == "$sum" ]]; then echo "$deb"; return; fi
    command -v apt-get >/dev/null || note "apt-get is not available to download $pkg"
    if ! dpkg --print-foreign-architectures | grep -qx i386 && [[ "$(dpkg --print-architecture)" != i386 ]]; then
        [[ $EUID -eq 0 ]] || note "the i386 architecture is not enabled (run as root: dpkg --add-architecture i386 && apt-get update)"
        dpkg --add-architecture i386
        apt-get update >&2 || true
    fi
    if ! apt-cache show "$pkg:i386=$ver" >/dev/null 2>&1; then
        [[ $EUID -eq 0 ]] && { apt-get update >&2 || true; }
        apt-cache show "$pkg:i386=$ver" >/dev/null 2>&1 ||
            note "Debian's package lists have no $pkg:i386=$ver (no network, or the pinned version left the archive: update versions.env from 'apt-cache show $pkg:i386')"
    fi
    local tmp
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get download -o APT::Sandbox::User=root "$pkg:i386=$ver" >&2) ||
        { rm -rf "$tmp"; note "could not download $pkg:i386=$ver from Debian"; }
    local got
    got="$(ls "$tmp"/*.deb)"
    [[ "$(sha256 "$got")" == "$sum" ]] || { rm -rf "$tmp"; die "$pkg $ver: .deb SHA-256 $(sha256 "$got") != pinned $sum"; }
    mv "$got" "$deb"
    rm -rf "$tmp"
    echo "$deb"
}

rc=0
kdeb="$(fetch "$KERNEL_PKG" "$KERNEL_VERSION" "$KERNEL_DEB_SHA256")" || rc=$?
[[ $rc -eq 0 ]] && { bdeb="$(fetch "$BUSYBOX_PKG" "$BUSYBOX_VERSION" "$BUSYBOX_DEB_SHA256")" || rc=$?; }
[[ $rc -eq $NOTE_EXIT ]] && exit 0
[[ $rc -eq 0 ]] || exit $rc

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work" "./$KERNEL_FILE"
dpkg-deb --fsys-tarfile "$bdeb" | tar -x -C "$work" "./$BUSYBOX_FILE"
[[ "$(sha256 "$work/$KERNEL_FILE")" == "$KERNEL_FILE_SHA256" ]] ||
    die "$KERNEL_FILE: SHA-256 $(sha256 "$work/$KERNEL_FILE") != pinned $KERNEL_FILE_SHA256"
[[ "$(sha256 "$work/$BUSYBOX_FILE")" == "$BUSYBOX_FILE_SHA256" ]] ||
    die "$BUSYBOX_FILE: SHA-256 $(sha256 "$work/$BUSYBOX_FILE") != pinned $BUSYBOX_FILE_SHA256"

node "$HERE/mkcpio.mjs" "$work/initramfs.cpio.gz" \
    dir:/bin:755 dir:/sbin:755 dir:/usr:755 dir:/usr/bin:755 dir:/usr/sbin:755 \
    dir:/etc:755 dir:/proc:555 dir:/sys:555 dir:/tmp:1777 dir:/root:700 dir:/dev:755 \
    "file:/bin/busybox:755:$work/$BUSYBOX_FILE" link:/bin/sh:busybox \
    "file:/init:755:$HERE/init" "file:/etc/profile:644:$HERE/profile" \
    char:/dev/console:600:5:1 char:/dev/ttyS0:660:4:64 char:/dev/null:666:1:3 >&2

cp "$work/$KERNEL_FILE" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv "$work/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
printf '%s %s\n%s %s\n' "$KERNEL_PKG" "$KERNEL_VERSION" "$BUSYBOX_PKG" "$BUSYBOX_VERSION" > "$OUT/versions.txt"
echo "$stamp" > "$OUT/.inputs"
echo "images/linux: built images/build/linux/{vmlinuz,initramfs.cpio.gz} ($KERNEL_PKG $KERNEL_VERSION, $BUSYBOX_PKG $BUSYBOX_VERSION)"
