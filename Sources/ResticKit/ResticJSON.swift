import Foundation

/// Decoding of restic's JSON output. Unknown fields and message types are ignored; numbers are
/// read leniently (restic 0.14 prints `seconds_remaining` as 2^63 when it does not know, which no
/// signed 64-bit integer holds).
enum JSONLines {
    private struct Envelope: Decodable {
        let message_type: String?
    }

    enum BackupMessage {
        case status(ResticProgress)
        case summary(SummaryLine)
        case error(String)
        case other
    }

    struct SummaryLine {
        var summary: ResticBackupSummary
        var snapshotID: String?
    }

    static func decodeBackupLine(_ line: String) -> BackupMessage? {
        guard line.hasPrefix("{"), let data = line.data(using: .utf8) else { return nil }
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else { return nil }
        switch envelope.message_type {
        case "status":
            guard let status = try? decoder.decode(Status.self, from: data) else { return .other }
            return .status(status.progress)
        case "summary":
            guard let summary = try? decoder.decode(Summary.self, from: data) else { return .other }
            return .summary(SummaryLine(summary: summary.summary, snapshotID: summary.snapshotID))
        case "error":
            guard let error = try? decoder.decode(ItemError.self, from: data) else { return .other }
            return .error(error.text)
        default:
            return .other
        }
    }

    /// The human text of a JSON error line on stderr (`exit_error`, `error`), else nil.
    static func errorText(fromJSONLine line: String) -> String? {
        guard let data = line.data(using: .utf8) else { return nil }
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else { return nil }
        switch envelope.message_type {
        case "exit_error":
            return (try? decoder.decode(ExitError.self, from: data))?.message.map { "Fatal: " + stripFatal($0) }
        case "error":
            return (try? decoder.decode(ItemError.self, from: data))?.text
        default:
            return nil
        }
    }

    /// The exit code carried by a 0.18+ `exit_error` line, if any.
    static func exitErrorCode(in stderr: String) -> Int? {
        for line in stderr.split(whereSeparator: \.isNewline) where line.hasPrefix("{") {
            if let data = String(line).data(using: .utf8),
                let exit = try? JSONDecoder().decode(ExitError.self, from: data), exit.message_type == "exit_error"
            {
                return exit.code
            }
        }
        return nil
    }

    private static func stripFatal(_ text: String) -> String {
        text.hasPrefix("Fatal: ") ? String(text.dropFirst("Fatal: ".count)) : text
    }

    // MARK: backup

    private struct Status: Decodable {
        let progress: ResticProgress

        enum CodingKeys: String, CodingKey {
            case percent_done, total_files, files_done, total_bytes, bytes_done, seconds_elapsed, seconds_remaining, error_count
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let remaining = c.lenientInt(.seconds_remaining)
            progress = ResticProgress(
                percentDone: min(max(c.lenientDouble(.percent_done) ?? 0, 0), 1),
                totalFiles: c.count(.total_files),
                filesDone: c.count(.files_done),
                totalBytes: c.count(.total_bytes),
                bytesDone: c.count(.bytes_done),
                secondsElapsed: c.count(.seconds_elapsed),
                secondsRemaining: remaining.flatMap { $0 >= 1 << 53 ? nil : $0 },
                errorCount: c.count(.error_count)
            )
        }
    }

    private struct Summary: Decodable {
        let summary: ResticBackupSummary
        let snapshotID: String?

        enum CodingKeys: String, CodingKey {
            case files_new, files_changed, files_unmodified, dirs_new, dirs_changed, dirs_unmodified
            case data_added, total_files_processed, total_bytes_processed, total_duration, snapshot_id
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let id = try c.decodeIfPresent(String.self, forKey: .snapshot_id)
            snapshotID = id
            summary = ResticBackupSummary(
                snapshotID: id ?? "",
                filesNew: c.count(.files_new),
                filesChanged: c.count(.files_changed),
                filesUnmodified: c.count(.files_unmodified),
                dirsNew: c.count(.dirs_new),
                dirsChanged: c.count(.dirs_changed),
                dirsUnmodified: c.count(.dirs_unmodified),
                dataAdded: c.count(.data_added),
                totalBytesProcessed: c.count(.total_bytes_processed),
                totalFilesProcessed: c.count(.total_files_processed),
                totalDuration: c.lenientDouble(.total_duration) ?? 0
            )
        }
    }

