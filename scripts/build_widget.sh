#!/usr/bin/env bash
# Builds the chat widget's public assets into bot/web/static/widget/: the widget's own script (minified with
# the pinned terser, so that the source keeps its comments and the page gets the fewest bytes) and styles
# (widget/src/), and the pinned socket.io client from npm (widget/package-lock.json).
# Needs Node.js and npm; `npm ci` runs only when widget/node_modules is missing or stale.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/widget
OUT=$ROOT/bot/web/static/widget
if [ ! -f "$SRC/node_modules/.package-lock.json" ] || [ "$SRC/package-lock.json" -nt "$SRC/node_modules/.package-lock.json" ]; then
  (cd "$SRC" && npm ci --no-audit --no-fund)
fi
mkdir -p "$OUT"
cp "$SRC/src/widget.css" "$SRC/src/demo.css" "$OUT/"
# Mangling stays inside the widget's closure; the one comment kept says where the source is.
# privacy.js (the notice and the menu's erasure) goes first: widget.js calls it.
node "$SRC/node_modules/terser/bin/terser" "$SRC/src/privacy.js" "$SRC/src/widget.js" --compress --mangle --ecma 2017 \
  --format "preamble='/* RIS3 assistant chat widget; source: widget/src/widget.js */'" -o "$OUT/widget.js"
cp "$SRC/node_modules/socket.io-client/dist/socket.io.min.js" "$OUT/socket.io.min.js"
# Pre-compressed copies: the back office (aiohttp) sends file.gz to a browser that accepts gzip.
for f in widget.js widget.css demo.css socket.io.min.js; do gzip -9 -n -k -f "$OUT/$f"; done
total=$(cat "$OUT/widget.js" "$OUT/widget.css" "$OUT/socket.io.min.js" | wc -c)
gz=0
for f in widget.js widget.css socket.io.min.js; do
  n=$(wc -c < "$OUT/$f.gz"); gz=$((gz + n))
  printf '[widget] %-18s %7d bytes, gzipped %6d\n' "$f" "$(wc -c < "$OUT/$f")" "$n"
done
printf '[widget] total %d bytes, gzipped %d (as served to browsers that accept gzip)\n' "$total" "$gz"
