extension DestinationSettings {
    /// Checks the settings a kind needs, drops the ones it does not use and normalizes the rest.
    public func validated(for kind: DestinationKind) throws(DomainError) -> DestinationSettings {
        var clean = DestinationSettings()
        switch kind {
        case .local:
            clean.path = try Self.absolutePath(path, field: "path")
        case .s3:
            clean.endpoint = try Self.endpointURL(endpoint)
            clean.bucket = try Self.bucketName(bucket)
            clean.prefix = try Self.prefixPath(prefix)
            clean.region = try Self.optionalToken(region, field: "region")
            clean.pathStyle = pathStyle ?? false
        case .b2:
            clean.bucket = try Self.bucketName(bucket)
            clean.prefix = try Self.prefixPath(prefix)
        case .rclone:
            guard let remote = remote?.trimmingSpaces, !remote.isEmpty else {
                throw .invalid("remote", "an rclone destination needs the remote's name (as in your rclone configuration)")
            }
            clean.remote = try Self.optionalToken(remote, field: "remote")
            clean.prefix = try Self.prefixPath(prefix)
        case .peer:
            guard let peer = peerServerID?.trimmingSpaces, !peer.isEmpty else {
                throw .invalid("peerServerID", "a peer destination needs the storage server (its id or name)")
            }
            clean.peerServerID = peer
            clean.peerAddress = try Self.hostPort(peerAddress)
            if let quota = quotaBytes {
                guard quota >= 1 << 20 else {
                    throw .invalid(
                        "quotaBytes", "a quota of \(quota) bytes is too small; give at least 1 MiB (1048576), or leave it out for no quota")
                }
                clean.quotaBytes = quota
            }
            if path != nil { clean.path = try Self.peerRoot(try Self.absolutePath(path, field: "path"), field: "path") }
        }
        clean.limitUploadKiB = try Self.rateLimit(limitUploadKiB, field: "limitUploadKiB")
        clean.limitDownloadKiB = try Self.rateLimit(limitDownloadKiB, field: "limitDownloadKiB")
        if let table = bandwidthSchedule?.trimmingSpaces, !table.isEmpty {
            guard kind == .rclone else {
                throw .invalid(
                    "bandwidthSchedule",
                    "a time table of limits is rclone's --bwlimit, for rclone destinations only; use limitUploadKiB and limitDownloadKiB here")
            }
            clean.bandwidthSchedule = try BandwidthTable.validated(table)
        }
        try RepositoryCare.validate(self, into: &clean, kind: kind)
        return clean
    }

    /// restic's limits are whole KiB/s: 1 KiB/s to 10 GiB/s; nil or 0 for none.
    public static let rateLimitRange = 1...10_485_760

    static func rateLimit(_ value: Int?, field: String) throws(DomainError) -> Int? {
        guard let value, value != 0 else { return nil }
        guard rateLimitRange.contains(value) else {
            throw .invalid(field, "\(value) KiB/s is outside 1 to 10485760 (10 GiB/s); give KiB per second such as 512, or 0 for no limit")
        }
        return value
    }

    /// Directories a peer destination's storage root can be neither nor be inside: the system's
    /// own, which the storage server would otherwise serve and make private.
    public static let systemDirectories = [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/snap", "/sys", "/usr",
        "/var/cache", "/var/lib", "/var/log", "/var/mail", "/var/run", "/var/spool",
    ]
    /// Directories a peer storage root can be inside of but not be itself (shared by other things).
    public static let sharedDirectories = ["/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/var", "/var/backups", "/var/tmp"]

    /// Checks a peer destination's storage root (already a clean absolute path) against the
    /// system directories; the one rule the hub and the storage server's agent apply.
    public static func peerRoot(_ path: String, field: String) throws(DomainError) -> String {
        if let system = systemDirectories.first(where: { path == $0 || path.hasPrefix($0 + "/") }) {
            throw .invalid(
                field,
                "\"\(path)\" is \(path == system ? "" : "inside ")the system directory \(system); choose a directory of its own, e.g. /var/backups/mzpanel-peer"
            )
        }
        if path == "/" || sharedDirectories.contains(path) {
            throw .invalid(
                field,
                "\"\(path)\" is shared with other things; choose a directory of its own inside it, e.g. \(path == "/" ? "" : path)/mzpanel-peer")
        }
        return path
    }

    static func absolutePath(_ value: String?, field: String) throws(DomainError) -> String {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else {
            throw .invalid(field, "a local destination needs an absolute directory path, e.g. /var/backups/mzpanel")
        }
        guard raw.hasPrefix("/") else {
            throw .invalid(field, "\"\(raw)\" is not an absolute path; start it with /")
        }
        let parts = raw.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains(where: { $0 == ".." || $0 == "." }) {
            throw .invalid(field, "\"\(raw)\" contains \".\" or \"..\"; give the directory's plain absolute path")
        }
        if raw.contains("\0") || raw.contains("\n") {
            throw .invalid(field, "the path contains a control character")
        }
        if parts.isEmpty { throw .invalid(field, "\"/\" cannot hold backups; choose a directory such as /var/backups/mzpanel") }
        return "/" + parts.joined(separator: "/")
    }

