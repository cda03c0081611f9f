/// Which snapshots a job keeps, in restic's `forget --keep-…` terms. Applied per job: a job's
/// policy never touches another job's snapshots in a shared repository.
public struct RetentionPolicy: Sendable, Codable, Equatable {
    public var keepLast: Int?
    public var keepHourly: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var keepYearly: Int?
    /// Keep every snapshot younger than this, e.g. `7d`, `2w`, `1y2m` (normalized: `14d`, `1y2m`).
    public var keepWithin: String?
    /// Keep everything: explicit, because an empty policy is usually a mistake.
    public var keepAll: Bool

    public init(
        keepLast: Int? = nil, keepHourly: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil,
        keepMonthly: Int? = nil, keepYearly: Int? = nil, keepWithin: String? = nil, keepAll: Bool = false
    ) {
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
        self.keepWithin = keepWithin
        self.keepAll = keepAll
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keepLast = try c.decodeIfPresent(Int.self, forKey: .keepLast)
        keepHourly = try c.decodeIfPresent(Int.self, forKey: .keepHourly)
        keepDaily = try c.decodeIfPresent(Int.self, forKey: .keepDaily)
        keepWeekly = try c.decodeIfPresent(Int.self, forKey: .keepWeekly)
        keepMonthly = try c.decodeIfPresent(Int.self, forKey: .keepMonthly)
        keepYearly = try c.decodeIfPresent(Int.self, forKey: .keepYearly)
        keepWithin = try c.decodeIfPresent(String.self, forKey: .keepWithin)
        keepAll = try c.decodeIfPresent(Bool.self, forKey: .keepAll) ?? false
    }

    /// A sensible default for new jobs: 7 daily, 4 weekly, 6 monthly.
    public static let standard = RetentionPolicy(keepDaily: 7, keepWeekly: 4, keepMonthly: 6)

    var counts: [(field: String, flag: String, value: Int?)] {
        [
            ("keepLast", "--keep-last", keepLast), ("keepHourly", "--keep-hourly", keepHourly),
            ("keepDaily", "--keep-daily", keepDaily), ("keepWeekly", "--keep-weekly", keepWeekly),
            ("keepMonthly", "--keep-monthly", keepMonthly), ("keepYearly", "--keep-yearly", keepYearly),
        ]
    }

    /// Checks counts and the `within` duration and normalizes the duration.
    public func validated() throws(DomainError) -> RetentionPolicy {
        var clean = self
        for (field, _, value) in counts {
            if let value, value < 1 || value > 100_000 {
                throw .invalid(field, "\(value) is not a count to keep; use a whole number from 1 to 100000, or leave it out")
            }
        }
        if let within = keepWithin {
            clean.keepWithin = try RetentionDuration.parse(within).description
        }
        let hasRule = counts.contains { $0.value != nil } || clean.keepWithin != nil
        if keepAll && hasRule {
            throw .invalid("keepAll", "keep-all cannot be combined with keep rules; remove one or the other")
        }
        if !keepAll && !hasRule {
            throw .invalid(
                "retention", "give at least one keep rule (last, hourly, daily, weekly, monthly, yearly, within) or choose keep-all explicitly")
        }
        return clean
    }

    /// restic `forget` options for this policy (empty when everything is kept).
    public var resticArguments: [String] {
        var args: [String] = []
        for (_, flag, value) in counts { if let value { args += [flag, String(value)] } }
        if let keepWithin { args += ["--keep-within", keepWithin] }
        return args
    }

    /// The policy in plain words, e.g. "the last 2, 7 daily and 4 weekly".
    public var summary: String {
        if keepAll { return "keeps every snapshot" }
        var parts: [String] = []
        if let keepLast { parts.append("the last \(keepLast)") }
        if let keepHourly { parts.append("\(keepHourly) hourly") }
        if let keepDaily { parts.append("\(keepDaily) daily") }
        if let keepWeekly { parts.append("\(keepWeekly) weekly") }
        if let keepMonthly { parts.append("\(keepMonthly) monthly") }
        if let keepYearly { parts.append("\(keepYearly) yearly") }
        if let keepWithin { parts.append("all from the last \(keepWithin)") }
        guard let last = parts.popLast() else { return "keeps nothing" }
        return "keeps " + (parts.isEmpty ? last : parts.joined(separator: ", ") + " and " + last)
    }
}

/// A `keep-within` duration: years, months, days and hours (weeks become 7 days), as restic reads it.
public struct RetentionDuration: Sendable, Equatable, CustomStringConvertible {
    public var years = 0, months = 0, days = 0, hours = 0

    /// Parses `7d`, `2w`, `1y2m`, `36h`: numbers each followed by y, m, w, d or h, each unit once.
    public static func parse(_ input: String) throws(DomainError) -> RetentionDuration {
        let text = input.trimmingSpaces.lowercased()
        var result = RetentionDuration()
        var seen = Set<Character>()
        var number = ""
        if text.isEmpty { throw .invalid("keepWithin", "a duration is required, e.g. 7d, 2w, 1y2m") }
        for ch in text {
            if ch.isASCII && ch.isNumber {
                number.append(ch)
                continue
            }
            guard "ymwdh".contains(ch) else {
                throw .invalid("keepWithin", "\"\(input)\": \"\(ch)\" is not a unit; use y, m, w, d or h, e.g. 7d, 2w, 1y2m")
            }
            guard let value = Int(number), number.count <= 6 else {
                throw .invalid("keepWithin", "\"\(input)\": put a number before \"\(ch)\", e.g. 7d")
            }
            guard seen.insert(ch).inserted else {
                throw .invalid("keepWithin", "\"\(input)\": the unit \"\(ch)\" appears twice")
            }
            switch ch {
            case "y": result.years = value
            case "m": result.months = value
            case "w": result.days += 7 * value
            case "d": result.days += value
            default: result.hours = value
            }
            number = ""
        }
        if !number.isEmpty {
            throw .invalid("keepWithin", "\"\(input)\": \"\(number)\" has no unit; add y, m, w, d or h")
        }
        if result.description.isEmpty {
            throw .invalid("keepWithin", "\"\(input)\" is zero; give a duration longer than nothing")
        }
        return result
    }

    public var description: String {
        var text = ""
        if years > 0 { text += "\(years)y" }
        if months > 0 { text += "\(months)m" }
        if days > 0 { text += "\(days)d" }
        if hours > 0 { text += "\(hours)h" }
        return text
    }
}
