import BackupCore
import Foundation
import HubAPI
import Hummingbird

/// Typed reading of query parameters with 400s that name the parameter.
struct QueryParameters {
    let request: Request

    func string(_ name: String) -> String? {
        guard let value = request.uri.queryParameters[name[...]] else { return nil }
        let text = String(value)
        return text.isEmpty ? nil : text
    }

    func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw APIError.badRequest("\(name)=\(text) is not a whole number", field: name) }
        return value
    }

    func date(_ name: String) throws -> Date? {
        guard let text = string(name) else { return nil }
        guard let date = HubJSON.parse(text) else {
            throw APIError.badRequest("\(name)=\(text) is not an ISO-8601 time such as 2026-01-31T02:30:00Z", field: name)
        }
        return date
    }

    func enumeration<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.badRequest("\(name)=\(text) is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", field: name)
        }
        return value
    }

    // `cursor()` and `limit()` call typed-throws functions of BackupCore; inlined into the async
    // list handlers they crash Swift 6.3.1's optimiser (docs/compiler-notes.md), so they stay calls.
    @inline(never) func cursor() throws -> Cursor? {
        guard let text = string("cursor") else { return nil }
        return try Cursor.parse(text)
    }

    @inline(never) func limit() throws -> Int { try PageSize.validated(try int("limit")) }
}
