# shellcheck shell=sh disable=SC2154 # journals: set by the caller
# Sourced by the shell tests that look for what runs of ipc_bench left
# behind: which of this user's kernel objects belong to given runs. The
# caller sets journals (a folder for copies of the runs' crash journals).
uid=$(id -u)
mq_dir=${IPCB_MQUEUE_DIR:-/dev/mqueue}
[ -d "$mq_dir" ] ||
  echo "not isolated: no $mq_dir here: POSIX message queues cannot be listed"

# True in isolated.sh's namespaces, where every object seen is ours; says so.
isolated() {
  [ -n "${IPCB_MQUEUE_DIR:-}" ] || return 1
  echo "isolated: every object in the namespace counts"
}

# Copies run $1's crash journal to $journals/journal_$1, where it has one
# (an earlier copy stays otherwise: the run may have removed it since).
copy_journal() {
  for dir in /dev/shm "${TMPDIR:-/tmp}" /tmp; do
    cp "$dir/ipcb-journal.$uid.$1" "$journals/journal_$1.tmp" 2>/dev/null &&
      mv "$journals/journal_$1.tmp" "$journals/journal_$1" && return
  done
}

# SysV objects under the keys a copy of a run's crash journal lists
# ("k <shm|sem|msg> <hex key> <id>"): this user's object under one of those
# random keys is the run's. /proc/sysvipc prints keys as signed decimals,
# and the uid column is the 8th for shm and msg, the 5th for sem.
journaled() {
  [ -f "$1" ] || return 0
  awk '$1 == "k" { print $2, $3 }' "$1" | while read -r kind key; do
    k=$((0x$key))
    [ "$k" -lt 2147483648 ] || k=$((k - 4294967296))
    [ "$k" -ne 0 ] || continue # IPC_PRIVATE: not a journaled key
    awk -v kind="$kind" -v key="$k" -v uid="$uid" '
      NR > 1 && $1 == key && $(kind == "sem" ? 5 : 8) == uid { print kind ":" $2 }
    ' "/proc/sysvipc/$kind" 2>/dev/null
  done
}

# This user's objects of the runs $@: isolated (IPCB_MQUEUE_DIR set by
# isolated.sh), all of them; else those naming one of the runs (a segment's
# creator is the 5th column, a POSIX name carries the pid) or journaled.
# shellcheck disable=SC2010 # the names listed are plain: no blanks
objects() {
  for kind in shm sem msg; do
    awk -v kind="$kind" -v uid="$uid" -v pids=" $* " \
      -v all="${IPCB_MQUEUE_DIR:+1}" '
      NR > 1 && $(kind == "sem" ? 5 : 8) == uid &&
        (all || (kind == "shm" && index(pids, " " $5 " "))) { print kind ":" $2 }
    ' "/proc/sysvipc/$kind" 2>/dev/null
  done
  # /tmp is the host's even in isolation: there only the runs' journals.
  [ -z "${IPCB_MQUEUE_DIR:-}" ] ||
    ls /dev/shm "$mq_dir" | grep -E '^(sem\.)?ipcb\.|^ipcb-journal\.'
  names=$(ls /dev/shm "$mq_dir" "${TMPDIR:-/tmp}" /tmp 2>/dev/null)
  for pid in "$@"; do
    journaled "$journals/journal_$pid"
    printf '%s\n' "$names" |
      grep -E -e "ipcb\.$pid\." -e "^ipcb-journal\.$uid\.$pid(\.new)?\$"
  done
}
