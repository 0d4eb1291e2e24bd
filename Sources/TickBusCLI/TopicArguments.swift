import ArgumentParser
import TickBusCore

/// TOPIC arguments (`T.AAPL`, `T.`, `T.AA*`, `*`) as filters; a bad one is a usage error.
func topicFilters(_ topics: [String]) throws -> [TopicFilter] {
    try topics.map { topic in
        do { return try TopicFilter(topic) } catch { throw ValidationError("\(error)") }
    }
}
