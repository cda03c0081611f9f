import BackupCore
import Foundation
import Testing

/// One alert per ongoing problem, one recovery when it ends, nothing while it flaps.
@Suite struct AlertDecisionTests {
    let rules = NotificationRules(failures: 1, missed: true, offlineMinutes: 30, recovery: true, quietMinutes: 60)
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }

    @Test func aFailureIsAlertedOnceAndItsRecoveryOnce() {
        var state: AlertState?
        var sent: [AlertDecision] = []
        for (minute, health) in [(0.0, JobHealth.ok), (1, .failing), (2, .failing), (3, .failing), (4, .ok), (5, .ok)] {
            let (decision, next) = AlertDecision.decide(
                health: health, consecutiveFailures: health == .failing ? 1 : 0, offlineFor: 0,
                state: state, rules: rules, now: at(minute))
            state = next
            if decision != .none { sent.append(decision) }
        }
        #expect(sent == [.alert(problem: "failing"), .recovery(problem: "failing")])
    }

    @Test func aFlappingJobIsNotAlertedAgainWithinTheQuietTime() {
        var state: AlertState?
        var sent: [AlertDecision] = []
        // failing, ok, failing, ok… every 5 minutes for an hour; then again after the quiet time.
        for step in 0..<12 {
            let health: JobHealth = step % 2 == 0 ? .failing : .ok
            let (decision, next) = AlertDecision.decide(
                health: health, consecutiveFailures: 1, offlineFor: 0, state: state, rules: rules, now: at(Double(step) * 5))
            state = next
            if decision != .none { sent.append(decision) }
        }
        #expect(sent == [.alert(problem: "failing"), .recovery(problem: "failing")], "one alert and one recovery while flapping: \(sent)")
        let (later, _) = AlertDecision.decide(health: .failing, consecutiveFailures: 1, offlineFor: 0, state: state, rules: rules, now: at(200))
        #expect(later == .alert(problem: "failing"))
    }

    @Test func aChangeOfProblemIsNotASecondAlert() {
        let (first, opened) = AlertDecision.decide(health: .missed, consecutiveFailures: 0, offlineFor: 0, state: nil, rules: rules, now: at(0))
        #expect(first == .alert(problem: "missed"))
        let (second, kept) = AlertDecision.decide(health: .failing, consecutiveFailures: 1, offlineFor: 0, state: opened, rules: rules, now: at(1))
        #expect(second == .none)
        #expect(kept?.problem == "failing")
        let (end, _) = AlertDecision.decide(health: .ok, consecutiveFailures: 0, offlineFor: 0, state: kept, rules: rules, now: at(2))
        #expect(end == .recovery(problem: "failing"))
    }

    @Test func thresholdsAndSwitchedOffRulesAreRespected() {
        let three = NotificationRules(failures: 3, missed: false, offlineMinutes: 30, recovery: false)
        #expect(AlertDecision.decide(health: .failing, consecutiveFailures: 2, offlineFor: 0, state: nil, rules: three, now: start).0 == .none)
        #expect(
            AlertDecision.decide(health: .failing, consecutiveFailures: 3, offlineFor: 0, state: nil, rules: three, now: start).0
                == .alert(problem: "failing"))
        #expect(AlertDecision.decide(health: .missed, consecutiveFailures: 0, offlineFor: 0, state: nil, rules: three, now: start).0 == .none)
        #expect(AlertDecision.decide(health: .offline, consecutiveFailures: 0, offlineFor: 29 * 60, state: nil, rules: three, now: start).0 == .none)
        let (offline, state) = AlertDecision.decide(
            health: .offline, consecutiveFailures: 0, offlineFor: 31 * 60, state: nil, rules: three, now: start)
        #expect(offline == .alert(problem: "offline"))
        #expect(
            AlertDecision.decide(health: .ok, consecutiveFailures: 0, offlineFor: 0, state: state, rules: three, now: at(5)).0 == .none,
            "no recovery message when recovery is switched off")
    }

    @Test func badRulesNameTheirField() {
        #expect(throws: DomainError.self) { try NotificationRules(failures: 0).validated() }
        do { _ = try NotificationRules(offlineMinutes: 0).validated() } catch { #expect(error.field == "rules.offlineMinutes") }
    }
}

/// The stale rule, the digest's timing and rules stored before newer fields existed.
@Suite struct NotificationRuleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func staleIsAlertedOnlyWhenTheRuleIsOn() {
        #expect(
            AlertDecision.decide(health: .stale, consecutiveFailures: 0, offlineFor: 0, state: nil, rules: NotificationRules(), now: start).0
                == .alert(problem: "stale"))
        #expect(
            AlertDecision.decide(
                health: .stale, consecutiveFailures: 0, offlineFor: 0, state: nil, rules: NotificationRules(stale: false), now: start
            ).0 == .none)
    }

    @Test func theDigestIsDueOnceADayFromItsHour() {
        // 06:59:59 and 07:00:00 UTC on 2027-01-15.
        let before = Date(timeIntervalSince1970: 1_799_996_399)
        let at = Date(timeIntervalSince1970: 1_799_996_400)
        #expect(DigestSchedule.isDue(hour: 7, lastSentAt: nil, now: before) == false)
        #expect(DigestSchedule.isDue(hour: 7, lastSentAt: nil, now: at))
        #expect(DigestSchedule.isDue(hour: 7, lastSentAt: at, now: at.addingTimeInterval(3600)) == false, "sent today")
        #expect(DigestSchedule.isDue(hour: 7, lastSentAt: at.addingTimeInterval(-86_400), now: at.addingTimeInterval(60)), "sent yesterday")
        #expect(DigestSchedule.isDue(hour: 7, lastSentAt: at, now: at.addingTimeInterval(86_400)), "the next day")
    }

    @Test func rulesSayWhatTheyTellAbout() {
        #expect(NotificationRules().summary == "first failure, missed runs, stale jobs, servers offline 30 min, recoveries")
        #expect(
            NotificationRules(failures: 3, missed: false, offlineMinutes: nil, recovery: false, stale: false, digestHour: 7).summary
                == "3 failures in a row, daily digest at 7:00 UTC")
    }

    @Test func rulesStoredBeforeNewFieldsReadWithDefaults() throws {
        let old = try JSONDecoder().decode(
            NotificationRules.self, from: Data(#"{"failures":2,"missed":false,"offlineMinutes":null,"recovery":true,"quietMinutes":5}"#.utf8))
        #expect(
            old == NotificationRules(failures: 2, missed: false, offlineMinutes: nil, recovery: true, quietMinutes: 5, stale: true, digestHour: nil))
        let empty = try JSONDecoder().decode(NotificationRules.self, from: Data("{}".utf8))
        #expect(empty == NotificationRules())
        #expect(throws: DomainError.self) { try NotificationRules(digestHour: 24).validated() }
    }
}
