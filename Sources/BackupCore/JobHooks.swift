import Foundation

/// What happens to a run when its `before` hook fails (exits non-zero, cannot start, or times out).
public enum HookFailurePolicy: String, Sendable, Codable, CaseIterable {
    /// No backup; the run ends `cancelled`, which does not alert (a hook that says "not now").
    case cancel
    /// No backup; the run ends `failed` and alerts like any failure (the default).
    case fail
    /// The backup goes on; the log says the hook failed.
    case ignore

    public static func parse(_ text: String, field: String = "hooks.beforePolicy") throws(DomainError) -> HookFailurePolicy {
        guard let policy = HookFailurePolicy(rawValue: text.trimmingSpaces.lowercased()) else {
            throw .invalid(
                field,
                "\"\(text)\" is not a hook policy; use cancel (no backup, the run is cancelled, no alert), fail (no backup, the run fails and alerts) or ignore (back up anyway)"
            )
        }
        return policy
    }
}

/// Shell commands a job runs on its server around each backup (docs/operations.md, "Hooks"), each
/// with `/bin/sh -c`, PATH and HOME and the run's ids in its environment (never a secret), its
/// output in the run's log (redacted), and a timeout. Part of the signed job manifest: a hub
/// cannot add or change a command an agent runs.
///
/// - `before`: before anything is backed up; when it fails, `beforePolicy` decides.
/// - `after`: after a run in which every copy succeeded.
/// - `onFailure`: after a run that failed or was partial (also when `before` failed with policy `fail`).
/// - `finally`: after every run, whatever happened (also a cancelled one).
public struct JobHooks: Sendable, Codable, Equatable {
    public var before: String?
    public var after: String?
    public var onFailure: String?
    public var finally: String?
    /// nil: `fail`.
    public var beforePolicy: HookFailurePolicy?
    /// Seconds each hook may run before it is stopped (nil: `defaultTimeout`).
    public var timeoutSeconds: Int?

    public init(
        before: String? = nil, after: String? = nil, onFailure: String? = nil, finally: String? = nil,
        beforePolicy: HookFailurePolicy? = nil, timeoutSeconds: Int? = nil
    ) {
        self.before = before
        self.after = after
        self.onFailure = onFailure
        self.finally = finally
        self.beforePolicy = beforePolicy
        self.timeoutSeconds = timeoutSeconds
    }

    /// Five minutes: a hook that stops a service or flushes a cache is done long before.
    public static let defaultTimeout = 300
    /// One second to six hours.
    public static let timeoutRange = 1...21_600
    /// The longest command, in UTF-8 bytes (call a script for more).
    public static let maxCommandBytes = 4096

    public var policy: HookFailurePolicy { beforePolicy ?? .fail }
    public var timeout: Int { timeoutSeconds ?? Self.defaultTimeout }
    public var isEmpty: Bool { before == nil && after == nil && onFailure == nil && finally == nil }

    /// The hooks by their name in the API, in the order a run may call them.
    public var commands: [(name: String, command: String)] {
        [("before", before), ("after", after), ("onFailure", onFailure), ("finally", finally)].compactMap { name, command in
            command.map { (name, $0) }
        }
    }

    /// Checks every command, the policy and the timeout; nil when no command is left (the job has
    /// no hooks: nothing is stored or signed).
    public func validated() throws(DomainError) -> JobHooks? {
        var clean = JobHooks()
        clean.before = try Self.validatedCommand(before, field: "hooks.before")
        clean.after = try Self.validatedCommand(after, field: "hooks.after")
        clean.onFailure = try Self.validatedCommand(onFailure, field: "hooks.onFailure")
        clean.finally = try Self.validatedCommand(finally, field: "hooks.finally")
        if let timeoutSeconds {
            guard Self.timeoutRange.contains(timeoutSeconds) else {
                throw .invalid(
                    "hooks.timeoutSeconds", "\(timeoutSeconds) s is outside 1 s to 6 hours; give seconds such as 300 (the default, 5 minutes)")
            }
        }
        if clean.isEmpty {
            if beforePolicy != nil || timeoutSeconds != nil {
                throw .invalid("hooks", "a hook policy or timeout needs a hook command; add --before (or another hook), or leave them out")
            }
            return nil
        }
        if beforePolicy != nil && clean.before == nil {
            throw .invalid("hooks.beforePolicy", "the policy says what a failing before hook does; add a before hook or leave the policy out")
        }
        clean.beforePolicy = beforePolicy
        clean.timeoutSeconds = timeoutSeconds == Self.defaultTimeout ? nil : timeoutSeconds
        return clean
    }

    /// A command as `/bin/sh -c` runs it: trimmed, "" for none, at most 4 KiB, no NUL and no
    /// control character but tab and newline (a multi-line script is fine; a carriage return or an
    /// escape sequence would hide what runs from whoever reads the job).
    public static func validatedCommand(_ text: String?, field: String) throws(DomainError) -> String? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return nil }
        if trimmed.utf8.count > maxCommandBytes {
            throw .invalid(
                field,
                "the command is \(trimmed.utf8.count) bytes; at most \(maxCommandBytes) — put longer logic in a script on the server and call it")
        }
        if trimmed.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }) {
            throw .invalid(
                field, "the command contains a control character (NUL, carriage return, escape…); write it as plain text, one command per line")
        }
        return trimmed
    }
}