    /// A backup `error` message. restic 0.15+ prints `{"error":{"message":"…"},"item":…}`; 0.14
    /// prints Go's error struct: `{"error":{"Op":"read","Path":"/x","Err":5},"during":"archival","item":"/x"}`.
    /// check 0.18+ prints `{"message_type":"error","message":"…"}`.
    private struct ItemError: Decodable {
        struct Inner: Decodable {
            let message: String?
            let Op: String?
            let Path: String?
            let errno: Int?

            enum CodingKeys: String, CodingKey { case message, Op, Path, Err }

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                message = try? c.decodeIfPresent(String.self, forKey: .message)
                Op = try? c.decodeIfPresent(String.self, forKey: .Op)
                Path = try? c.decodeIfPresent(String.self, forKey: .Path)
                errno = c.lenientInt(.Err)
            }
        }

        let error: Inner?
        let message: String?
        let during: String?
        let item: String?

        var text: String {
            if let message, !message.isEmpty { return message }
            let item = self.item ?? error?.Path ?? ""
            if let text = error?.message, !text.isEmpty {
                return item.isEmpty || text.contains(item) ? text : "\(item): \(text)"
            }
            var reason = "could not be read"
            if let code = error?.errno, code > 0, let cText = strerror(Int32(code)) {
                reason = String(cString: cText).lowercased()
            }
            let op = error?.Op ?? during ?? "read"
            return item.isEmpty ? "\(op): \(reason)" : "\(op) \(item): \(reason)"
        }
    }

    private struct ExitError: Decodable {
        let message_type: String?
        let code: Int?
        let message: String?
    }

    // MARK: snapshots / forget

    struct Snapshot: Decodable {
        let id: String
        let short_id: String?
        let time: String
        let paths: [String]?
        let tags: [String]?
        let hostname: String?
        let username: String?
        let parent: String?

        var model: ResticSnapshot {
            ResticSnapshot(
                id: id,
                shortID: short_id ?? String(id.prefix(8)),
                time: ResticDate.parse(time) ?? Date(timeIntervalSince1970: 0),
                paths: paths ?? [],
                tags: tags ?? [],
                hostname: hostname ?? "",
                username: username,
                parent: parent
            )
        }
    }

    struct ForgetGroup: Decodable {
        let host: String?
        let paths: [String]?
        let tags: [String]?
        let keep: [Snapshot]?
        let remove: [Snapshot]?

        var model: ResticForgetResult.Group {
            ResticForgetResult.Group(
                host: host.flatMap { $0.isEmpty ? nil : $0 },
                paths: paths ?? [],
                tags: tags ?? [],
                keep: (keep ?? []).map(\.id),
                remove: (remove ?? []).map(\.id)
            )
        }
    }

    // MARK: check (0.18+)

    struct CheckSummary: Decodable {
        let message_type: String?
        let num_errors: Int?
        let broken_packs: [String]?
        let suggest_repair_index: Bool?
        let suggest_prune: Bool?
    }
}

extension KeyedDecodingContainer {
    /// An integer from any JSON number (clamped to Int), or nil when absent or not a number.
    func lenientInt(_ key: Key) -> Int? {
        if let value = try? decodeIfPresent(Int.self, forKey: key) { return value }
        if let value = try? decodeIfPresent(UInt64.self, forKey: key) { return value > UInt64(Int.max) ? Int.max : Int(value) }
        if let value = try? decodeIfPresent(Double.self, forKey: key), value.isFinite {
            return value >= Double(Int.max) ? Int.max : (value <= Double(Int.min) ? Int.min : Int(value))
        }
        return nil
    }

    func lenientDouble(_ key: Key) -> Double? {
        (try? decodeIfPresent(Double.self, forKey: key)) ?? nil
    }

    /// A non-negative count; 0 when absent (restic omits zero values).
    func count(_ key: Key) -> Int { max(lenientInt(key) ?? 0, 0) }
}

/// restic's RFC 3339 times carry nanoseconds and the local offset: "2026-11-27T00:03:55.339854205Z",
/// "2024-03-01T10:00:00.5+01:00".
enum ResticDate {
    static func parse(_ text: String) -> Date? {
        var base = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let afterDot = text[text.index(after: dot)...]
            let digits = afterDot.prefix(while: { $0.isASCII && $0.isNumber })
            if !digits.isEmpty { fraction = Double("0." + digits) ?? 0 }
            base = String(text[..<dot]) + String(afterDot.dropFirst(digits.count))
        }
        guard let date = try? Date(base, strategy: .iso8601) else { return nil }
        return date.addingTimeInterval(fraction)
    }
}
