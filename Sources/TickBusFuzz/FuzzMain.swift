#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzTargets

// `tickbus-fuzz TARGET [ARGS...]`.
//
// Built by `make fuzz-build` (Tests/fuzz/build.sh: `-DTICKBUS_FUZZ -sanitize=fuzzer,address`) it is
// a libFuzzer binary: libFuzzer's `main` runs, `LLVMFuzzerInitialize` takes TARGET out of the
// arguments, and the rest are libFuzzer's (corpus directories, -max_total_time=N, -help=1, ...).
//
// Built plainly (as `swift build` does) it replays files and directories of inputs through the
// same entry point, for regressions: `.build/debug/tickbus-fuzz wire crash-1234`.

/// The target `LLVMFuzzerTestOneInput` drives, chosen before the first input.
nonisolated(unsafe) var selected: FuzzTarget?

/// libFuzzer's entry point: one input through the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selected else { fail("no fuzz target selected") }
    target.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// Called by libFuzzer before it reads its flags: TARGET is argv[1] (or `TICKBUS_FUZZ_TARGET`);
/// it is removed so libFuzzer sees only its own arguments.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
) -> CInt {
    if argc.pointee >= 2, let first = argv.pointee[1], let target = FuzzTarget(rawValue: String(cString: first)) {
        selected = target
        for i in 1..<Int(argc.pointee) { argv.pointee[i] = argv.pointee[i + 1] }
        argc.pointee -= 1
    } else if let name = getenv("TICKBUS_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: name)) {
        selected = target
    } else {
        usage()
    }
    return 0
}

func fail(_ message: String) -> Never {
    let line = "tickbus-fuzz: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

func usage() -> Never {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    #if TICKBUS_FUZZ
    let args = "libFuzzer's: corpus directories or inputs, -max_total_time=SECONDS, -help=1"
    #else
    let args = "input files or directories to replay (this build has no libFuzzer: make fuzz-build makes one)"
    #endif
    fail("usage: tickbus-fuzz TARGET [ARGS...]\n  TARGET: \(names)\n  ARGS: \(args)")
}

#if !TICKBUS_FUZZ
@main
enum TickBusFuzzReplay {
    /// Runs every file named, and every file under each directory named, through the target.
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else { usage() }
        var files: [String] = []
        for path in arguments.dropFirst(2) { files += FuzzFiles.list(path) }
        for file in files {
            guard let bytes = FuzzFiles.read(file) else { fail("cannot read \(file)") }
            target.run(bytes)
        }
        print("\(target.rawValue): \(files.count) passed, 0 failed")
    }
}
#endif
