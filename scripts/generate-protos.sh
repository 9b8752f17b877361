#!/usr/bin/env bash
# Regenerates Sources/DistributedImagingGRPC/Generated/ from Sources/DistributedImagingGRPC/Protos/.
#
# Needs `protoc` (Debian: protobuf-compiler). Builds the two code generator plugins,
# protoc-gen-swift (swift-protobuf) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf), in
# release mode in a throwaway package under .build-protoc-plugins/ (git-ignored), so the
# project itself never uses the SwiftPM build plugin. The first run takes a few minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PLUGINS="${PROTOC_PLUGINS_DIR:-$ROOT/.build-protoc-plugins}"
PROTOS="$ROOT/Sources/DistributedImagingGRPC/Protos"
OUT="$ROOT/Sources/DistributedImagingGRPC/Generated"
SWIFT_PROTOBUF_VERSION="1.39.0"
GRPC_SWIFT_PROTOBUF_VERSION="2.4.1"

command -v protoc >/dev/null || {
    echo "generate-protos: protoc not found; install it (Debian: apt-get install protobuf-compiler)" >&2
    exit 1
}

mkdir -p "$PLUGINS"
cat > "$PLUGINS/Package.swift" <<SWIFT
// swift-tools-version:6.0
// Throwaway package: only here to build the protoc plugins. Written by scripts/generate-protos.sh.
import PackageDescription

let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "$SWIFT_PROTOBUF_VERSION"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$GRPC_SWIFT_PROTOBUF_VERSION"),
    ],
    targets: [.target(name: "Empty", path: "Empty")]
)
SWIFT
mkdir -p "$PLUGINS/Empty"
echo "// Intentionally empty." > "$PLUGINS/Empty/Empty.swift"

echo "generate-protos: building protoc plugins (release) in $PLUGINS" >&2
swift build -c release --package-path "$PLUGINS" --product protoc-gen-swift
swift build -c release --package-path "$PLUGINS" --product protoc-gen-grpc-swift-2
BIN="$(swift build -c release --package-path "$PLUGINS" --show-bin-path)"

rm -rf "$OUT"
mkdir -p "$OUT"
cd "$PROTOS"
PROTO_FILES=$(find . -name '*.proto' | sed 's|^\./||' | sort)
echo "generate-protos: protoc $(protoc --version) on: $PROTO_FILES" >&2

protoc \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
    --swift_out="$OUT" \
    --swift_opt=Visibility=Public \
    --swift_opt=FileNaming=PathToUnderscores \
    --swift_opt=UseAccessLevelOnImports=true \
    --plugin=protoc-gen-grpc-swift="$BIN/protoc-gen-grpc-swift-2" \
    --grpc-swift_out="$OUT" \
    --grpc-swift_opt=Visibility=Public \
    --grpc-swift_opt=FileNaming=PathToUnderscores \
    --grpc-swift_opt=UseAccessLevelOnImports=true \
    --grpc-swift_opt=Server=true,Client=true \
    -I . \
    $PROTO_FILES

# Protos without services yield a `.grpc.swift` file with nothing in it: drop those.
grep -l "This file contained no services" "$OUT"/*.grpc.swift | xargs -r rm -f

echo "generate-protos: wrote $(ls "$OUT" | wc -l) files to $OUT" >&2
