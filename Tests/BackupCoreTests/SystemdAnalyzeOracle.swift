import Foundation

/// Runs `systemd-analyze calendar` (the reference implementation of calendar events) and
/// reads its answers. Used only by the conformance tests.
enum SystemdAnalyzeOracle {
    /// Path of `systemd-analyze`, if installed.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = directory + "/systemd-analyze"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    static var isAvailable: Bool { executable != nil }

    struct Answer: Equatable {
        /// "Normalized form:" line.
        var normalized: String
        /// Elapse times as printed in UTC, "yyyy-MM-dd HH:mm:ss" (systemd prints whole seconds).
        var elapses: [String]
    }

    struct Batch {
        /// Keyed by the expression as given.
        var answers: [String: Answer]
        /// The error messages systemd-analyze printed.
        var standardError: String
    }

    /// Evaluates `expressions` from `base` (a UTC time "yyyy-MM-dd HH:mm:ss") with TZ=UTC.
    static func evaluate(_ expressions: [String], base: String, iterations: Int) throws -> Batch {
        guard let executable else { throw OracleError.notInstalled }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["calendar", "--base-time=\(base) UTC", "--iterations=\(iterations)"] + expressions
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["COLUMNS"] = "2000"
        environment["LC_ALL"] = "C"
        environment["SYSTEMD_COLORS"] = "0"
        environment["SYSTEMD_PAGER"] = "cat"
        process.environment = environment
        // Standard output through a pipe; error messages into a temporary file, so that the
        // two streams can neither interleave mid-line nor block each other.
        let errorFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("systemd-analyze-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorHandle.close()
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return Batch(answers: parse(String(decoding: data, as: UTF8.self)), standardError: errors)
    }

    enum OracleError: Error { case notInstalled }

    private static func value(_ line: String, after label: String) -> String? {
        guard let range = line.range(of: label) else { return nil }
        let before = line[line.startIndex..<range.lowerBound]
        guard before.allSatisfy({ $0 == " " }) else { return nil }
        return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
    }

    /// "Fri 2026-11-27 01:30:00 UTC" → "2026-11-27 01:30:00".
    private static func timestamp(_ text: String) -> String {
        let parts = text.split(separator: " ")
        return parts.count >= 3 ? "\(parts[1]) \(parts[2])" : text
    }

    static func parse(_ stdout: String) -> [String: Answer] {
        var answers: [String: Answer] = [:]
        var key: String?
        var original: String?
        var current: Answer?
        func flush() {
            if let k = key, let a = current { answers[k] = a }
            key = nil
            original = nil
            current = nil
        }
        for line in stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()  // blocks are separated by blank lines
            } else if let v = value(line, after: "Original form:") {
                flush()
                original = v
            } else if let v = value(line, after: "Normalized form:") {
                if current != nil { flush() }  // a new block without an "Original form:" line
                key = original ?? v
                current = Answer(normalized: v, elapses: [])
            } else if let v = value(line, after: "Next elapse:") {
                if v != "never" { current?.elapses.append(timestamp(v)) }
            } else if line.trimmingCharacters(in: .whitespaces).hasPrefix("Iter. #"),
                let colon = line.firstIndex(of: ":")
            {
                current?.elapses.append(timestamp(String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
        }
        flush()
        return answers
    }

    /// A Date printed like systemd prints it with TZ=UTC (whole seconds).
    static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ v: Int?) -> String {
            let v = v ?? 0
            return v < 10 ? "0\(v)" : "\(v)"
        }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }

    /// Parses "yyyy-MM-dd HH:mm:ss" as UTC.
    static func date(_ text: String) -> Date {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.date(from: text)!
    }
}
