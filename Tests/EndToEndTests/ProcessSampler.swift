import Foundation

/// Samples every process's command line (`/proc/*/cmdline`) while a test runs, so the test can
/// prove no secret ever appeared in argv.
final class ProcessSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var lines = Set<String>()
    private var running = true
    private var thread: Thread?

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                sample()
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops sampling; returns every distinct command line seen.
    func stop() -> Set<String> {
        lock.withLock { running = false }
        Thread.sleep(forTimeInterval: 0.05)
        return lock.withLock { lines }
    }

    private func sample() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        var seen: [String] = []
        for entry in entries where entry.first?.isNumber == true {
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
            seen.append(String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self))
        }
        lock.withLock { lines.formUnion(seen) }
    }
}

/// Every file under a directory, as bytes (for secret searches in data, logs and state).
enum FileSearch {
    /// Paths of the files under `root` that contain `needle`.
    static func files(under root: URL, containing needle: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let bytes = Data(needle.utf8)
        var hits: [String] = []
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let data = try? Data(contentsOf: url)
            else { continue }
            if data.range(of: bytes) != nil { hits.append(url.path) }
        }
        return hits
    }
}
