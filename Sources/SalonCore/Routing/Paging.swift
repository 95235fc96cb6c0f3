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
        page(items, after: after, limit: limit, name: name, render: { $0 }, size: size)
    }

    /// A page of `items` (sorted by `name`) rendered by `render`: only the items of the page
    /// are rendered, so a long sorted list (a room's members) is paged without copying it.
    static func page<T, U>(_ items: [T], after: String?, limit: Int, name: (T) -> String, render: (T) -> U,
                           size: (U) -> Int) -> (items: [U], hasMore: Bool) {
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
        return fit(items[start...], limit: limit, fromEnd: false, render: render, size: size)
    }

    /// At most `limit` of `items` and at most the reply budget (always at least one item):
    /// the first ones, or with `fromEnd` the last ones, in their order; true when some were
    /// left out. Every list reply is cut here.
    static func fit<T>(_ items: ArraySlice<T>, limit: Int, fromEnd: Bool, size: (T) -> Int) -> (items: [T], hasMore: Bool) {
        fit(items, limit: limit, fromEnd: fromEnd, render: { $0 }, size: size)
    }

    /// `fit`, rendering only the items kept.
    static func fit<T, U>(_ items: ArraySlice<T>, limit: Int, fromEnd: Bool, render: (T) -> U,
                          size: (U) -> Int) -> (items: [U], hasMore: Bool) {
        var budget = Limits.replyBudget
        var kept: [U] = []
        kept.reserveCapacity(min(limit, items.count))
        var index = fromEnd ? items.endIndex - 1 : items.startIndex
        while kept.count < limit, index >= items.startIndex, index < items.endIndex {
            let item = render(items[index])
            let cost = size(item)
            guard kept.isEmpty || cost <= budget else { break }
            budget -= cost
            kept.append(item)
            index += fromEnd ? -1 : 1
        }
        if fromEnd { kept.reverse() }
        return (kept, kept.count < items.count)
    }
}
