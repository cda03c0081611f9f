import Foundation

/// Reconnect delays: exponential from 1 s, capped at 15 s (so a returning hub hears from every agent within seconds), with jitter (50–100 % of the step)
/// so a fleet of agents does not reconnect in lockstep after a hub restart.
public struct Backoff: Sendable {
    public var base: Double = 1
    public var cap: Double = 15
    public private(set) var attempt = 0

    public init(base: Double = 1, cap: Double = 15) {
        self.base = base
        self.cap = cap
    }

    public mutating func next() -> Double {
        let step = min(cap, base * pow(2, Double(min(attempt, 16))))
        attempt += 1
        return step * Double.random(in: 0.5...1.0)
    }

    public mutating func reset() { attempt = 0 }
}
