import TickBusCore

/// A plain JSON rendering of a ``KValue``, for tools and for cross-checking with other
/// decoders: atoms and vectors are `{"t":type,"v":value}` (type negative for atoms), general
/// lists are arrays, tables `{"table":[names,columns]}`, dictionaries `{"dict":[keys,values]}`,
/// errors `{"error":text}`, `::` is `"::"`. Symbols and chars are strings; NaN and infinities
/// are the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
public enum KJSON {
    public static func render(_ v: KValue) -> String {
        switch v {
        case .atom(let t, let s): return #"{"t":\#(-Int(t.rawValue)),"v":\#(scalar(s, t))}"#
        case .vector(.char, .bytes(let b), _): return #"{"t":10,"v":\#(JSONObject.quote(String(decoding: b, as: UTF8.self)))}"#
        case .vector(let t, let c, _): return #"{"t":\#(t.rawValue),"v":[\#(items(c).joined(separator: ","))]}"#
        case .list(let l, _): return "[" + l.map(render).joined(separator: ",") + "]"
        case .table(let names, let cols, _):
            return #"{"table":[\#(render(.symbols(names))),\#(render(.list(cols)))]}"#
        case .dictionary(let k, let v, _): return #"{"dict":[\#(render(k)),\#(render(v))]}"#
        case .error(let e): return #"{"error":\#(JSONObject.quote(e))}"#
        case .identity: return #""::""#
        case .function: return #""function""#
        }
    }

    static func scalar(_ s: KScalar, _ t: KType) -> String {
        switch s {
        case .integer(let i): t == .char ? JSONObject.quote(String(decoding: [UInt8(truncatingIfNeeded: i)], as: UTF8.self)) : String(i)
        case .real(let f): number(Double(f))
        case .float(let f): number(f)
        case .symbol(let s): JSONObject.quote(s)
        case .guid(let g): JSONObject.quote(g.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }

    static func items(_ c: KColumn) -> [String] {
        switch c {
        case .bytes(let v): v.map { String($0) }
        case .guids(let v): v.map { scalar(.guid($0), .guid) }
        case .shorts(let v): v.map { String($0) }
        case .ints(let v): v.map { String($0) }
        case .longs(let v): v.map { String($0) }
        case .reals(let v): v.map { number(Double($0)) }
        case .floats(let v): v.map(number)
        case .symbols(let v): v.map(JSONObject.quote)
        }
    }

    static func number(_ d: Double) -> String {
        if d.isNaN { return #""NaN""# }
        if d.isInfinite { return d > 0 ? #""Infinity""# : #""-Infinity""# }
        return d.description
    }
}
