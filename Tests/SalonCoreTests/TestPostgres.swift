import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use (`SALON_TEST_POSTGRES`, the URL of its maintenance
/// database; `./scripts/test` starts a throw-away one), and a new empty database on it for
/// each test.
enum TestPostgres {
    static var serverURL: String? {
        ProcessInfo.processInfo.environment["SALON_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Creates a database of its own for one test; returns its URL.
    static func freshDatabase() async throws -> String {
        guard let server = serverURL, var parts = URLComponents(string: server), let host = parts.host else {
            throw TestPostgresError.notConfigured
        }
        let name = "salon_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres", password: parts.password,
            database: String(parts.path.dropFirst()), tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test-postgres"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        parts.path = "/" + name
        parts.query = "sslmode=disable"
        guard let url = parts.string else { throw TestPostgresError.notConfigured }
        return url
    }

    enum TestPostgresError: Error { case notConfigured }
}
