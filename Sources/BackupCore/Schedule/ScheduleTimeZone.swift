import Foundation

/// Validation of the time zone names a schedule may use.
///
/// A name must be "UTC" or an IANA tz database name that Foundation knows under exactly
/// that spelling (case matters: systemd looks the name up as a file under
/// /usr/share/zoneinfo). Abbreviations such as "CET", "EST", "GMT" or "PST" are refused:
/// some are not tz database names at all, and systemd reads a trailing abbreviation that
/// matches the *machine's* local zone as "local time, DST on/off" rather than as a zone.
enum ScheduleTimeZone {
    /// Old three-letter ids ICU accepts that are not tz database names.
    private static let legacyIdentifiers: Set<String> = [
        "ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT", "ECT",
        "IET", "IST", "JST", "MIT", "NET", "NST", "PLT", "PNT", "PRT", "PST", "SST", "VST",
    ]

    static func isSyntacticallyValid(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), !name.contains("//") else { return false }
        return name.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: "+") || b == UInt8(ascii: "/")
        }
    }

    static func isAbbreviation(_ name: String) -> Bool {
        name != "UTC" && (legacyIdentifiers.contains(name) || TimeZone.abbreviationDictionary[name] != nil)
    }

    /// The canonical spelling of an acceptable zone name ("utc" becomes "UTC"), or nil.
    static func canonical(_ name: String) -> String? {
        if name.lowercased() == "utc" { return "UTC" }
        guard isSyntacticallyValid(name), !isAbbreviation(name), !name.hasPrefix("SystemV/") else { return nil }
        guard let zone = TimeZone(identifier: name), zone.identifier == name else { return nil }
        return name
    }

    /// Validates a zone name given by the caller; errors name `input` (the schedule text).
    static func validate(_ name: String, input: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if let ok = canonical(trimmed) { return ok }
        throw error(for: trimmed, input: input)
    }

    static func error(for name: String, input: String) -> ScheduleError {
        let quoted = ScheduleError.quoted(name)
        if name.isEmpty {
            return ScheduleError(
                input: input, fragment: name,
                reason: "the time zone is empty; use \"UTC\" or an IANA name such as \"Europe/Berlin\"")
        }
        if isAbbreviation(name) {
            return ScheduleError(
                input: input, fragment: name,
                reason: "\(quoted) is a time zone abbreviation; use \"UTC\" or a region name such as \"Europe/Berlin\" or \"America/New_York\"")
        }
        var reason = "\(quoted) is not a known time zone; use \"UTC\" or an IANA name such as \"Europe/Berlin\" or \"America/New_York\""
        if let suggestion = suggestion(for: name) {
            reason += " (did you mean \(ScheduleError.quoted(suggestion))?)"
        }
        return ScheduleError(input: input, fragment: name, reason: reason)
    }

    private static func suggestion(for name: String) -> String? {
        let lowered = name.lowercased()
        return TimeZone.knownTimeZoneIdentifiers.first { $0.lowercased() == lowered }
    }

    /// The clock to compute in.
    static func clock(for name: String) -> CalendarSpec.WallClock {
        if name == "UTC" { return .utc }
        return CalendarSpec.WallClock(zone: TimeZone(identifier: name))
    }
}
