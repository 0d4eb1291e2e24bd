#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemRead = Glibc.read
#else
private let systemRead = Darwin.read
#endif

/// Corpus files on disk, without Foundation.
public enum FuzzFiles {
    /// `path` itself when it is a file; the regular files under it, sorted, when it is a
    /// directory (hidden ones and README files skipped); nothing when it does not exist.
    public static func list(_ path: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        guard info.st_mode & S_IFMT == S_IFDIR else { return [path] }
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(".") || name.hasPrefix("README") { continue }
            names.append(name)
        }
        return names.sorted().flatMap { list(path + "/" + $0) }
    }

    /// The bytes of a file, or nil if it cannot be read.
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }
}
