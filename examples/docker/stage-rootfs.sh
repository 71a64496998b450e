#!/usr/bin/env bash
# Stages the root filesystem of the node agent's image from THIS machine, so the image builds with
# no registry and no download (`FROM scratch` + `COPY rootfs/ /`, see Dockerfile):
#   - the host's Node.js (`command -v node`), iproute2's `ip` (the agent configures its TUN device
#     and routes with it) and busybox (sh, ping, wget, httpd, nc for trying the overlay), each with
#     the shared libraries ldd names and the dynamic loader;
#   - the project at /opt/flannelette: package.json, bin/, dist/src/ (run `npm run build` first), the
#     native addon build/Release/{flannelette.node,flt-shim} and the production dependencies of
#     node_modules (`npm ls --omit=dev`), node-pty without its other platforms' prebuilds.
# Usage: examples/docker/stage-rootfs.sh [OUT]   (OUT default: examples/docker/rootfs, replaced)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/rootfs}

die() { echo "stage-rootfs: $*" >&2; exit 1; }
[ -f "$root/dist/src/cli/node-main.js" ] || die "no dist/ in $root: run npm run build first"
[ -f "$root/build/Release/flannelette.node" ] || die "no native addon in $root/build/Release: run npm install"
for tool in node ip busybox ldd; do command -v "$tool" >/dev/null || die "no \`$tool\` on this machine"; done

rm -rf "$out"
mkdir -p "$out"/{bin,usr/bin,usr/local/bin,etc/flannelette,tmp,run,proc,sys,dev,opt/flannelette}
chmod 1777 "$out/tmp"

# copy_with_libs FILE [DEST]: FILE at DEST (default its own path) and every library ldd lists
copy_with_libs() {
  local src dest lib
  src=$(readlink -f "$1")
  dest=${2:-$src}
  mkdir -p "$out$(dirname "$dest")"
  cp -L "$src" "$out$dest"
  for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [ -e "$out$lib" ] && continue
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
}

copy_with_libs "$(command -v node)" /usr/bin/node
copy_with_libs "$(command -v ip)" /usr/bin/ip
copy_with_libs "$(command -v busybox)" /bin/busybox
for applet in sh env ping wget httpd nc sleep cat ls echo mkdir hostname ps kill head grep; do
  ln -sf busybox "$out/bin/$applet"
done
ln -sf ../../bin/env "$out/usr/bin/env"

app=$out/opt/flannelette
cp "$root/package.json" "$app/"
cp -r "$root/bin" "$app/bin"
mkdir -p "$app/dist" "$app/build/Release"
cp -r "$root/dist/src" "$app/dist/src"
for f in flannelette.node flt-shim; do
  [ -e "$root/build/Release/$f" ] && copy_with_libs "$root/build/Release/$f" "/opt/flannelette/build/Release/$f"
done
(cd "$root" && npm ls --omit=dev --all --parseable 2>/dev/null) | while read -r dir; do
  [ "$dir" = "$root" ] && continue
  rel=${dir#"$root"/}
  [ -d "$app/$rel" ] && continue
  mkdir -p "$app/$(dirname "$rel")"
  cp -r "$dir" "$app/$rel"
done
if [ -d "$app/node_modules/node-pty" ]; then
  rm -rf "$app/node_modules/node-pty"/{deps,third_party,src}
  find "$app/node_modules/node-pty/prebuilds" -mindepth 1 -maxdepth 1 ! -name "linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')" \
    -exec rm -rf {} + 2>/dev/null || true
fi
ln -sf /opt/flannelette/bin/flannelette.js "$out/usr/local/bin/flannelette"
echo "root:x:0:0:root:/root:/bin/sh" > "$out/etc/passwd"
echo "root:x:0:" > "$out/etc/group"
echo "stage-rootfs: $(du -sh "$out" | cut -f1) in $out"
