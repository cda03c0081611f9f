import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// UNIQUE(job, slot) on the box: a run claims its slot by creating `slots/<job>/<slot ms>` with
/// `open(O_CREAT|O_EXCL)`. The kernel lets exactly one creator succeed, whichever process or task
/// asks first, so a timer run and a hub-triggered run of the same slot give one run.
public struct SlotClaims: Sendable {
    public let directory: String
    /// Claims older than this are pruned.
    public static let retention: TimeInterval = 30 * 24 * 3600

    public init(directory: String) {
        self.directory = directory
    }

    /// True when this caller claimed the slot; false when someone already had.
    public func claim(jobID: String, slot: Date, note: String = "") throws -> Bool {
        try SafeName.check(jobID, what: "job id")
        let jobDirectory = directory + "/" + jobID
        try SecureFile.makeDirectory(jobDirectory)
        let contents = Data("\(HubJSON.format(slot)) pid=\(getpid()) \(note)\n".utf8)
        return try SecureFile.createExclusive(path(jobID: jobID, slot: slot), contents: contents, mode: 0o600)
    }

    /// True when the slot has been claimed.
    public func isClaimed(jobID: String, slot: Date) -> Bool {
        SafeName.isSafe(jobID) && FileManager.default.fileExists(atPath: path(jobID: jobID, slot: slot))
    }

    /// Removes claims whose slot and whose claim are both older than 30 days (the hub never
    /// triggers slots that old; a late claim of an old slot is kept its 30 days too).
    public func prune(now: Date = Date()) {
        let limit = now.addingTimeInterval(-Self.retention)
        for job in SecureFile.list(directory) where SafeName.isSafe(job) {
            for name in SecureFile.list(directory + "/" + job) {
                guard let ms = Int64(name), ms < limit.millisecondsSince1970 else { continue }
                let path = directory + "/" + job + "/" + name
                let claimed = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
                if claimed < limit { SecureFile.remove(path) }
            }
        }
    }

    func path(jobID: String, slot: Date) -> String {
        directory + "/" + jobID + "/" + String(slot.millisecondsSince1970)
    }

    /// The slot a trigger at `now` serves: the latest elapse of the schedule at or before `now`,
    /// so a timer that fired late (RandomizedDelaySec, Persistent=true after a reboot) still maps
    /// to its slot. Searches back 1 hour first and widens up to 400 days; nil when none.
    public static func currentSlot(for schedule: Schedule, now: Date) -> Date? {
        let windows: [TimeInterval] = [3600, 6 * 3600, 26 * 3600, 8 * 86400, 32 * 86400, 400 * 86400]
        for window in windows {
            var cursor = now.addingTimeInterval(-window)
            var latest: Date?
            search: while true {
                let batch = schedule.nextElapses(after: cursor, count: 64)
                if batch.isEmpty { break }
                for elapse in batch {
                    if elapse > now { break search }
                    latest = elapse
                }
                cursor = batch[batch.count - 1]
            }
            if let latest { return latest }
        }
        return nil
    }
}
