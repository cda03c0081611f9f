// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "mzpanel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mzpanel", targets: ["mzpanel"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Secret redaction for every text that leaves a process (logs, messages, run excerpts). Foundation only.
        .target(name: "Redaction", swiftSettings: strict),
        .testTarget(name: "RedactionTests", dependencies: ["Redaction"], swiftSettings: strict),
        // Files that hold secrets, created with their final mode (0600) in one step and renamed into place. Foundation only.
        .target(name: "SecretFiles", swiftSettings: strict),
        // One HTTP(S) call through libcurl, trusting only a given CA file (C, over the system's libcurl).
        .target(name: "CCurlHTTP", linkerSettings: [.linkedLibrary("curl")]),
        // The hub's trust for the agent and the CLI: system CAs (URLSession) or only a CA file (libcurl). Foundation only.
        .target(name: "TrustedHTTP", dependencies: ["CCurlHTTP"], swiftSettings: strict),
        // Pure domain: ids, plans, destinations, jobs, runs, schedules, retention. No I/O.
        .target(name: "BackupCore", swiftSettings: strict),
        // Versioned Codable messages between agent and hub.
        .target(name: "LinkProtocol", dependencies: ["BackupCore"], swiftSettings: strict),
        // The API contract shared by the hub, the CLI and the agent: request/response types and the JSON conventions (HubJSON).
        .target(name: "HubAPI", dependencies: ["BackupCore", "LinkProtocol"], swiftSettings: strict),
        // Storage port and its SQL implementation (SQLite by default, PostgreSQL).
        .target(
            name: "Store",
            dependencies: [
                "BackupCore", "LinkProtocol", "Redaction",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The hub: JSON API, authentication, OpenAPI document.
        .target(
            name: "ControlPlane",
            dependencies: [
                "BackupCore", "HubAPI", "Store", "LinkProtocol", "Redaction", "Sealing", "SecretFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA (RS256) for OpenID Connect ID tokens.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        // The CLI's client side: API client, the client commands, output formatting. Links no web framework and no store.
        .target(
            name: "MZPanelCLI",
            dependencies: [
                "BackupCore", "HubAPI", "Sealing", "SecretFiles", "TrustedHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // `mzpanel serve` and `mzpanel admin`: the commands that run the hub or work on its database.
        .target(
            name: "MZPanelHub",
            dependencies: [
                "BackupCore", "ControlPlane", "MZPanelCLI", "SecretFiles", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // Direct TLS for `mzpanel serve --tls-cert/--tls-key`: the only module that links NIO SSL.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mzpanel",
            dependencies: ["MZPanelCLI", "MZPanelHub", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // Benchmark (not a test): seeds a large fleet and prints listing latencies.
        .executableTarget(
            name: "mzpanel-bench", dependencies: ["Store", "ControlPlane", "BackupCore", "HubAPI", "LinkProtocol"], swiftSettings: strict),
        // Credential sealing (docs/sealing.md): HPKE, envelopes, vault, destination keys. The CLI seals, the agent opens.
        .target(
            name: "Sealing",
            dependencies: [
                "BackupCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SealingTests", dependencies: ["Sealing", "BackupCore", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Vectors")], swiftSettings: strict),
        // restic CLI adapter: command builder, JSON-lines decoder, exit-code mapping, version detection.
        .target(name: "ResticKit", dependencies: ["Redaction"], swiftSettings: strict),
        .testTarget(name: "ResticKitTests", dependencies: ["ResticKit"], swiftSettings: strict),
        // The agent on each server: state, hub link, outbox, slots, timers, job runner. No web framework, no NIO.
        .target(
            name: "Agent",
            dependencies: [
                "BackupCore", "HubAPI", "LinkProtocol", "Redaction", "ResticKit", "Sealing", "SecretFiles", "TrustedHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mzpanel-agent",
            dependencies: [
                "Agent", "BackupCore", "HubAPI", "LinkProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "BackupCore", "HubAPI", "LinkProtocol", "ResticKit", "SecretFiles",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "BackupCoreTests", dependencies: ["BackupCore"], swiftSettings: strict),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "BackupCore", "LinkProtocol",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: [
                "ControlPlane", "HubAPI", "LinkProtocol", "MZPanelCLI", "Store", "BackupCore", "Sealing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests", dependencies: ["BackupCore", "Sealing", "TrustedHTTP", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
    ]
)
