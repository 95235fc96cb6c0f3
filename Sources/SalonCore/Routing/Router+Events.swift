import SalonProtocol

/// `sync` (PROTOCOL.md §5a) and `search` (§5).
extension Router {
    /// The events after `since` that reach the user, each as the push it was, up to the
    /// newest `seq` applied here when the request came (later ones reach this connection as
    /// pushes): with the answer's `seq`, a client is exactly up to date.
    func sync(_ p: SyncRequest, _ session: Session, _ user: SessionUser, replyTo: String?) async throws -> EncodedFrame {
        let limit = p.limit ?? Limits.syncDefault
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        let page = min(limit, Limits.syncPage)
        let (bound, guestPeriods) = hub.withState { s in (s.appliedSeq, s.online[user.id]?.periods ?? []) }
        guard p.since >= 0 else { throw ProtocolError(.invalidField, "'since' is a seq: 0 or more") }
        guard p.since <= bound else {
            throw ProtocolError(.invalidField, "'since' (\(p.since)) is newer than the newest seq (\(bound))")
        }
        let periods = user.isGuest ? guestPeriods : try await store.membershipPeriods(userID: user.id, after: p.since)
        let found = try await store.events(userID: user.id, periods: periods, after: p.since, through: bound, limit: page + 1)
        let rendered = found.map { (seq: $0.seq, action: $0.type.rawValue, data: $0.data) }
        let (kept, hasMore) = Paging.fit(rendered[...], limit: page, fromEnd: false) { 48 + $0.data.count }
        let seq = hasMore ? kept.last?.seq ?? p.since : bound
        return EnvelopeEncoder.syncSuccess(replyTo: replyTo, events: kept, hasMore: hasMore, seq: seq)
    }

    /// Every word, compared without regard to case or accents, the last also as a prefix;
    /// `"quoted words"` as a phrase. Newest first, in what the user may read.
    func search(_ p: SearchRequest, _ session: Session, _ user: SessionUser) async throws -> HistoryResult {
        let limit = p.limit ?? Limits.searchDefault
        guard limit >= 1 else { throw ProtocolError(.invalidField, "'limit' must be at least 1") }
        let terms = try SearchSyntax.terms(for: p.query)
        var conversation: String?
        if p.room != nil || p.with != nil {
            conversation = try await resolveTarget(room: p.room, with: p.with, field: "with", for: user).conversation.key
        }
        let roomIDs = hub.withState { s in (s.memberships[user.id] ?? []).compactMap { s.rooms[$0]?.id } }
        let page = min(limit, Limits.searchPage)
        let found = try await store.search(SearchQuery(
            terms: terms, roomIDs: roomIDs, userID: user.id, includeDirect: true, conversation: conversation, before: p.before, limit: page + 1
        ))
        let (kept, hasMore) = Paging.fit(found.map(\.wire)[...], limit: page, fromEnd: false, size: JSONSize.message)
        return HistoryResult(messages: kept, hasMore: hasMore)
    }
}

/// A `search` query as terms, all of them required: each word, and each `"phrase"` as its
/// words in order; the last word of an unquoted last term also as a prefix. Words are runs of
/// letters and digits (`SearchText.words`), so nothing a user types is ever query syntax to a
/// backend; terms with no letter or digit are dropped.
public enum SearchSyntax {
    public static func terms(for query: String) throws -> [SearchTerm] {
        guard query.unicodeScalars.count <= Limits.queryLength else {
            throw ProtocolError(.invalidField, "a search query has at most \(Limits.queryLength) characters")
        }
        try Router.checkNoControl(query, field: "query")
        var terms: [SearchTerm] = []
        var current = ""
        var inPhrase = false
        func flush(phrase: Bool) {
            let words = SearchText.words(in: current)
            if !words.isEmpty { terms.append(SearchTerm(words: words, isPhrase: phrase)) }
            current = ""
        }
        for character in query {
            if character == "\"" {
                flush(phrase: inPhrase)
                inPhrase.toggle()
            } else if character.isWhitespace && !inPhrase {
                flush(phrase: false)
            } else {
                current.append(character)
            }
        }
        flush(phrase: inPhrase)
        guard !terms.isEmpty else { throw ProtocolError(.invalidField, "a search needs at least one word") }
        guard terms.reduce(0, { $0 + $1.words.count }) <= Limits.queryWords else {
            throw ProtocolError(.invalidField, "a search has at most \(Limits.queryWords) words")
        }
        if !terms[terms.count - 1].isPhrase { terms[terms.count - 1].prefix = true }
        return terms
    }
}
