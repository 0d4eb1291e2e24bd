import FuzzTargets
import Testing

/// Replays each fuzz target's committed inputs (seed corpus and the reproducers of fixed crashes)
/// through the same entry points `tickbus-fuzz` fuzzes, in the ordinary test run: a fix that
/// regresses traps here without the sanitizer build.
@Suite("Fuzz corpus replay")
struct FuzzReplayTests {
    static let root = String(#filePath.dropLast("Tests/FuzzTests/FuzzReplayTests.swift".count)) + "Tests/fuzz"

    @Test("every committed input of a target runs through it", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let seeds = FuzzFiles.list("\(Self.root)/corpus/\(target.rawValue)")
        #expect(!seeds.isEmpty, "no seed corpus for \(target.rawValue)")
        for file in seeds + FuzzFiles.list("\(Self.root)/regressions/\(target.rawValue)") {
            let bytes = try #require(FuzzFiles.read(file), "cannot read \(file)")
            target.run(bytes)
        }
    }
}
