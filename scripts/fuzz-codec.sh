#!/usr/bin/env bash
# Fuzzes the C codec with libFuzzer + AddressSanitizer for a bounded time.
#   scripts/fuzz-codec.sh [SECONDS]   (default 300)
# Needs clang with libFuzzer (the Swift toolchain's clang has it) and the -dev packages.
# Seeds: the public corpus's conformance and photo files plus the committed codec variants.
# Crashing inputs land in Tests/Fuzz/crashes/; copy any into Tests/Fuzz/regressions/ (replayed
# by `scripts/fuzz-codec.sh --replay`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=300
replay=0
for arg in "$@"; do
  case "$arg" in
    --replay) replay=1 ;;
    *) seconds="$arg" ;;
  esac
done
out=.build-fuzz
mkdir -p "$out/corpus" Tests/Fuzz/crashes Tests/Fuzz/regressions
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -ISources/CImageCodec/include -ISources/CImageCodec \
  Tests/Fuzz/fuzz_decode.c Sources/CImageCodec/*.c -lpng -ljpeg -lz -o "$out/fuzz_decode"
if [ "$replay" = 1 ]; then
  shopt -s nullglob
  files=(Tests/Fuzz/regressions/*)
  if [ ${#files[@]} -gt 0 ]; then "$out/fuzz_decode" "${files[@]}"; fi
  echo "replayed ${#files[@]} regression inputs"
  exit 0
fi
for dir in ../shared/corpus/conformance/png ../shared/corpus/conformance/jpeg ../shared/corpus/invalid \
           Tests/DistributedImagingTests/Resources/codec; do
  [ -d "$dir" ] && find "$dir" -type f \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) -size -200k -exec cp {} "$out/corpus/" \;
done
"$out/fuzz_decode" "$out/corpus" -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 \
  -timeout=10 -artifact_prefix=Tests/Fuzz/crashes/ -print_final_stats=1 2>&1 | tee "$out/fuzz.log" | tail -25
