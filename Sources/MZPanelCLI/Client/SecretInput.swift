import Foundation

/// Reads secrets from a file, standard input (`-`) or a prompt, never from a flag's value.
public enum SecretInput {
    /// Reads a file's first line (or all of stdin for `-`), trimmed of the final newline.
    public static func read(file path: String, what: String) throws -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read the \(what) file \(path); check the path and its permissions")
            }
            data = contents
        }
        let text = String(decoding: data, as: UTF8.self)
        let value = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !value.isEmpty else { throw CLIError("the \(what) file \(path) is empty") }
        return value
    }

    /// Reads a whole file (an rclone configuration); refuses an empty one.
    static func readAll(file path: String, what: String) throws -> String {
        guard let contents = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read the \(what) file \(path); check the path and its permissions")
        }
        let text = String(decoding: contents, as: UTF8.self)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw CLIError("the \(what) file \(path) is empty") }
        return text
    }

    /// Prompts on the terminal without echo; fails in scripts, which should pass a file.
    public static func prompt(_ label: String, flag: String) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("no \(label) given: pass \(flag) FILE (or - for standard input)")
        }
        guard let pointer = getpass(label + ": ") else { throw CLIError("could not read the \(label)") }
        let value = String(cString: pointer)
        guard !value.isEmpty else { throw CLIError("the \(label) is empty") }
        return value
    }
}

/// Asks before destructive commands on a terminal; scripts must pass `--yes`.
enum Confirmation {
    static func require(_ question: String, yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIError("\(question) Pass --yes to confirm when not running on a terminal.")
        }
        FileHandle.standardError.write(Data((question + " [y/N] ").utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else { throw CLIError("cancelled; nothing was changed") }
    }
}
