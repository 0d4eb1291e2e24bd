import Foundation
import TestSupport
import Testing

/// `tickbus kdb` refuses to expose itself by accident; `tickbus bench kdb` runs through.
@Suite(.serialized)
struct KDBProcessTests {
    @Test func serveOnAnExposedAddressNeedsCredentialsOrInsecure() async throws {
        let port = freeTCPPort()
        let refused = try TickBusProcess(["kdb", "serve", "--host", "0.0.0.0", "--port", "\(port)"])
        let (status, _, err) = await refused.wait()
        #expect(status != 0)
        #expect(err.contains("reachable from other hosts") && err.contains("--credentials"), "\(err)")

        let allowed = try TickBusProcess(["kdb", "serve", "--host", "0.0.0.0", "--port", "\(port)", "--insecure"])
        try await allowed.waitUntil(timeout: 30, "serving") { _, err in err.contains("serving q clients") }
        allowed.interrupt()
        let (allowedStatus, _, allowedErr) = await allowed.wait()
        #expect(allowedStatus == 0, "\(allowedErr)")
    }

    @Test func publishStatusMustBeLocal() async throws {
        let run = try TickBusProcess(["kdb", "publish", "--tickerplant", "127.0.0.1:5010", "--status", "tcp://0.0.0.0:7706"])
        let (status, _, err) = await run.wait()
        #expect(status != 0)
        #expect(err.contains("reachable from other hosts"), "\(err)")
    }

    /// The benchmark's own tickerplant must answer what `kdb publish` asks at connect, or the
    /// pipeline figure never comes (it once waited forever).
    @Test func benchKdbDeliversEveryRow() async throws {
        let (status, out, err) = await (try TickBusProcess(["bench", "kdb", "--rows", "10000", "--records", "2000"])).wait()
        #expect(status == 0, "\(err)")
        #expect(out.contains("2000 of 2000 rows"), "\(out)")
    }
}
