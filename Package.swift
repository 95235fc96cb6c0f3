// swift-tools-version:6.1
// Salon: a self-hosted chat server. One module per layer:
//   SalonProtocol (wire: envelopes, payloads, frame codec; no I/O)
//   SalonMedia (uploaded images: their type, size, and metadata removed; no I/O)
//   → SalonCore (sessions, rooms, routing, fan-out, the action table; no sockets)
//   → SalonStore (the SQLite implementation of SalonCore's store interface)
//   → SalonServer (Hummingbird HTTP/WebSocket and NIO TCP adapters onto the core)
//   SalonClient (async client library over WebSocket and TCP), and the `salon` executable.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "salon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "salon", targets: ["salon"]),
        .library(name: "SalonProtocol", targets: ["SalonProtocol"]),
        .library(name: "SalonIRC", targets: ["SalonIRC"]),
        .library(name: "SalonClient", targets: ["SalonClient"]),
        // For the micro-benchmarks in Benchmarks/ (a package of their own).
        .library(name: "SalonCore", targets: ["SalonCore"]),
        .library(name: "SalonStore", targets: ["SalonStore"]),
        // LD_PRELOAD-ed into the server by the allocation budget test (glibc only).
        .library(name: "SalonMallocCounter", type: .dynamic, targets: ["SalonMallocCounter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.0.0"),
    ],
    targets: [
        .target(
            name: "SalonProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The IRC line format, and Salon's pushes as IRC lines (PROTOCOL.md §9); no I/O.
        .target(
            name: "SalonIRC",
            dependencies: ["SalonProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SalonMedia",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SalonCore",
            dependencies: [
                "SalonProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SalonStore",
            dependencies: [
                "SalonCore",
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SalonServer",
            dependencies: [
                "SalonProtocol", "SalonCore", "SalonStore", "SalonMedia", "SalonIRC",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            // The web client: plain HTML, CSS and JavaScript modules, served as they are,
            // embedded in the binary at build time (the EmbedWeb plugin).
            exclude: ["Web"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedWeb"]
        ),
        .executableTarget(
            name: "salon-embed-web",
            path: "Sources/salon-embed-web"
        ),
        .plugin(
            name: "EmbedWeb",
            capability: .buildTool(),
            dependencies: ["salon-embed-web"]
        ),
        .target(
            name: "SalonClient",
            dependencies: [
                "SalonProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SalonTerminal",
            dependencies: [
                "SalonClient", "SalonProtocol",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "SalonMallocCounter"),
        .target(
            name: "SalonBench",
            dependencies: [
                "SalonProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "salon",
            dependencies: [
                "SalonServer", "SalonClient", "SalonTerminal", "SalonProtocol", "SalonBench", "SalonCore", "SalonStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonIRCTests",
            dependencies: ["SalonIRC", "SalonProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonProtocolTests",
            dependencies: ["SalonProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonMediaTests",
            dependencies: ["SalonMedia", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonCoreTests",
            dependencies: [
                "SalonCore", "SalonStore", "SalonProtocol",
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonTerminalTests",
            dependencies: ["SalonTerminal", "SalonProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SalonServerTests",
            dependencies: [
                "SalonServer", "SalonClient", "SalonCore", "SalonStore", "SalonProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Certificates made by the TLS tests.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
