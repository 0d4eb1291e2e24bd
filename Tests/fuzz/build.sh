#!/usr/bin/env bash
# Builds tickbus-fuzz with libFuzzer and AddressSanitizer: `Tests/fuzz/build.sh [OUT]` writes
# OUT/tickbus-fuzz (OUT defaults to .build/fuzz).
#
# Straight swiftc, not SwiftPM: the parser modules' SwiftPM targets drag in SwiftNIO, NIOSSL
# (BoringSSL), AsyncHTTPClient and Hummingbird, an 11-minute sanitizer build on two cores. The
# parsers themselves need none of that, so each module is compiled from its files that import
# nothing outside the standard library, the toolchain's Foundation and the modules built before
# it (MassiveStream, the REST client, the control server... are left out), one whole-module
# compile per module. A debug build (-Onone), so the standard library's bounds checks stay on.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-.build/fuzz}
SWIFTC=${SWIFTC:-swiftc}
MODULES=(JSONText TickBusCore Journal KDB Archive Massive MassiveREST Control Ingest FuzzTargets TickBusFuzz)
# Of Ingest only the request parsing: its other files that import nothing heavy still use types
# of the files that do.
ONLY_Ingest="BackfillRequest.swift"
# What a selected file may import: the toolchain's modules and the ones built here.
# CZlib is the system zlib (the journal's CRC-32), through its module map.
TOOLCHAIN="Swift Glibc Darwin Foundation Dispatch Synchronization CZlib"

mkdir -p "$OUT/modules" "$OUT/obj"
rm -f "$OUT"/obj/*.o
built=""
for module in "${MODULES[@]}"; do
    files=()
    only_var="ONLY_$module"
    for file in Sources/"$module"/*.swift; do
        if [ -n "${!only_var:-}" ]; then
            case " ${!only_var} " in *" $(basename "$file") "*) ;; *) continue ;; esac
        fi
        ok=1
        for import in $(sed -n 's/^\(@testable \|@_exported \|[a-z]* \)\{0,1\}import \([A-Za-z_]*\).*/\2/p' "$file"); do
            case " $TOOLCHAIN $built " in *" $import "*) ;; *) ok=0 ;; esac
        done
        if [ "$ok" = 1 ]; then files+=("$file"); fi
    done
    echo "fuzz build: $module (${#files[@]} of $(ls Sources/"$module"/*.swift | wc -l) files)"
    "$SWIFTC" -swift-version 6 -Onone -g -sanitize=fuzzer,address -DTICKBUS_FUZZ \
        -parse-as-library -wmo -package-name tickbus -module-name "$module" -I "$OUT/modules" -I Sources/CZlib \
        -emit-module -emit-module-path "$OUT/modules/$module.swiftmodule" \
        -c "${files[@]}" -o "$OUT/obj/$module.o"
    built="$built $module"
done
"$SWIFTC" -sanitize=fuzzer,address "$OUT"/obj/*.o -lz -o "$OUT/tickbus-fuzz"
echo "fuzz build: $OUT/tickbus-fuzz"
