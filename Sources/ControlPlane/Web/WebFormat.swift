import BackupCore
import Foundation
import Mustache

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

    /// UTC calendar fields straight from the C library: pages format thousands of times, and a
    /// formatter object per call costs more than the rest of the page.
    private static func fields(_ date: Date) -> tm {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    private static func pad(_ value: Int32, _ width: Int = 2) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `2026-11-27T03:15:00Z`.
    static func iso(_ date: Date) -> String {
        let t = fields(date)
        return "\(t.tm_year + 1900)-\(pad(t.tm_mon + 1))-\(pad(t.tm_mday))T\(pad(t.tm_hour)):\(pad(t.tm_min)):\(pad(t.tm_sec))Z"
    }

    /// "2026-11-27 03:15 UTC": the server's rendering; the browser shows local time.
    static func utc(_ date: Date) -> String {
        let t = fields(date)
        return "\(t.tm_year + 1900)-\(pad(t.tm_mon + 1))-\(pad(t.tm_mday)) \(pad(t.tm_hour)):\(pad(t.tm_min)) UTC"
    }

    static func healthLabel(_ health: ServerHealth) -> String {
        switch health {
        case .ok: "All OK"
        case .failing: "Failing"
        case .missed: "Missed"
        case .partial: "Partial"
        case .stale: "Stale"
        case .offline: "Offline"
        case .neverRun: "Never run"
        case .notEnrolled: "Not enrolled"
        case .noJobs: "No jobs"
        }
    }

    static func healthLabel(_ health: JobHealth) -> String {
        switch health {
        case .ok: "OK"
        case .failing: "Failing"
        case .partial: "Partial"
        case .missed: "Missed"
        case .stale: "Stale"
        case .offline: "Offline"
        case .neverRun: "Never run"
        case .disabled: "Disabled"
        case .unproven: "Unproven"
        }
    }
}

/// A time as pages show it: UTC text, ISO for the browser, and a relative phrase.
struct TimeView: Sendable, MustacheParent {
    // Direct lookup instead of reflection: fleet pages render thousands of these.
    func child(named name: String) -> Any? {
        switch name {
        case "iso": iso
        case "text": text
        case "relative": relative
        default: nil
        }
    }

    let iso: String
    let text: String
    let relative: String

    init(_ date: Date, now: Date) {
        iso = WebFormat.iso(date)
        text = WebFormat.utc(date)
        relative = WebFormat.relative(date, now: now)
    }
}
