import Foundation
import TickBusCore

/// `tickbus history validate`'s report as a table or as JSON.
public enum HistoryReportFormatter {
    public static func text(_ report: HistoryValidate.Report) -> String {
        guard report.files > 0 else { return "no files: nothing checked" }
        var lines = ["files \(report.files), rows \(report.rows): \(report.ok ? "all checks passed" : "FAILED")"]
        let width = HistoryValidate.Check.allCases.map(\.rawValue.count).max() ?? 0
        for check in HistoryValidate.Check.allCases {
            let count = report.failures[check] ?? 0
            lines.append("  " + check.rawValue.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + (count == 0 ? "ok" : "\(count) failed"))
        }
        for check in HistoryValidate.Check.allCases {
            for problem in report.examples[check] ?? [] { lines.append("\(check.rawValue): \(problem)") }
        }
        return lines.joined(separator: "\n")
    }

    public static func json(_ report: HistoryValidate.Report) -> String {
        var out = JSONObject()
        out.add("ok", raw: report.ok ? "true" : "false")
        out.add("files", raw: String(report.files))
        out.add("rows", raw: String(report.rows))
        var failures = JSONObject()
        for check in HistoryValidate.Check.allCases { failures.add(check.rawValue, raw: String(report.failures[check] ?? 0)) }
        out.add("failures", raw: failures.text)
        var examples: [String] = []
        for check in HistoryValidate.Check.allCases {
            for problem in report.examples[check] ?? [] {
                var e = JSONObject()
                e.add("check", string: check.rawValue)
                e.add("file", string: problem.path)
                e.add("line", raw: String(problem.line))
                e.add("message", string: problem.message)
                examples.append(e.text)
            }
        }
        out.add("examples", raw: "[" + examples.joined(separator: ",") + "]")
        return out.text
    }
}
