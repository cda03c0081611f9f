import Foundation
import Logging
import Testing

@testable import Agent

@Suite("Agent log lines")
struct AgentLogTests {
    @Test("a line is the constant message, then the metadata sorted by key; warnings say so; URL credentials are redacted")
    func line() {
        let event = LogEvent(
            level: .warning, message: "hub unreachable", metadata: ["run.id": "run_1", "hub.url": "https://agent:s3cret@hub.example"],
            source: nil, file: #fileID, function: #function, line: #line)
        let text = AgentLogHandler.line(event, metadata: ["job.id": "job_1"], at: Date(timeIntervalSince1970: 0))
        #expect(text.hasPrefix("1970-01-01T00:00:00 warning: hub unreachable hub.url="))
        #expect(text.hasSuffix(" job.id=job_1 run.id=run_1"))
        #expect(!text.contains("s3cret"))
    }
}
