#!/bin/sh
# Runs a command alone with its kernel objects: in private IPC and mount
# namespaces, with a fresh tmpfs on /dev/shm and the namespace's POSIX message
# queues mounted at $IPCB_MQUEUE_DIR, so that a leak check sees only what the
# command created, whatever else runs on the machine, and kernel limits can be
# lowered without touching the host's.
#
# usage: isolated.sh [--shm-size=SIZE] [--required] [name=value ...] -- cmd...
#   name=value  a sysctl of the new IPC namespace: kernel.msgmni=1,
#               "kernel.sem=250 32000 32 1", fs.mqueue.queues_max=0 ...
#   --shm-size  the size of the new /dev/shm (default 256m)
# Where namespaces cannot be made, the command runs as is, unless --required
# or a sysctl was given: then exit 77 (skipped).
set -u
shm_size=256m required=0 sysctls=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
  --shm-size=*) shm_size=${1#--shm-size=} ;;
  --required) required=1 ;;
  *=*) required=1 sysctls="$sysctls$(printf '%s\n' "$1")
" ;;
  *) echo "isolated.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] && shift
# A user namespace even for root: CAP_SYS_RESOURCE in the host's would let
# root pass fs.mqueue limits, which the limit tests lower.
flags=""
for try in "--ipc --mount --user --map-root-user" "--ipc --mount"; do
  if unshare $try true 2>/dev/null; then flags=$try; break; fi
done
if [ -z "$flags" ]; then
  if [ "$required" = 1 ]; then
    echo "skipped: cannot create IPC and mount namespaces here"
    exit 77
  fi
  echo "isolated.sh: no namespaces here; running with the host's objects"
  exec "$@"
fi
mq_dir=$(mktemp -d) || exit 2
trap 'rmdir "$mq_dir"' EXIT
# shellcheck disable=SC2016 # expanded by the inner shell
IPCB_MQUEUE_DIR=$mq_dir IPCB_SYSCTLS=$sysctls unshare $flags sh -c '
  set -e
  mount -t tmpfs -o "size=$0,mode=1777" tmpfs /dev/shm
  mount -t mqueue mqueue "$IPCB_MQUEUE_DIR"
  printf "%s" "$IPCB_SYSCTLS" | while IFS="=" read -r name value; do
    [ -n "$name" ] || continue
    echo "$value" > "/proc/sys/$(echo "$name" | tr . /)"
    echo "isolated.sh: $name = $(cat "/proc/sys/$(echo "$name" | tr . /)")"
  done
  set +e
  "$@"
' "$shm_size" "$@"
