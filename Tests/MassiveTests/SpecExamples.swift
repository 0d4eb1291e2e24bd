import Foundation

/// The example payload of every channel in Massive's WebSocket spec
/// (`Tests/fixtures/massive/websocket-spec.json`, copied from Massive's published spec), as the
/// raw JSON text of the file, so numbers reach the decoder exactly as Massive wrote them.
enum SpecExamples {
    static let all: [String: String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../fixtures/massive/websocket-spec.json")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [:] }
        var examples: [String: String] = [:]
        var path: String?
        var collecting: [Substring] = []
        var depth = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if depth > 0 {
                collecting.append(line)
                depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
                if depth == 0, let path {
                    examples[path] = "[" + collecting.joined(separator: "\n") + "]"
                    collecting = []
                }
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    \"/"), trimmed.hasSuffix("{"), let end = trimmed.dropFirst().firstIndex(of: "\"") {
                path = String(trimmed[trimmed.index(after: trimmed.startIndex)..<end])
            } else if trimmed == "\"example\": {" {
                collecting = ["{"]
                depth = 1
            }
        }
        return examples
    }()
}
