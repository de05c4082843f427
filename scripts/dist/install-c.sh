#!/usr/bin/env bash
# install-c.sh LIBDIR PREFIX [THIRD_PARTY_LICENSES [musl]]: installs libveritoken from a cargo
# output directory (holding libveritoken.a and libveritoken.so) into PREFIX: the layout of
# the C SDK tarball and of `make install PREFIX=...`:
#   include/veritoken.h
#   lib/libveritoken.a                      static, debug info stripped (the default link)
#   lib/libveritoken_static.a               a link to it: the name veritoken.pc gives -l
#   lib/libveritoken.so.<abi> (+ .so link)  shared, SONAME libveritoken.so.<abi>
#   lib/pkgconfig/veritoken.pc              static: -lveritoken_static
#   lib/pkgconfig/veritoken-shared.pc       shared, with an rpath to lib/
#   share/doc/veritoken/{LICENSE,examples/verify.c}
#   share/doc/veritoken/THIRD_PARTY_LICENSES (given by make dist: the crates compiled in)
# The .pc files are relocatable (${pcfiledir}): the tree can be moved or untarred anywhere.
# With `musl`, the static link also names libgcc_eh.a, which holds the unwinder Rust's
# panics need there (on glibc it comes with the default link).
set -euo pipefail
cd "$(dirname "$0")/../.."
from=$1 prefix=$2 third_party=${3:-} libc=${4:-gnu}
VERSION=$(sed -n '/^version = /{s/^version = "\(.*\)"/\1/p;q;}' Cargo.toml)
major=${VERSION%%.*} rest=${VERSION#*.} minor=${VERSION#*.}; minor=${minor%%.*}
# 0.x releases may break at the minor version, so the ABI version is 0.<minor> there.
abi=$([ "$major" = 0 ] && echo "0.$minor" || echo "$major")
soname=libveritoken.so.$abi
: "$rest"

mkdir -p "$prefix"/{include,lib/pkgconfig,share/doc/veritoken/examples}
install -m 644 bindings-c/include/veritoken.h "$prefix/include/"
install -m 644 "$from/libveritoken.a" "$prefix/lib/"
strip --strip-debug "$prefix/lib/libveritoken.a"
ln -sf libveritoken.a "$prefix/lib/libveritoken_static.a"
install -m 755 "$from/libveritoken.so" "$prefix/lib/libveritoken.so.$VERSION"
patchelf --set-soname "$soname" "$prefix/lib/libveritoken.so.$VERSION"
ln -sf "libveritoken.so.$VERSION" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/libveritoken.so"
sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e "s|@VERSION@|$VERSION|" bindings-c/veritoken.pc.in > "$prefix/lib/pkgconfig/veritoken.pc"
[ "$libc" = gnu ] || sed -i 's|^Libs: \(.*\)|Libs: \1 -lgcc_eh|' "$prefix/lib/pkgconfig/veritoken.pc"
sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e "s|@VERSION@|$VERSION|" bindings-c/veritoken-shared.pc.in > "$prefix/lib/pkgconfig/veritoken-shared.pc"
install -m 644 LICENSE "$prefix/share/doc/veritoken/"
[ -z "$third_party" ] || install -m 644 "$third_party" "$prefix/share/doc/veritoken/THIRD_PARTY_LICENSES"
install -m 644 bindings-c/examples/verify.c "$prefix/share/doc/veritoken/examples/"
echo "installed libveritoken $VERSION into $prefix"
