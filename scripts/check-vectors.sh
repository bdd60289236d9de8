#!/usr/bin/env bash
# Checks that tests/vectors/ holds the golden vectors exactly as delivered: when the original
# set is beside the repository (../shared/vectors, or the folder given as $1), every JSON file
# there must be in tests/vectors/ byte for byte, and tests/vectors/ must hold no JSON file that
# is not there. Without that folder there is nothing to compare: it says so and succeeds.
# The READMEs are not compared: ours is written for this repository.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ours=$root/tests/vectors
theirs=${1:-$root/../shared/vectors}

if [[ ! -d $theirs ]]; then
  echo "check-vectors: skipped, there is no $theirs to compare tests/vectors with"
  exit 0
fi
theirs=$(cd "$theirs" && pwd)

status=0
compared=0
for file in "$theirs"/*.json; do
  [[ -e $file ]] || continue
  name=$(basename "$file")
  if [[ ! -f $ours/$name ]]; then
    echo "check-vectors: $name is in $theirs but missing from tests/vectors" >&2
    status=1
  elif cmp -s "$file" "$ours/$name"; then
    echo "check-vectors: $name identical ($(wc -c <"$file") bytes)"
    compared=$((compared + 1))
  else
    echo "check-vectors: $name differs from $file" >&2
    status=1
  fi
done
for file in "$ours"/*.json; do
  [[ -e $file ]] || continue
  name=$(basename "$file")
  if [[ ! -f $theirs/$name ]]; then
    echo "check-vectors: tests/vectors/$name has no original in $theirs" >&2
    status=1
  fi
done

if [[ $status -ne 0 ]]; then
  echo "check-vectors: tests/vectors does not match $theirs (copy the files again, unchanged)" >&2
  exit 1
fi
echo "check-vectors: $compared files of tests/vectors match $theirs"
