#!/bin/sh
# The files of src/core form a line, not a loop: no file calls into one that
# calls it back, directly or through others. Read from the library's
# objects, so the check sees calls as the linker does.
# Usage: core_layers.sh <ar> <nm> <libipcb.a> <src/core>
set -eu
export LC_ALL=C # sort and join must agree on the order
ar=$1 nm=$2
lib=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
core=$(cd "$4" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$ar" x "$lib"
for c in "$core"/*.c; do
  o=$(basename "$c").o
  if [ -f "$o" ]; then echo "$o"; fi
done >core_objects
[ -s core_objects ] || { echo "no objects of $core in $lib" >&2; exit 1; }
: >defined
: >edges
while read -r o; do
  "$nm" "$o" >symbols
  awk -v o="$o" '$2 ~ /^[TDBS]$/ { print $3, o }' symbols >>defined
done <core_objects
sort defined -o defined
while read -r o; do
  "$nm" -u "$o" >symbols
  awk '{ print $NF }' symbols | sort -u >undefined
  join undefined defined | awk -v o="$o" '$2 != o { print o, $2 }' >>edges
done <core_objects
sort -u edges -o edges
# A reading that found no calls at all read the objects wrong.
[ -s edges ] || { echo "no calls found between the files of $core" >&2; exit 1; }
if ! tsort edges >/dev/null 2>tsort.err; then
  echo "src/core calls in a loop:" >&2
  cat tsort.err >&2
  echo "calls between files (caller callee):" >&2
  cat edges >&2
  exit 1
fi
echo "src/core: $(wc -l <core_objects | tr -d ' ') files," \
  "$(wc -l <edges | tr -d ' ') calls between them, no loop"
