/// A storage failure with no database error behind it, or one put in words for the person
/// who runs the server (an unreachable database, a bad address).
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
