import Foundation
import HubAPI
import LinkProtocol

@testable import Agent

/// A stand-in for the hub's agent API (a small Python HTTP server), recording every request.
/// Used to test the agent's HTTP client, outbox delivery, enrollment and the daemon against a
/// real socket; the hub's own tests cover the real endpoints.
final class FakeHub: @unchecked Sendable {
    let process: Process
    let url: String
    let logFile: String
    let configFile: String

    struct Config: Encodable {
        var ackLimit: Int
        var token: String
        var enrollResponse: EnrollResponse?
        var jobs: AgentJobSet?
        var commands: [AgentCommand]
        var rejectIDs: [String]
        var pollDelay: Double
    }

    static func start(
        in root: String, acknowledgeUpTo: Int = .max, token: String = "enr_token",
        enrollResponse: EnrollResponse? = nil, jobs: AgentJobSet? = nil, commands: [AgentCommand] = [],
        rejectIDs: [String] = [], pollDelay: Double = 0.5
    ) throws -> FakeHub {
        let script = root + "/fake_hub.py"
        try Data(pythonSource.utf8).write(to: URL(fileURLWithPath: script))
        let configFile = root + "/fake_hub.json"
        let config = Config(
            ackLimit: min(acknowledgeUpTo, 1_000_000_000), token: token, enrollResponse: enrollResponse, jobs: jobs, commands: commands,
            rejectIDs: rejectIDs, pollDelay: pollDelay)
        try HubJSON.encoder().encode(config).write(to: URL(fileURLWithPath: configFile))
        let logFile = root + "/fake_hub.log"
        let process = Process()
        // The system python, not a version-manager shim (a shim may fork, and killing it would orphan the server).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, configFile, logFile]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, configFile, logFile]
        }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw AgentError("the fake hub did not start (python3 missing?)") }
            buffer.append(chunk)
        }
        let port = String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return FakeHub(process: process, url: "http://127.0.0.1:\(port)", logFile: logFile, configFile: configFile)
    }

    private init(process: Process, url: String, logFile: String, configFile: String) {
        self.process = process
        self.url = url
        self.logFile = logFile
        self.configFile = configFile
    }

    /// SIGKILL: the test process blocks SIGTERM and its children inherit the mask.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    struct Request: Decodable {
        var method: String
        var path: String
        var authorization: String?
        var body: String?
    }

    func requests() -> [Request] {
        guard let data = FileManager.default.contents(atPath: logFile) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }

    func events() -> [AgentEvent] {
        requests().filter { $0.path == "/api/agent/v1/events" }.flatMap { request -> [AgentEvent] in
            guard let body = request.body, let batch = try? HubJSON.decoder().decode(EventBatch.self, from: Data(body.utf8)) else { return [] }
            return batch.events
        }
    }

    func batchSizes() -> [Int] {
        requests().filter { $0.path == "/api/agent/v1/events" }.compactMap { request in
            guard let body = request.body, let batch = try? HubJSON.decoder().decode(EventBatch.self, from: Data(body.utf8)) else { return nil }
            return batch.events.count
        }
    }

    func authorizations() -> [String] { requests().compactMap(\.authorization) }

    static let pythonSource = #"""
        import json, sys, threading
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

        config = json.load(open(sys.argv[1]))
        log = open(sys.argv[2], "a")
        lock = threading.Lock()
        state = {"acked": 0, "commands": list(config.get("commands") or []), "taken": set()}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def record(self, body):
                with lock:
                    log.write(json.dumps({"method": self.command, "path": self.path.split("?")[0],
                                          "authorization": self.headers.get("Authorization"), "body": body}) + "\n")
                    log.flush()
            def answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def error(self, status, code, message):
                self.answer(status, {"error": {"code": code, "message": message, "field": None}})
            def body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length).decode() if length else None
            def authorized(self):
                return self.headers.get("Authorization", "").startswith("Agent ")
            def do_GET(self):
                self.record(None)
                path = self.path.split("?")[0]
                if not self.authorized(): return self.error(401, "unauthorized", "agent credential required")
                if path == "/api/agent/v1/jobs":
                    return self.answer(200, config.get("jobs") or {"serverID": "srv_x", "jobs": []})
                if path == "/api/agent/v1/commands":
                    with lock:
                        pending = [c for c in state["commands"] if c["id"] not in state["taken"]]
                    if not pending:
                        import time; time.sleep(config.get("pollDelay", 0.5))
                    return self.answer(200, {"commands": pending})
                self.error(404, "not_found", "no route")
            def do_POST(self):
                body = self.body()
                self.record(body)
                path = self.path.split("?")[0]
                if path == "/api/agent/v1/enroll":
                    request = json.loads(body)
                    if request.get("token") != config["token"]:
                        return self.error(401, "unauthorized", "the enrollment token is unknown, expired or already used")
                    return self.answer(201, config["enrollResponse"])
                if not self.authorized(): return self.error(401, "unauthorized", "agent credential required")
                if path == "/api/agent/v1/events":
                    events = json.loads(body)["events"]
                    if any(event["id"] in (config.get("rejectIDs") or []) for event in events):
                        return self.error(400, "bad_request", "event is about another server's run")
                    acknowledged = []
                    with lock:
                        for event in events:
                            if state["acked"] < config["ackLimit"]:
                                state["acked"] += 1
                                acknowledged.append(event["id"])
                    return self.answer(200, {"acknowledged": acknowledged})
                if path.startswith("/api/agent/v1/commands/") and path.endswith("/ack"):
                    with lock:
                        state["taken"].add(path.split("/")[5])
                    return self.answer(200, {"deleted": True})
                self.error(404, "not_found", "no route")

        def exit_with_parent():
            import os, time
            parent = os.getppid()
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=exit_with_parent, daemon=True).start()
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}