    /// `host:port` (a name, IPv4 address or [IPv6] address, and a port 1–65535).
    static func hostPort(_ value: String?) throws(DomainError) -> String {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else {
            throw .invalid("peerAddress", "a peer destination needs the address where sources reach the storage server, e.g. backup.example.net:8443")
        }
        guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (1...65535).contains(port) else {
            throw .invalid("peerAddress", "\"\(raw)\" must be host:port with a port from 1 to 65535")
        }
        let host = raw[..<colon]
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:")
        guard !host.isEmpty, host.allSatisfy({ allowed.contains($0) }) else {
            throw .invalid("peerAddress", "\"\(host)\" is not a host name or address")
        }
        return raw
    }

    static func endpointURL(_ value: String?) throws(DomainError) -> String {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else {
            throw .invalid("endpoint", "an s3 destination needs the endpoint URL, e.g. https://s3.eu-central-1.amazonaws.com")
        }
        guard raw.hasPrefix("https://") || raw.hasPrefix("http://") else {
            throw .invalid("endpoint", "\"\(raw)\" must start with https:// (or http:// for a server on a private network)")
        }
        let host = raw.drop(while: { $0 != "/" }).dropFirst(2)
        if host.isEmpty || host.hasPrefix("/") || raw.contains(" ") || raw.contains("@") {
            throw .invalid("endpoint", "\"\(raw)\" is not a valid URL with a host (credentials never go into the URL)")
        }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }

    static func bucketName(_ value: String?) throws(DomainError) -> String {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else {
            throw .invalid("bucket", "a bucket name is required")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        guard raw.count >= 3, raw.count <= 63, raw.allSatisfy({ allowed.contains($0) }) else {
            throw .invalid("bucket", "\"\(raw)\" is not a bucket name: use 3–63 letters, digits, '.', '-' or '_'")
        }
        return raw
    }

    static func prefixPath(_ value: String?) throws(DomainError) -> String? {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else { return nil }
        let parts = raw.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains(where: { $0 == ".." || $0 == "." }) || raw.contains("\0") || raw.contains("\n") {
            throw .invalid("prefix", "\"\(raw)\" must be a plain folder path without \".\" or \"..\"")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    static func optionalToken(_ value: String?, field: String) throws(DomainError) -> String? {
        guard let raw = value?.trimmingSpaces, !raw.isEmpty else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        guard raw.count <= 64, raw.allSatisfy({ allowed.contains($0) }) else {
            throw .invalid(field, "\"\(raw)\" may contain only letters, digits, '.', '-' and '_'")
        }
        return raw
    }
}

/// rclone's `--bwlimit` value: one rate (`512k`, `10M`, `off`, `UP:DOWN`), or a time table of
/// `[DAY-]HH:MM,RATE` entries separated by spaces (`08:00,512k 19:00,off`, `Mon-00:00,2M`).
public enum BandwidthTable {
    public static let maxLength = 500
    static let days: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public static func validated(_ text: String) throws(DomainError) -> String {
        let field = "bandwidthSchedule"
        let example = "e.g. 08:00,512k 19:00,off (times HH:MM, optionally Mon-…Sun-, rates like 512k, 10M, off, or UP:DOWN)"
        guard text.count <= maxLength, !text.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw .invalid(field, "give at most \(maxLength) characters on one line, \(example)")
        }
        let entries = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if entries.count == 1, !entries[0].contains(",") {
            guard isRate(entries[0]) else { throw .invalid(field, "\"\(entries[0])\" is not a rate; \(example)") }
            return entries[0]
        }
        for entry in entries {
            let parts = entry.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, isTime(parts[0]), isRate(parts[1]) else {
                throw .invalid(field, "\"\(entry)\" is not a time and a rate; \(example)")
            }
        }
        return entries.joined(separator: " ")
    }

    static func isTime(_ text: String) -> Bool {
        var time = Substring(text)
        if let dash = time.firstIndex(of: "-") {
            guard days.contains(time[..<dash].lowercased()) else { return false }
            time = time[time.index(after: dash)...]
        }
        let parts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }), let hour = Int(parts[0]), let minute = Int(parts[1])
        else {
            return false
        }
        return (0...23).contains(hour) && (0...59).contains(minute)
    }

    static func isRate(_ text: String) -> Bool {
        let halves = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(halves.count) else { return false }
        return halves.allSatisfy { half in
            if half.lowercased() == "off" { return true }
            var number = Substring(half)
            if let last = number.last, "bBkKmMgGtTpP".contains(last) { number = number.dropLast() }
            guard !number.isEmpty, number.count <= 12, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number)
            else {
                return false
            }
            return value > 0
        }
    }
}
