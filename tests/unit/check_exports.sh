#!/usr/bin/env bash
# check_exports.sh LIBFURI_SO FURI_H - the shared library exports exactly the
# functions furi.h declares: nothing internal leaks, nothing public is missing.
set -euo pipefail
so=$1 header=$2
want=$(grep -P '^[a-z][^(#]*?\bfuri_\w+\(' "$header" | grep -oP '\bfuri_\w+(?=\()' | sort -u)
got=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TW]$/ {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$want" ] || { echo "no functions found in $header"; exit 1; }
missing=$(comm -23 <(echo "$want") <(echo "$got"))
extra=$(comm -13 <(echo "$want") <(echo "$got"))
status=0
if [ -n "$missing" ]; then echo "declared in furi.h but not exported:" $missing; status=1; fi
if [ -n "$extra" ]; then echo "exported but not in furi.h:" $extra; status=1; fi
[ $status -eq 0 ] && echo "exports: $(echo "$want" | wc -l) public functions, nothing else"
exit $status
