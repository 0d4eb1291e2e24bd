@testable import KDB

/// Renders a ``KValue`` in the notation of the fixtures' `qipc_decoded` field: Python's repr of
/// what a reference decoder produced (`Atom(7,1)`, `Vector(10,b'abc')`, `List([...])`, ...).
enum PythonNotation {
    static func render(_ v: KValue) -> String {
        switch v {
        case .atom(let t, let s): return "Atom(\(t.rawValue),\(scalar(s, t)))"
        case .vector(.char, .bytes(let b), _): return "Vector(10,\(bytes(b)))"
        case .vector(let t, let c, _): return "Vector(\(t.rawValue),[\(items(c, t).joined(separator: ", "))])"
        case .list(let l, _): return "List([\(l.map(render).joined(separator: ", "))])"
        case .dictionary(let k, let v, _): return "Dict(\(render(k)),\(render(v)))"
        case .table(let names, let cols, _):
            return "Table([\(names.map(str).joined(separator: ", "))],[\(cols.map(render).joined(separator: ", "))])"
        case .error(let e): return "QError(\(e))"
        case .identity: return "(::)"
        case .function(let f):
            switch f {
            case .lambda(let ctx, let src): return "('lambda', \(str(ctx)), \(render(src)))"
            case .primitive(101, let code): return "('unary', \(code))"
            case .primitive(let t, let code): return "('func', \(t), \(code))"
            case .composite(let t, let l): return "('func', \(t), [\(l.map(render).joined(separator: ", "))])"
            case .derived(let t, let x): return "('func', \(t), \(render(x)))"
            }
        }
    }

    static func scalar(_ s: KScalar, _ t: KType) -> String {
        switch s {
        case .integer(let i): return t == .char ? bytes([UInt8(truncatingIfNeeded: i)]) : String(i)
        case .real(let f): return float(Double(f))
        case .float(let f): return float(f)
        case .symbol(let s): return str(s)
        case .guid(let g): return bytes(g)
        }
    }

    static func items(_ c: KColumn, _ t: KType) -> [String] {
        switch c {
        case .bytes(let v): v.map { String($0) }
        case .guids(let v): v.map(bytes)
        case .shorts(let v): v.map { String($0) }
        case .ints(let v): v.map { String($0) }
        case .longs(let v): v.map { String($0) }
        case .reals(let v): v.map { float(Double($0)) }
        case .floats(let v): v.map(float)
        case .symbols(let v): v.map(str)
        }
    }

    static func float(_ d: Double) -> String { d.isNaN ? "nan" : d.description }

    /// Python's `repr(bytes)`.
    static func bytes(_ b: [UInt8]) -> String {
        let quote: UInt8 = b.contains(0x27) && !b.contains(0x22) ? 0x22 : 0x27
        var out = "b" + String(UnicodeScalar(quote))
        for c in b {
            switch c {
            case 0x5C: out += "\\\\"
            case 0x09: out += "\\t"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case quote: out += "\\" + String(UnicodeScalar(c))
            case 0x20..<0x7F: out += String(UnicodeScalar(c))
            default:
                let hex = String(c, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out + String(UnicodeScalar(quote))
    }

    /// Python's `repr(str)` for ASCII text.
    static func str(_ s: String) -> String { String(bytes(Array(s.utf8)).dropFirst()) }
}
