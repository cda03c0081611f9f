import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent

/// A clock that stays at one moment.
struct FixedClock: HubClock {
    let moment: Date
    func now() -> Date { moment }
}

/// A temporary directory removed when the body ends.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.path + "/agent-tests-\(UUID().uuidString.prefix(12))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

enum Fixtures {
    static let accountID = "acc_aaaaaaaaaaaaaaaaaaaa"
    static let serverID = "srv_bbbbbbbbbbbbbbbbbbbb"
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func job(
        id: String = ResourceID.make(.job), name: String = "nightly", kind: JobKind = .full,
        paths: [String] = [], excludes: [String] = [], databases: [DatabaseSource] = [],
        schedule: String = "daily 02:30", retention: RetentionPolicy = .init(keepLast: 1),
        destinationIDs: [String] = [], enabled: Bool = true
    ) throws -> Job {
        Job(
            id: id, accountID: accountID, serverID: serverID, name: name, kind: kind,
            sources: JobSources(paths: paths, excludes: excludes, databases: databases),
            schedule: try Schedule.parse(schedule), retention: retention, destinationIDs: destinationIDs,
            enabled: enabled, createdAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func localDestination(id: String = ResourceID.make(.destination), path: String) -> Destination {
        Destination(
            id: id, accountID: accountID, name: "local disk", kind: .local, settings: DestinationSettings(path: path),
            createdAt: Date(), updatedAt: Date())
    }

    /// An enrolled state directory (identity, credential, jobs) pointing at an unreachable hub.
    static func enrolledState(in root: String, jobs: [AgentJob], hubURL: String = "http://127.0.0.1:9") throws -> AgentState {
        let state = AgentState(directory: root + "/state")
        try state.prepare()
        try state.saveIdentity(AgentIdentity(serverID: serverID, accountID: accountID, serverName: "test-box", hubURL: hubURL))
        try state.saveCredential("mza_test_credential_value")
        try state.saveJobs(AgentJobSet(serverID: serverID, jobs: jobs))
        return state
    }

    /// `files` files of a few KiB in two sub-directories, with varied content.
    static func makeTree(at path: String, files: Int, seed: UInt8 = 1) throws {
        for index in 0..<files {
            let directory = path + "/d\(index % 2)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let bytes = (0..<(2048 + index * 37)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ Int(seed)) }
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/f\(index).bin"))
        }
    }
}

/// Runs a program and returns its exit status and combined output.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
