// swift-tools-version:6.1
// Micro-benchmarks of Salon's hot paths, with ordo-one/benchmark (allocation counts included).
// A package of its own so that the main build and CI do not compile the benchmark tooling.
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
    name: "salon-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "salon", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SalonBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SalonProtocol", package: "salon"),
                .product(name: "SalonCore", package: "salon"),
                .product(name: "SalonStore", package: "salon"),
            ],
            path: "Benchmarks/SalonBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
