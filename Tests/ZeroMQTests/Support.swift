import Foundation
import TestSupport
import ZeroMQ

/// Receives one frame waiting at most `milliseconds`; nil when nothing came in time.
func receiveBytes(_ socket: Socket, within milliseconds: Int32) throws -> [UInt8]? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveBytes()
}

/// Receives one frame as a string waiting at most `milliseconds`.
func receiveString(_ socket: Socket, within milliseconds: Int32) throws -> String? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveString()
}

/// Receives one multipart message waiting at most `milliseconds` for its first frame.
func receiveMultipart(_ socket: Socket, within milliseconds: Int32) throws -> [[UInt8]]? {
    try socket.setReceiveTimeout(milliseconds: milliseconds)
    return try socket.receiveMultipart()
}

/// PUB/SUB "slow joiner": sends `probe` every 10 ms until `subscriber` receives a frame (which
/// is returned), or nil after `milliseconds`. Both sockets must belong to the calling thread.
func sendUntilReceived(
    _ publisher: Socket, _ subscriber: Socket, probe: [UInt8], within milliseconds: Int64 = 3000
) throws -> [UInt8]? {
    let deadline = nowMilliseconds() + milliseconds
    while nowMilliseconds() < deadline {
        try publisher.send(probe, flags: .dontWait)
        if let frame = try receiveBytes(subscriber, within: 10) { return frame }
    }
    return nil
}
