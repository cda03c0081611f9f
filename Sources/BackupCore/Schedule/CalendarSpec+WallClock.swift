import Foundation

extension CalendarSpec {
    /// A broken-down wall-clock time, like C's `struct tm`: fields may be out of range until the
    /// time is normalized by ``WallClock/makeTime(_:)``.
    struct BrokenDownTime: Equatable, Sendable {
        var year: Int
        /// 0…11, like `tm_mon`.
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
        var second: Int
        /// 0 = Sunday, like `tm_wday`; valid after normalization.
        var weekday: Int = 0
        /// Which UTC offset (DST or not) the time is known to be in, like `tm_isdst` ≥ 0;
        /// nil means "unknown, let the conversion decide" (`tm_isdst` = -1).
        var dst: DSTHint?

        struct DSTHint: Equatable, Sendable {
            /// The C library's daylight-saving flag for the offset.
            var isDST: Bool
            /// The UTC offset in seconds.
            var offset: Int
        }

        /// Breaks down seconds since 1970 of a wall clock (no time zone applied).
        init(localSeconds: Int64, dst: DSTHint? = nil) {
            let days = Self.floorDiv(localSeconds, 86_400)
            let secondsOfDay = Int(localSeconds - days * 86_400)
            let (y, m, d) = Self.civil(fromDays: days)
            year = y
            month = m - 1
            day = d
            hour = secondsOfDay / 3600
            minute = secondsOfDay / 60 % 60
            second = secondsOfDay % 60
            weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
            self.dst = dst
        }

        /// The fields read as seconds since 1970 of a wall clock, normalizing overflowing fields
        /// (month 12 is January of the next year, day 0 the last day of the previous month…).
        var localSeconds: Int64 {
            let y = Int64(year) + Self.floorDiv(Int64(month), 12)
            let m = Int(Int64(month) - Self.floorDiv(Int64(month), 12) * 12) + 1
            let days = Self.days(fromCivilYear: y, month: m, day: 1) + Int64(day - 1)
            return days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
        }

        static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
            let q = a / b
            return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
        }

        /// Days since 1970-01-01 of a proleptic Gregorian date.
        static func days(fromCivilYear year: Int64, month: Int, day: Int) -> Int64 {
            let y = month <= 2 ? year - 1 : year
            let era = floorDiv(y, 400)
            let yoe = y - era * 400
            let mp = Int64((month + 9) % 12)
            let doy = (153 * mp + 2) / 5 + Int64(day) - 1
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146_097 + doe - 719_468
        }

        static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
            let z = days + 719_468
            let era = floorDiv(z, 146_097)
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let d = doy - (153 * mp + 2) / 5 + 1
            let m = mp < 10 ? mp + 3 : mp - 9
            let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
            return (Int(y), Int(m), Int(d))
        }
    }
}

extension CalendarSpec {
    /// Converts between instants and wall-clock times the way systemd's calendar code sees them
    /// through the GNU C library: `gmtime_r`/`timegm` for UTC, `localtime_r`/`mktime` with
    /// `TZ=<zone>` otherwise. It reproduces glibc's choices for wall-clock times that do not exist
    /// (spring-forward gaps: moved forward by the gap) and that exist twice (autumn overlaps:
    /// the offset of the previous conversion wins, which makes systemd fire at the first
    /// occurrence), because those choices decide systemd's elapse times around DST changes.
    ///
    /// Offsets come from Foundation's time zone database.
    struct WallClock: Sendable {
        /// nil = UTC (`timegm`).
        let zone: TimeZone?
        /// glibc's `tm_isdst` is inverted relative to Foundation's daylight flag for zones whose
        /// tz data use "negative DST" (Irish Standard Time in summer, GMT in winter as the DST).
        private let invertsDSTFlag: Bool
        /// glibc's `mktime` remembers the offset of its previous result and starts from it.
        private var previousOffset = 0

        static let utc = WallClock(zone: nil)

        init(zone: TimeZone?) {
            self.zone = zone
            self.invertsDSTFlag = zone.map { Self.negativeDSTZones.contains($0.identifier) } ?? false
        }

        private static let negativeDSTZones: Set<String> = [
            "Europe/Dublin", "Eire", "Africa/Casablanca", "Africa/El_Aaiun",
        ]

        func offset(at instant: Int64) -> Int {
            guard let zone else { return 0 }
            return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
        }

        func isDST(at instant: Int64) -> Bool {
            guard let zone else { return false }
            return zone.isDaylightSavingTime(for: Date(timeIntervalSince1970: TimeInterval(instant))) != invertsDSTFlag
        }

        /// `localtime_r` / `gmtime_r`.
        func localTime(_ instant: Int64) -> BrokenDownTime {
            guard zone != nil else { return BrokenDownTime(localSeconds: instant) }
            let off = offset(at: instant)
            return BrokenDownTime(
                localSeconds: instant + Int64(off),
                dst: .init(isDST: isDST(at: instant), offset: off))
        }

        /// `mktime` / `timegm`: normalizes `tm` in place and returns the instant.
        mutating func makeTime(_ tm: inout BrokenDownTime) -> Int64 {
            let local = tm.localSeconds
            guard zone != nil else {
                tm = BrokenDownTime(localSeconds: local)
                return local
            }
            let early = offset(at: local - 100_000)
            let late = offset(at: local + 100_000)
            var valid: [Int] = []
            for o in early == late ? [early] : [early, late] where offset(at: local - Int64(o)) == o {
                valid.append(o)
            }
            if valid.isEmpty {
                // Rare: more than one transition nearby. Iterate from the remembered offset.
                var o = previousOffset
                for _ in 0..<4 {
                    let next = offset(at: local - Int64(o))
                    if next == o { break }
                    o = next
                }
                if offset(at: local - Int64(o)) == o { valid = [o] }
            }

            let instant: Int64
            let used: Int
            switch valid.count {
            case 1:
                let o = valid[0]
                if let hint = tm.dst, isDST(at: local - Int64(o)) != hint.isDST {
                    // A DST flag was requested that this time does not have: glibc reads the wall
                    // clock with the offset of a nearby time that has that flag.
                    used = hint.offset
                } else {
                    used = o
                }
                instant = local - Int64(used)
            case 2:
                // The wall-clock time exists twice.
                let chosen: Int
                if let hint = tm.dst, let match = valid.first(where: { isDST(at: local - Int64($0)) == hint.isDST }) {
                    chosen = match
                } else if valid.contains(previousOffset) {
                    chosen = previousOffset
                } else {
                    let probe = offset(at: local - Int64(previousOffset))
                    chosen = valid.contains(probe) ? probe : valid[0]
                }
                used = chosen
                instant = local - Int64(chosen)
            default:
                // The wall-clock time does not exist (spring-forward gap). glibc settles on the
                // reading whose DST flag is set (or, when a flag was requested, the one whose
                // flag differs from it).
                let a = local - Int64(early)
                let b = local - Int64(late)
                let pick: Int64
                if let hint = tm.dst {
                    pick = isDST(at: a) != hint.isDST ? a : (isDST(at: b) != hint.isDST ? b : a)
                } else {
                    pick = isDST(at: a) ? a : (isDST(at: b) ? b : a)
                }
                used = Int(local - pick)
                instant = pick
            }
            previousOffset = used
            tm = localTime(instant)
            return instant
        }
    }
}
