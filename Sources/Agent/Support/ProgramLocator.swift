import Foundation

/// Finds programs (restic, pg_dump, mysqldump, systemctl…) in PATH and the usual system directories,
/// since timers and services run with a minimal PATH.
public enum ProgramLocator {
    static let fallbackDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    public static func find(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        for directory in path + fallbackDirectories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The absolute path of the running agent binary (for ExecStart and child runs).
    public static func currentExecutable() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        let argument0 = CommandLine.arguments.first ?? "mzpanel-agent"
        if argument0.hasPrefix("/") { return argument0 }
        if argument0.contains("/") { return FileManager.default.currentDirectoryPath + "/" + argument0 }
        return find(argument0) ?? argument0
    }
}
