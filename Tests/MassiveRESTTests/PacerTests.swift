import Testing

@testable import MassiveREST

@Suite("Request pacing")
struct PacerTests {
    @Test("at most N request starts in any minute")
    func window() {
        let pacer = RequestPacer(perMinute: 5)
        let t0 = ContinuousClock.now
        for _ in 0..<5 { #expect(pacer.reserve(now: t0) == .zero) }
        #expect(pacer.reserve(now: t0 + .seconds(1)) == .seconds(59))
        #expect(pacer.reserve(now: t0 + .seconds(1)) == .seconds(59))
        #expect(pacer.reserve(now: t0 + .seconds(61)) == .zero, "the first five have left the window")
        #expect(pacer.reserve(now: t0 + .seconds(61)) == .zero)
        #expect(pacer.reserve(now: t0 + .seconds(61)) == .zero)
        #expect(pacer.reserve(now: t0 + .seconds(61)) == .seconds(59), "five in the window from 60 s")
    }
}
