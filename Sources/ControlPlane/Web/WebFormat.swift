import BackupCore
import Foundation

/// Numbers, times and sizes in the words the pages use.
enum WebFormat {
    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: amount >= 100 ? "%.0f %@" : "%.1f %@", amount, units[unit])
    }

    /// "3 min ago", "in 5 h", "2 d ago".
    static func relative(_ date: Date, now: Date) -> String {
        let seconds = date.timeIntervalSince(now)
        let text = span(abs(seconds))
        if abs(seconds) < 45 { return "just now" }
        return seconds < 0 ? "\(text) ago" : "in \(text)"
    }

    static func span(_ seconds: Double) -> String {
        switch seconds {
        case ..<60: return "\(Int(seconds.rounded())) s"
        case ..<3600: return "\(Int((seconds / 60).rounded())) min"
        case ..<86_400: return "\(Int((seconds / 3600).rounded())) h"
        default: return "\(Int((seconds / 86_400).rounded())) d"
        }
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let minutes = Int(seconds) / 60
        return minutes < 60 ? "\(minutes) min \(Int(seconds) % 60) s" : "\(minutes / 60) h \(minutes % 60) min"
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// "2026-11-27 03:15 UTC": the server's rendering; the browser shows local time.
    static func utc(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    static func healthLabel(_ health: JobHealth) -> String {
        switch health {
        case .ok: "OK"
        case .failing: "Failing"
        case .partial: "Partial"
        case .missed: "Missed"
        case .offline: "Offline"
        case .neverRun: "Never run"
        case .disabled: "Disabled"
        }
    }
}

/// A time as pages show it: UTC text, ISO for the browser, and a relative phrase.
struct TimeView: Sendable {
    let iso: String
    let text: String
    let relative: String

    init(_ date: Date, now: Date) {
        iso = WebFormat.iso(date)
        text = WebFormat.utc(date)
        relative = WebFormat.relative(date, now: now)
    }
}
