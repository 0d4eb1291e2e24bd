import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each).
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Generates a new key pair. Fails when libzmq was built without CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        _ = try retryingEINTR { zmq_curve_keypair(&pub, &sec) }
        return CurveKeyPair(publicKey: z85String(pub), secretKey: z85String(sec))
    }

    /// Derives the key pair of a Z85 secret key.
    public init(secretKey: String) throws(ZMQError) {
        var pub = [CChar](repeating: 0, count: 41)
        _ = try retryingEINTR { zmq_curve_public(&pub, secretKey) }
        self.init(publicKey: z85String(pub), secretKey: secretKey)
    }
}

private func z85String(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
