import SalonProtocol

/// Pages of the lists that grow with the server (`list_rooms`, `list_users`, `members`):
/// sorted by a name, from after `after`, at most `limit` items and at most the reply budget,
/// with `has_more` when something was left for the next page.
enum Paging {
    static func limit(_ raw: Int?) throws -> Int {
        let limit = raw ?? Limits.listDefault
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        return min(limit, Limits.listPage)
    }

    /// `items` must be sorted by `name` (compared as given); `after` is compared the same way.
    static func page<T>(_ items: [T], after: String?, limit: Int, name: (T) -> String, size: (T) -> Int) -> (items: [T], hasMore: Bool) {
        var start = items.startIndex
        if let after {
            // The first item whose name sorts after `after` (binary search: the list is sorted).
            var low = items.startIndex, high = items.endIndex
            while low < high {
                let mid = (low + high) / 2
                if name(items[mid]) <= after { low = mid + 1 } else { high = mid }
            }
            start = low
        }
        return fit(items[start...], limit: limit, fromEnd: false, size: size)
    }

    /// At most `limit` of `items` and at most the reply budget (always at least one item):
    /// the first ones, or with `fromEnd` the last ones, in their order; true when some were
    /// left out. Every list reply is cut here.
    static func fit<T>(_ items: ArraySlice<T>, limit: Int, fromEnd: Bool, size: (T) -> Int) -> (items: [T], hasMore: Bool) {
        var budget = Limits.replyBudget
        var count = 0
        for index in fromEnd ? Array(items.indices.reversed()) : Array(items.indices) {
            let cost = size(items[index])
            guard count < limit, count == 0 || cost <= budget else { break }
            budget -= cost
            count += 1
        }
        return (fromEnd ? Array(items.suffix(count)) : Array(items.prefix(count)), count < items.count)
    }
}
