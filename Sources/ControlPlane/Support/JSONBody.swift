import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// An encodable value answered as JSON with a chosen status.
public struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator, Sendable {
    public let value: Value
    public let status: HTTPResponse.Status

    public init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try HubJSON.encoder().encode(value)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        // A created (or queued) resource's id, for the audit log (`{"id"…}` or `{"server": {"id"…}, …}`).
        if status == .created || status == .accepted, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            let id = object["id"] as? String ?? object.values.compactMap { ($0 as? [String: Any])?["id"] as? String }.first
            if let id { headers[AuditMiddleware.resourceHeader] = id }
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Request {
    /// Decodes a JSON body, answering 400 with the offending field and what was expected.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: HubRequestContext, limit: Int? = nil) async throws -> T {
        var request = self
        let buffer: ByteBuffer
        let maximum = limit ?? context.maxUploadSize
        do {
            buffer = try await request.collectBody(upTo: maximum)
        } catch {
            throw APIError(.contentTooLarge, code: "too_large", "the request body is larger than \(maximum / 1024) KiB")
        }
        if buffer.readableBytes == 0 {
            throw APIError.badRequest("the request needs a JSON body")
        }
        do {
            return try HubJSON.decodeStrictly(T.self, from: Data(buffer: buffer))
        } catch let error as UnknownKeyError {
            throw APIError.badRequest(error.description, field: error.path)
        } catch let error as DecodingError {
            if case .dataCorrupted(let detail) = error, detail.codingPath.isEmpty,
                (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) != nil
            {
                // Foundation reports some type errors (1.5 for a whole number) without a path.
                throw APIError.badRequest("a value in the body has the wrong type: numbers such as counts and seconds must be whole numbers")
            }
            throw APIError.badRequest(Self.explain(error), field: Self.field(of: error))
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce("") { text, key in
            if let index = key.intValue { return text + "[\(index)]" }
            return text.isEmpty ? key.stringValue : text + "." + key.stringValue
        }
    }

    static func field(of error: DecodingError) -> String? {
        switch error {
        case .keyNotFound(let key, let context):
            let p = path(context.codingPath + [key])
            return p.isEmpty ? nil : p
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let p = path(context.codingPath)
            return p.isEmpty ? nil : p
        @unknown default: return nil
        }
    }

    static func explain(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "\"\(path(context.codingPath + [key]))\" is required"
        case .typeMismatch(let type, let context):
            return "\"\(path(context.codingPath))\" must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\"\(path(context.codingPath))\" must be \(describe(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not valid JSON" }
            return "\"\(path(context.codingPath))\": \(context.debugDescription)"
        @unknown default:
            return "the body does not match the expected shape"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}
