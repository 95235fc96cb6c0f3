// swift-tools-version:6.1
// Fuzz targets for Salon's decoders, run by libFuzzer (coverage-guided, with AddressSanitizer):
// the TCP frame decoder, the fast JSON parser (checked against the strict validator) and
// envelope decoding, and IRC lines and text. A package of its own: it is built with sanitizer flags in its own build
// folder, so the main build is untouched. Run: ./scripts/fuzz TARGET SECONDS (see its header).
import PackageDescription

let package = Package(
    name: "salon-fuzz",
    dependencies: [
        .package(name: "salon", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        .executableTarget(
            name: "SalonFuzz",
            dependencies: [
                .product(name: "SalonProtocol", package: "salon"),
                .product(name: "SalonIRC", package: "salon"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
