import ArgumentParser
import Foundation
import Logging
import ZeroMQ

/// CURVE options shared by every command that opens sockets (docs/security.md).
struct SecurityOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "This process's key pair: a secret certificate from `tickbus keygen` (NAME.key_secret, mode 600).",
        valueName: "file"))
    var curveSecretKey: String?
    @Option(help: ArgumentHelp(
        "Client public keys allowed to connect to the sockets this process binds: a directory of NAME.key certificates or a file of keys; repeatable.",
        valueName: "dir-or-file"))
    var curveAllow: [String] = []
    @Option(help: ArgumentHelp(
        "The public key of the server this process connects to: its NAME.key certificate, or the 40-character Z85 key.",
        valueName: "file-or-key"))
    var curveServerKey: String?
    @Flag(help: "Allow binding addresses other hosts can reach (not 127.0.0.1, ipc or inproc) without CURVE.")
    var insecure = false

    /// What a process gets from these options: the security of the sockets it binds and of those
    /// it connects (each nil when plain), and the ZAP handler it must keep running.
    struct Setup {
        var server: CurveSecurity?
        var client: CurveSecurity?
        var authenticator: ZAPHandler?
    }

    /// Loads the keys, refuses exposed binds without CURVE (unless --insecure), and starts the
    /// ZAP handler on `context` when this process binds with CURVE.
    func setUp(context: ZMQContext, binds: [Endpoint], logger: Logger) throws -> Setup {
        guard let curveSecretKey else {
            if curveServerKey != nil || !curveAllow.isEmpty {
                throw ValidationError("--curve-server-key and --curve-allow need --curve-secret-key (this process's own key pair; tickbus keygen)")
            }
            try InsecureBindRefused.check(binds, secured: false, insecure: insecure)
            if insecure, binds.contains(where: { $0.action == .bind && !$0.isLocal }) {
                logger.warning("--insecure: binding without CURVE where other hosts can connect",
                               metadata: ["endpoints": "\(binds.filter { !$0.isLocal }.map(\.address))"])
            }
            return Setup()
        }
        guard ZMQContext.has("curve") else { throw ValidationError("this libzmq was built without CURVE") }
        let keyPair = try CurveCertificate.readKeyPair(curveSecretKey)
        let serverKey = try curveServerKey.map(CurveCertificate.readPublicKey)
        let security = CurveSecurity(keyPair: keyPair, serverKey: serverKey)
        var setup = Setup(server: security, client: serverKey == nil ? nil : security)
        guard binds.contains(where: { $0.action == .bind }) else { return setup }
        guard !curveAllow.isEmpty else {
            throw ValidationError("--curve-secret-key needs --curve-allow: the public keys of the clients that may connect")
        }
        var allowed: Set<String> = []
        for path in curveAllow { allowed.formUnion(try CurveCertificate.readAllowList(path)) }
        guard !allowed.isEmpty else { throw ValidationError("--curve-allow \(curveAllow.joined(separator: " ")) holds no public key") }
        setup.authenticator = try ZAPHandler(context: context, allowedClientKeys: allowed) { decision in
            if decision.status == "200" {
                logger.debug("client authenticated", metadata: ["address": "\(decision.address)", "key": "\(decision.clientKey ?? "")"])
            } else {
                logger.warning("client refused", metadata: [
                    "address": "\(decision.address)", "mechanism": "\(decision.mechanism)",
                    "key": "\(decision.clientKey ?? "-")", "reason": "\(decision.reason)",
                ])
            }
        }
        logger.info("CURVE on", metadata: ["public_key": "\(keyPair.publicKey)", "allowed_clients": "\(allowed.count)"])
        return setup
    }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (public, to share) and NAME.key_secret (mode 600).",
        discussion: """
            The files are CZMQ certificates, which pyzmq's zmq.auth.load_certificate also reads. \
            Give the secret file to the process it belongs to (--curve-secret-key), its public \
            file to the peers: servers list allowed clients with --curve-allow, clients name \
            their server with --curve-server-key. Existing files are never overwritten. \
            See docs/security.md.
            """)

    @Argument(help: "The key's name, e.g. ingest or a user's name.") var name: String
    @Option(help: "Directory to write to.") var directory = "."

    func run() throws {
        guard !name.isEmpty, !name.contains("/") else { throw ValidationError("NAME is a file name, without /") }
        let keyPair = try CurveKeyPair.generate()
        let base = directory + "/" + name + ".key"
        try CurveCertificate.write(keyPair, to: base)
        print("public key  \(keyPair.publicKey)")
        print("wrote       \(base) (public) and \(base)_secret (secret, mode 600)")
    }
}

/// A control token file: one line, readable by its owner only (docs/security.md).
enum ControlTokenFile {
    static func read(_ path: String) throws -> String {
        var status = stat()
        guard stat(path, &status) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the control token file \(path)")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw ValidationError("\(path) holds the control token but others may read it: chmod 600 \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= 16 else {
            throw ValidationError("the control token in \(path) is shorter than 16 characters (e.g. `openssl rand -hex 32 > \(path)`)")
        }
        return token
    }
}
