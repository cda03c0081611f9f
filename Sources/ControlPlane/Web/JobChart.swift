import BackupCore
import Foundation

/// Server-rendered SVG bar charts (no script, CSP-safe): a job's snapshot size and run duration
/// over its last runs, oldest at the left.
enum JobChart {
    struct Point {
        let value: Double
        let label: String
    }

    /// An accessible SVG: a title, one bar per point with its value as a tooltip, the maximum on the axis.
    static func bars(title: String, points: [Point], unit: (Double) -> String) -> String {
        let width = 600.0
        let height = 160.0
        let top = 16.0
        let bottom = 20.0
        guard !points.isEmpty else { return "" }
        let maximum = max(points.map(\.value).max() ?? 0, 1)
        let slot = width / Double(points.count)
        let barWidth = max(slot * 0.7, 1)
        var bars = ""
        for (index, point) in points.enumerated() {
            let barHeight = (height - top - bottom) * point.value / maximum
            let x = Double(index) * slot + (slot - barWidth) / 2
            let y = height - bottom - barHeight
            bars +=
                "<rect class=\"chart-bar\" x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(max(barHeight, 0.5)))\">"
                + "<title>\(escape(point.label)): \(escape(unit(point.value)))</title></rect>"
        }
        let axis = "<line class=\"chart-axis\" x1=\"0\" y1=\"\(fmt(height - bottom))\" x2=\"\(fmt(width))\" y2=\"\(fmt(height - bottom))\"/>"
        let labels =
            "<text class=\"chart-label\" x=\"0\" y=\"12\">max \(escape(unit(maximum)))</text>"
            + "<text class=\"chart-label\" x=\"0\" y=\"\(fmt(height - 4))\">\(escape(points.first!.label))</text>"
            + "<text class=\"chart-label\" x=\"\(fmt(width))\" y=\"\(fmt(height - 4))\" text-anchor=\"end\">\(escape(points.last!.label))</text>"
        return
            "<svg class=\"chart\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" aria-label=\"\(escape(title))\" preserveAspectRatio=\"none\">"
            + "<title>\(escape(title))</title>\(axis)\(bars)\(labels)</svg>"
    }

    /// Size and duration charts for runs (newest first, as listings return them).
    static func charts(runs: [Run]) -> (size: String, duration: String) {
        let finished = runs.filter { $0.status.isFinished && $0.startedAt != nil && $0.finishedAt != nil }.prefix(30).reversed()
        let size = finished.map { Point(value: Double($0.bytesProcessed), label: WebFormat.utc($0.createdAt)) }
        let duration = finished.map { Point(value: $0.finishedAt!.timeIntervalSince($0.startedAt!), label: WebFormat.utc($0.createdAt)) }
        return (
            bars(title: "Snapshot size over the last \(size.count) runs", points: Array(size), unit: { WebFormat.bytes(Int64($0)) }),
            bars(title: "Run duration over the last \(duration.count) runs", points: Array(duration), unit: WebFormat.duration)
        )
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
