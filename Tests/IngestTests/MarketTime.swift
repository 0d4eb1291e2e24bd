import Simulator
import TickBusCore

/// Live tests run the simulator's market clock at 2025-03-04 09:30 ET (a Tuesday's regular open)
/// so stocks trade whatever the hour the suite runs at. Returns the offset in ms (market time −
/// wall time), for tests that name fixed market times.
@discardableResult
func inRegularSession(_ configuration: inout SimulatorConfiguration) -> Int64 {
    let offset = SimulatorConfiguration.marketTimeOffset("2025-03-04T14:30:00Z", nowNs: WallClock.nanoseconds())!
    configuration.marketTimeOffset = offset
    // These tests do not check `av`: start streams from the estimate, not by generating the
    // pre-market (slow in debug builds on a loaded machine).
    configuration.dayTotalsLimit = 0
    return offset.components.seconds * 1000
}
