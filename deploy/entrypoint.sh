#!/bin/sh
# The container's entry point: give the runner a writable cgroup tree, then become `corral`.
#
# The runner puts each worker in a cgroup of its own (memory and pids). Docker mounts the
# container's cgroup tree read-only; as root with CAP_SYS_ADMIN it can be remounted read-write.
# That is done only inside a private cgroup namespace (every line of /proc/self/cgroup ends in
# ":/"), where the tree seen is the container's own and never the host's. Whatever this cannot
# do, the runner's probe finds, and a strict runner (the image's default) refuses to start.
set -eu
PROC="${CORRAL_PROC:-/proc}"

private_cgroup_namespace() {
    [ -r "$PROC/self/cgroup" ] && ! grep -qv ':/$' "$PROC/self/cgroup"
}

read_only_cgroup_mounts() {
    awk '$3 ~ /^cgroup/ && $4 ~ /(^|,)ro(,|$)/ { print $2 }' "$PROC/self/mounts"
}

if [ "$(id -u)" = 0 ] && private_cgroup_namespace; then
    for mount_point in $(read_only_cgroup_mounts); do
        mount -o remount,rw "$mount_point" 2>/dev/null \
            || echo "corral: could not make $mount_point writable" >&2
    done
fi
# The image listens on every address, where plaintext is refused: `serve` needs its certificates.
# When none is where CORRAL_TLS_CERT points, development ones are made in that folder
# (`corral certs`, which never overwrites a file): copy its ca.pem out to connect, and mount
# certificates of your own CA there in production.
if [ "${1:-}" = serve ] && [ -n "${CORRAL_TLS_CERT:-}" ] && [ ! -e "$CORRAL_TLS_CERT" ]; then
    corral certs "$(dirname "$CORRAL_TLS_CERT")" >/dev/null
    echo "corral: made development certificates in $(dirname "$CORRAL_TLS_CERT")" >&2
fi
exec corral "$@"
