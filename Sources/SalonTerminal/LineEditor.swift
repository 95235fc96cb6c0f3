/// The input line: text, cursor, history and completion. Pure state, no terminal: the screen
/// draws it, tests drive it.
public struct LineEditor: Sendable {
    public private(set) var text: [Character] = []
    public private(set) var cursor = 0
    private var history: [String] = []
    private var historyIndex: Int?
    private var draft: [Character] = []

    public init() {}

    public var line: String { String(text) }

    /// What a key asks of the program.
    public enum Outcome: Equatable, Sendable {
        case edited
        case submit(String)
        /// Tab: complete the word at the cursor.
        case complete
        case quit
        case redraw
        case none
    }

    public mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .character(let c):
            text.insert(c, at: cursor)
            cursor += 1
        case .enter:
            let line = String(text)
            if !line.trimmingWhitespace.isEmpty, history.last != line { history.append(line) }
            text = []
            cursor = 0
            historyIndex = nil
            return .submit(line)
        case .tab:
            return .complete
        case .backspace:
            guard cursor > 0 else { return .none }
            text.remove(at: cursor - 1)
            cursor -= 1
        case .delete:
            guard cursor < text.count else { return .none }
            text.remove(at: cursor)
        case .endOfInput:
            if text.isEmpty { return .quit }
            guard cursor < text.count else { return .none }
            text.remove(at: cursor)
        case .interrupt:
            return .quit
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(text.count, cursor + 1)
        case .home: cursor = 0
        case .end: cursor = text.count
        case .wordLeft: cursor = wordStart(before: cursor)
        case .wordRight:
            var i = cursor
            while i < text.count, text[i].isWhitespace { i += 1 }
            while i < text.count, !text[i].isWhitespace { i += 1 }
            cursor = i
        case .deleteWordBackward:
            let start = wordStart(before: cursor)
            text.removeSubrange(start..<cursor)
            cursor = start
        case .deleteToStart:
            text.removeSubrange(0..<cursor)
            cursor = 0
        case .deleteToEnd:
            text.removeSubrange(cursor..<text.count)
        case .up:
            guard !history.isEmpty else { return .none }
            let index = (historyIndex ?? history.count) - 1
            guard index >= 0 else { return .none }
            if historyIndex == nil { draft = text }
            historyIndex = index
            text = Array(history[index])
            cursor = text.count
        case .down:
            guard let index = historyIndex else { return .none }
            if index + 1 < history.count {
                historyIndex = index + 1
                text = Array(history[index + 1])
            } else {
                historyIndex = nil
                text = draft
            }
            cursor = text.count
        case .redraw:
            return .redraw
        case .unknown:
            return .none
        }
        return .edited
    }

    /// The word being typed at the cursor, and whether it is the line's first word.
    public var wordAtCursor: (word: String, isFirst: Bool) {
        let start = wordStart(before: cursor)
        let isFirst = !text[0..<start].contains { !$0.isWhitespace }
        return (String(text[start..<cursor]), isFirst)
    }

    /// Completes the word at the cursor from `candidates`: to the one match (and a space), or
    /// to the matches' longest common prefix. Returns the matches when there are several.
    @discardableResult
    public mutating func complete(from candidates: [String]) -> [String] {
        let (word, _) = wordAtCursor
        let matches = Array(Set(candidates.filter { $0.lowercased().hasPrefix(word.lowercased()) })).sorted()
        guard !matches.isEmpty else { return [] }
        let replacement: String
        if matches.count == 1 {
            replacement = matches[0] + " "
        } else {
            replacement = Self.commonPrefix(matches)
            guard replacement.count >= word.count else { return matches }
        }
        let start = wordStart(before: cursor)
        text.replaceSubrange(start..<cursor, with: Array(replacement))
        cursor = start + replacement.count
        return matches.count == 1 ? [] : matches
    }

    /// Replaces the whole line (used to restore unsent input).
    public mutating func setLine(_ line: String) {
        text = Array(line)
        cursor = text.count
    }

    private func wordStart(before index: Int) -> Int {
        var i = index
        while i > 0, text[i - 1].isWhitespace { i -= 1 }
        while i > 0, !text[i - 1].isWhitespace { i -= 1 }
        return i
    }

    static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map(Array.init) else { return "" }
        for word in words.dropFirst() {
            let w = Array(word)
            var n = 0
            while n < prefix.count, n < w.count, prefix[n].lowercased() == w[n].lowercased() { n += 1 }
            prefix = Array(prefix[0..<n])
        }
        return String(prefix)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
