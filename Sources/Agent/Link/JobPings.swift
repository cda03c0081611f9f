import BackupCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Healthchecks-style pings from the box itself, so an outside monitor notices when backups stop
/// even if the hub is down too: `URL/start` when a run begins, `URL` when it succeeded,
/// `URL/fail` otherwise (with a one-line summary as the body). Best effort: a ping that fails is
/// logged (never with its URL, which acts as a credential) and the run goes on.
struct JobPings: Sendable {
    let base: String
    let log: RunLog
    var timeout: TimeInterval = 10

    init?(job: Job, log: RunLog) {
        guard let url = job.pingURL, !url.isEmpty else { return nil }
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.log = log
    }

    func started() async {
        await send(base + "/start", body: "")
    }

    func finished(_ run: Run) async {
        // Cancelled on purpose (a before hook's policy `cancel`): no backup, but no failure either;
        // the monitor's own period notices a job that keeps being cancelled.
        if run.status == .cancelled {
            log("the run was cancelled: no ping (neither success nor /fail)")
            return
        }
        let ok = run.status == .succeeded
        var summary = "\(run.status.rawValue): " + run.results.map { "\($0.destinationID) \($0.status.rawValue)" }.joined(separator: ", ")
        if let error = run.results.compactMap(\.error).first { summary += " — " + error }
        await send(ok ? base : base + "/fail", body: summary)
    }

    private func send(_ address: String, body: String) async {
        guard let url = URL(string: address) else { return }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("text/plain; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8.prefix(10_000))
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        do {
            let (_, response) = try await session.data(for: request)
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                log("the job's ping URL answered HTTP \(http.statusCode)")
            }
        } catch {
            log("the job's ping URL could not be reached (\(type(of: error)))")
        }
    }
}
