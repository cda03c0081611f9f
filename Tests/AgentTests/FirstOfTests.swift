import Foundation
import Testing

@testable import Agent

/// The time bound around the interrupted-run reaper's restic calls (LeftoverSnapshots.reconciled).
@Suite("First of a value and a time limit")
struct FirstOfTests {
    @Test("a value that comes in time is returned; one that never comes gives nil at the limit")
    func valueOrLimit() async {
        #expect(await FirstOf.value(orAfter: .seconds(30)) { 42 } == 42)
        let clock = ContinuousClock()
        let started = clock.now
        // Work that never ends by itself (a wait nothing will answer): the caller still goes on.
        let never: Int? = await FirstOf.value(orAfter: .milliseconds(200)) {
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            return 1
        }
        #expect(never == nil)
        #expect(clock.now - started < .seconds(30))
    }

    @Test("lines logged by the bounded work reach the caller in order")
    func linesInOrder() async {
        let lines = LineBuffer()
        _ = await FirstOf.value(orAfter: .seconds(30)) {
            for index in 0..<3 { lines.append("line \(index)") }
            return true
        }
        #expect(lines.drain() == ["line 0", "line 1", "line 2"])
        #expect(lines.drain().isEmpty)
    }
}
