#!/usr/bin/env bash
# Checks include edges go one way: pooler -> interceptor -> adapters, and that no adapter
# vendor folder includes another. Prints each violation; exits non-zero if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
violation() { echo "layering: $1"; status=1; }

while IFS=: read -r file _ include; do
  target=$(sed -n 's/.*#include "\([^"]*\)".*/\1/p' <<<"$include")
  case "$file" in
    interceptor/*) [[ $target == pooler/* ]] && violation "$file includes $target" ;;
    adapters/*)
      [[ $target == pooler/* || $target == interceptor/* ]] && violation "$file includes $target"
      vendor=$(cut -d/ -f2 <<<"$file")
      other=$(cut -d/ -f2 <<<"$target")
      if [[ $target == adapters/*/* && $file == adapters/*/* && $vendor != "$other" && $other != http ]]; then
        violation "$file includes $target"
      fi ;;
  esac
done < <(grep -rn '#include "' pooler interceptor adapters --include='*.h' --include='*.cc' 2>/dev/null || true)
exit $status
