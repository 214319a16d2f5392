#!/usr/bin/env bash
# Copies the back office's chart library into bot/web/static/charts/: Chart.js from npm, pinned exactly in
# scripts/charts/package.json and package-lock.json (integrity hashes), served by the back office itself for
# the Insights page (no CDN). Needs Node.js and npm; `npm ci` runs only when node_modules is missing or stale.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/scripts/charts
OUT=$ROOT/bot/web/static/charts
if [ ! -f "$SRC/node_modules/.package-lock.json" ] || [ "$SRC/package-lock.json" -nt "$SRC/node_modules/.package-lock.json" ]; then
  (cd "$SRC" && npm ci --no-audit --no-fund)
fi
# The version npm installed must be the pinned one: a stale node_modules would otherwise ship another.
pinned=$(node -p "require('$SRC/package.json').dependencies['chart.js']")
installed=$(node -p "require('$SRC/node_modules/chart.js/package.json').version")
[ "$pinned" = "$installed" ] || { echo "[charts] chart.js $installed installed, $pinned pinned: run npm ci in $SRC" >&2; exit 1; }
mkdir -p "$OUT"
# The UMD build defines window.Chart; its source map stays behind (it would only be fetched by developer tools).
sed '/^\/\/# sourceMappingURL=/d' "$SRC/node_modules/chart.js/dist/chart.umd.min.js" > "$OUT/chart.umd.min.js"
cp "$SRC/node_modules/chart.js/LICENSE.md" "$OUT/chart.js.LICENSE.md"
# Pre-compressed copy: the back office (aiohttp) sends file.gz to a browser that accepts gzip.
gzip -9 -n -k -f "$OUT/chart.umd.min.js"
printf '[charts] chart.js %s: %d bytes, gzipped %d\n' "$installed" "$(wc -c < "$OUT/chart.umd.min.js")" \
  "$(wc -c < "$OUT/chart.umd.min.js.gz")"
