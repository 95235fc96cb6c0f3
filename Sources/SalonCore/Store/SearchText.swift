/// One required term of a search: a word, or a phrase (its words next to each other, in
/// order). With `prefix`, the last word also matches any word it begins.
public struct SearchTerm: Sendable, Equatable {
    public var words: [String]
    public var isPhrase: Bool
    public var prefix: Bool
    public init(words: [String], isPhrase: Bool = false, prefix: Bool = false) {
        self.words = words
        self.isPhrase = isPhrase
        self.prefix = prefix
    }
}

/// What search sees of a text: its words, the runs of letters, digits and the marks that go
/// with them; everything else separates words. Both backends index and query these words
/// (SQLite's FTS5 tokenizer splits the same way; PostgreSQL is given them joined by spaces),
/// so that one query finds the same messages on either, and a word can only ever be a word,
/// never query syntax. Case and accents are folded by each backend (`remove_diacritics`,
/// `unaccent`).
public enum SearchText {
    public static func words(in text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isWordScalar(scalar) {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// The text as its words separated by single spaces (what PostgreSQL indexes).
    public static func normalized(_ text: String) -> String {
        words(in: text).joined(separator: " ")
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark, .privateUse:
            return true
        default:
            return false
        }
    }
}
