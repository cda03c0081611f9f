import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Tells whether a recorded process still runs. A pid alone can be reused after a crash, so the
/// process's start time (field 22 of /proc/<pid>/stat) is recorded and compared too.
public enum ProcessLiveness {
    /// The start time of `pid` in clock ticks since boot, or nil (no /proc, no such process).
    public static func startTicks(of pid: Int32) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name (field 2) is in parentheses and may contain spaces: count after ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    public static func isAlive(pid: Int32, startTicks expected: UInt64?) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        if let state = processState(pid), state == "Z" || state == "X" { return false }
        if let expected, let actual = startTicks(of: pid) { return expected == actual }
        return true
    }

    static func processState(_ pid: Int32) -> Character? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").first?.first
    }
}
