#!/bin/sh
# Runs a command in a new IPC namespace with kernel.shmmax = 1 MiB and
# kernel.shmall = 256 pages of 4 KiB: room for one segment of shmmax and no
# more, as a stock Mac has (4 MiB and 1024 pages), at a quarter of the size.
# Exit 77 (skipped) where namespaces cannot be created.
set -u
if [ "$(id -u)" = 0 ]; then
  flags="--ipc"
else
  flags="--ipc --user --map-root-user"
fi
if ! unshare $flags true 2>/dev/null; then
  echo "skipped: cannot create an IPC namespace here (unshare $flags)"
  exit 77
fi
exec unshare $flags sh -c 'echo 1048576 > /proc/sys/kernel/shmmax &&
  echo 256 > /proc/sys/kernel/shmall && exec "$@"' sh "$@"
