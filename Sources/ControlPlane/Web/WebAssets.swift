import Foundation
import Mustache

/// The web UI's templates (parsed once at start) and static files. They ship as the ControlPlane
/// target's resources; `MZPANEL_WEB_DIR` points at another copy (to edit templates without a rebuild).
struct WebAssets: Sendable {
    let library: MustacheLibrary
    let staticDirectory: String

    static func load() throws -> WebAssets {
        let root = try resourceRoot()
        var library = MustacheLibrary()
        let templates = root + "/templates"
        for file in try FileManager.default.contentsOfDirectory(atPath: templates).sorted() where file.hasSuffix(".mustache") {
            let text = try String(contentsOfFile: templates + "/" + file, encoding: .utf8)
            try library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        return WebAssets(library: library, staticDirectory: root + "/static")
    }

    /// Where the Debian package installs the files (`/usr/bin` holds binaries only).
    static let installedRoot = "/usr/share/mzpanel/web"

    /// `MZPANEL_WEB_DIR`, else the resources next to the binary (`swift build`'s layout), else the
    /// package's copy, else the build directory the binary was built in.
    static func resourceRoot() throws -> String {
        if let custom = ProcessInfo.processInfo.environment["MZPANEL_WEB_DIR"], !custom.isEmpty { return custom }
        let beside = Bundle.main.bundleURL.appendingPathComponent("mzpanel_ControlPlane.resources/Resources").path
        for candidate in [beside, installedRoot] where FileManager.default.fileExists(atPath: candidate + "/templates") {
            return candidate
        }
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw WebAssetsError()
        }
        return url.path
    }

    struct WebAssetsError: Error, CustomStringConvertible {
        var description: String {
            "the web UI's files (mzpanel_ControlPlane.resources) are missing next to the mzpanel binary and in \(WebAssets.installedRoot); copy them along, or set MZPANEL_WEB_DIR"
        }
    }
}
