#!/usr/bin/env bash
# Our decode speed (dip-bench, release build, one thread) beside the libraries called directly:
# libjpeg-turbo's tjbench (Debian libjpeg-turbo-progs) and shared/bench/libpng_decode_anchor.c,
# file by file, in the same sitting. Prints a markdown table.
#   Benchmarks/decode-anchors.sh [FILE ...]   (default: the corpus's large images)
set -uo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$corpus"/large/*.jpg "$corpus"/large/*.png)
./scripts/install-dependencies.sh libjpeg-turbo-progs || exit 1
swift build -c release --product dip-bench >/dev/null || exit 1
anchor=.build/release/libpng_decode_anchor
cc -O2 -o "$anchor" "$corpus/../bench/libpng_decode_anchor.c" -lpng16 || exit 1
echo "| file | size | ours MP/s | library alone MP/s | ratio |"
echo "|---|---|---:|---:|---:|"
for f in "${files[@]}"; do
  name=$(basename "$f")
  case "$name" in
    *.png) op=decode_png ;;
    *) op=decode_jpeg ;;
  esac
  ours=$(.build/release/dip-bench "$f" --groups codec --ops "$op" --min-runs 9 2>/dev/null | awk -F'|' -v op="$op" '$2 ~ op {gsub(/ /,"",$5); print $5}')
  if [ "$op" = decode_png ]; then
    line=$("$anchor" "$f" 9)
    size=$(echo "$line" | awk '{print $2"×"$3}')
    lib=$(echo "$line" | sed -n 's/.*MP\/s=\([0-9.]*\).*/\1/p')
  else
    line=$(tjbench "$f" -rgb -benchtime 3 -warmup 1 -quiet -nowrite 2>/dev/null | awk 'NF >= 7 && $1 == "RGB" {print}' | tail -1)
    size=$(echo "$line" | awk '{print $5"×"$6}')
    lib=$(echo "$line" | awk '{print $NF}')
  fi
  ratio=$(awk -v a="$ours" -v b="$lib" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }')
  echo "| $name | $size | $ours | $lib | $ratio |"
done
