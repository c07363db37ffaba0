/// Numbers a Telnyx search offered lately, handed out one per caller on this process: concurrent
/// orders here never pick the same number, and most orders need no search of their own (a search
/// is 0.5 s of a claim's wait for its tools). One search at a time per country; the others wait
/// for it. A list older than `ttl`, or one that a collision showed stale (others buy numbers too),
/// is searched again. Used by `InProcessServices.phoneNumber`.
package actor NumberCandidates {
    private struct List {
        package var numbers: [String]
        package let at: ContinuousClock.Instant
    }
    private var lists: [String: List] = [:]
    private var searches: [String: Task<[String], any Error>] = [:]
    private let ttl: Duration

    package init(ttl: Duration = .seconds(30)) { self.ttl = ttl }

    /// A number to order that no other caller here was given, searching with `search` when the
    /// list is empty or old; nil when a fresh search found none.
    package func take(country: String, search: @escaping @Sendable () async throws -> [String]) async throws -> String? {
        if let number = pop(country) { return number }
        let running = searches[country] ?? Task { try await search() }
        searches[country] = running
        let found: [String]
        do { found = try await running.value } catch {
            if searches[country] == running { searches[country] = nil }
            throw error
        }
        // The first waiter back stores the list; the others take from it.
        if searches[country] == running {
            searches[country] = nil
            lists[country] = List(numbers: found.shuffled(), at: .now)
        }
        return pop(country)
    }

    /// Another buyer got a number from the list first: the rest are as suspect, search again.
    package func stale(country: String) { lists[country] = nil }

    private func pop(_ country: String) -> String? {
        guard var list = lists[country], ContinuousClock.now - list.at < ttl, !list.numbers.isEmpty else { return nil }
        let number = list.numbers.removeLast()
        lists[country] = list
        return number
    }
}
