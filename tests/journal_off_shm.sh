#!/bin/sh
# Runs a command with a read-only /dev/shm and TMPDIR a fresh directory, so
# that the crash journals, and the files ipcb_private_file makes beside them,
# live apart from POSIX shared memory: on Linux the journal directory is
# /dev/shm whenever it is writable, and a file there is also a POSIX shared
# memory name. Exit 77 (skipped) where a mount namespace cannot be made.
set -u
flags=""
for try in "--mount --user --map-root-user" "--mount"; do
  if unshare $try true 2>/dev/null; then flags=$try; break; fi
done
if [ -z "$flags" ]; then
  echo "skipped: cannot create a mount namespace here"
  exit 77
fi
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
TMPDIR=$dir unshare $flags sh -c \
  'mount -t tmpfs -o ro tmpfs /dev/shm && exec "$@"' sh "$@"
