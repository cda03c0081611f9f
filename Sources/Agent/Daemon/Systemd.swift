import Foundation

/// Talks to systemd when it manages this host (`/run/systemd/system` exists); otherwise does
/// nothing and the daemon fires slots itself.
public enum Systemd {
    public static var isRunning: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: "/run/systemd/system", isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Applies timer changes: stops and disables removed timers, deletes their files, reloads, and
    /// enables and (re)starts the timers that were written. Returns warnings (empty when all went well).
    public static func apply(
        _ changes: TimerUnits.Changes, units: TimerUnits, systemdRunning: Bool = Systemd.isRunning,
        systemctl: ([String]) -> String? = { Systemd.systemctl($0) }
    ) -> [String] {
        guard systemdRunning else {
            units.deleteRemoved(changes)
            return []
        }
        var warnings: [String] = []
        let removedTimers = changes.removed.filter { $0.hasSuffix(".timer") }
        if !removedTimers.isEmpty, let problem = systemctl(["disable", "--now"] + removedTimers) {
            warnings.append(problem)
        }
        units.deleteRemoved(changes)
        if !changes.isEmpty, let problem = systemctl(["daemon-reload"]) { warnings.append(problem) }
        // Timers whose timer or service file was (re)written: enable them and re-arm them with the
        // new settings. Unchanged timers are left alone (this runs at every job sync).
        let written = Set(changes.written.map { ($0 as NSString).deletingPathExtension })
        let changed = changes.timers.filter { written.contains(($0 as NSString).deletingPathExtension) }
        if !changed.isEmpty {
            if let problem = systemctl(["enable"] + changed) { warnings.append(problem) }
            if let problem = systemctl(["restart"] + changed) { warnings.append(problem) }
        }
        return warnings
    }

    /// Runs systemctl; nil on success, else a message saying what to do.
    public static func systemctl(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProgramLocator.find("systemctl") ?? "/bin/systemctl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return "cannot run systemctl \(arguments.joined(separator: " ")) (\(error)); run it yourself as root"
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return "systemctl \(arguments.joined(separator: " ")) failed (\(text.prefix(300))); run it yourself as root and check `journalctl -xe`"
        }
        return nil
    }
}
