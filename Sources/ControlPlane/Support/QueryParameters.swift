import BackupCore
import Foundation
import HubAPI
import Hummingbird

/// Typed reading of query parameters with 400s that name the parameter.
struct QueryParameters {
    let request: Request

    /// `until=` says nothing a client could mean: a parameter is either left out or has a value.
    func refuseEmptyValues() throws {
        if let empty = request.uri.queryParameters.first(where: { $0.value.isEmpty }) {
            let name = String(empty.key)
            throw APIError.badRequest("\(name)= has no value; leave the parameter out or give it a value", field: name)
        }
    }

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

    func cursor() throws -> Cursor? {
        guard let text = string("cursor") else { return nil }
        return try Cursor.parse(text)
    }

    // Kept out of line: inlined into the async list handlers, this typed-throws call inside an
    // untyped one crashes Swift 6.3.1's optimiser (docs/compiler-notes.md).
    @inline(never) func limit() throws -> Int { try PageSize.validated(try int("limit")) }
}
