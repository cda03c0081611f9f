import Foundation

/// A key in a JSON object that the type decoded from it does not know (a typo such as `"includes"`).
public struct UnknownKeyError: Error, CustomStringConvertible, Sendable {
    /// Where the key is, dotted (`settings.bucketName`, `events[2].kind`).
    public let path: String
    /// The keys the object at that place accepts.
    public let allowed: [String]

    public var description: String {
        let key = path.split(separator: ".").last.map(String.init) ?? path
        let place = path.contains(".") ? " in \"\(path.split(separator: ".").dropLast().joined(separator: "."))\"" : ""
        if allowed.isEmpty { return "unknown key \"\(key)\"\(place): this object takes no keys" }
        return "unknown key \"\(key)\"\(place); the allowed keys are \(allowed.joined(separator: ", "))"
    }
}

extension HubJSON {
    /// Decodes `type` like `decoder().decode`, and refuses what that would silently accept: a key the
    /// type never asks for, at any depth (an `UnknownKeyError`), and `null` for an optional key (a
    /// `DecodingError.valueNotFound`: an optional key is left out, never null).
    ///
    /// One mechanism for every type: the types' own `init(from:)` runs against a decoder that notes,
    /// per JSON object, each key the type asked about; afterwards every key of the object must be
    /// among them. So the allowed keys are the type's `CodingKeys`, custom decoders included.
    public static func decodeStrictly<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let ledger = KeyLedger()
        let decoder = decoder()
        decoder.userInfo[KeyLedger.userInfoKey] = ledger
        let value = try decoder.decode(StrictRoot<T>.self, from: data).value
        if let unknown = ledger.firstUnknown() { throw unknown }
        return value
    }
}

/// Per JSON object (by coding path): the keys it has and the keys the type asked about.
final class KeyLedger: @unchecked Sendable {
    // Used by one decode call on one thread; the class is only a shared notebook for its containers.
    static let userInfoKey = CodingUserInfoKey(rawValue: "mzpanel.strictKeys")!

    struct Object {
        var present: [String] = []
        var asked: Set<String> = []
    }
    private var objects: [String: Object] = [:]
    private var order: [String] = []

    func opened(_ path: String, keys: [String]) {
        if objects[path] == nil { order.append(path) }
        objects[path, default: Object()].present = keys
    }

    func asked(_ path: String, _ key: String) {
        objects[path, default: Object()].asked.insert(key)
    }

    func firstUnknown() -> UnknownKeyError? {
        for path in order {
            guard let object = objects[path] else { continue }
            if let key = object.present.sorted().first(where: { !object.asked.contains($0) }) {
                return UnknownKeyError(path: path.isEmpty ? key : path + "." + key, allowed: object.asked.sorted())
            }
        }
        return nil
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce("") { text, key in
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") || Int(key.stringValue) == index {
                return text + "[\(index)]"
            }
            return text.isEmpty ? key.stringValue : text + "." + key.stringValue
        }
    }
}

private struct StrictRoot<T: Decodable>: Decodable {
    let value: T
    init(from decoder: any Decoder) throws {
        guard let ledger = decoder.userInfo[KeyLedger.userInfoKey] as? KeyLedger else {
            value = try T(from: decoder)
            return
        }
        value = try StrictDecoder.decode(T.self, from: decoder, ledger: ledger)
    }
}

private struct AnyKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Wraps JSONDecoder's decoder: every container it hands out reports to the ledger.
private struct StrictDecoder: Decoder {
    let inner: any Decoder
    let ledger: KeyLedger

    var codingPath: [any CodingKey] { inner.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { inner.userInfo }

    /// Types the JSON decoder treats specially (dates by the API's strategy) keep its handling.
    static func isLeaf<T>(_ type: T.Type) -> Bool {
        type == Date.self || type == Data.self || type == URL.self || type == Decimal.self
    }

    static func decode<T: Decodable>(_ type: T.Type, from inner: any Decoder, ledger: KeyLedger) throws -> T {
        try T(from: StrictDecoder(inner: inner, ledger: ledger))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let keyed = try inner.container(keyedBy: type)
        let path = KeyLedger.path(inner.codingPath)
        ledger.opened(path, keys: try inner.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue))
        return KeyedDecodingContainer(StrictKeyedContainer(inner: keyed, ledger: ledger, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(inner: try inner.unkeyedContainer(), ledger: ledger)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        StrictSingleValueContainer(decoder: self, inner: try inner.singleValueContainer())
    }
}

private struct StrictSingleValueContainer: SingleValueDecodingContainer {
    let decoder: StrictDecoder
    let inner: any SingleValueDecodingContainer
    var codingPath: [any CodingKey] { inner.codingPath }

    func decodeNil() -> Bool { inner.decodeNil() }
    func decode(_ type: Bool.Type) throws -> Bool { try inner.decode(type) }
    func decode(_ type: String.Type) throws -> String { try inner.decode(type) }
    func decode(_ type: Double.Type) throws -> Double { try inner.decode(type) }
    func decode(_ type: Float.Type) throws -> Float { try inner.decode(type) }
    func decode(_ type: Int.Type) throws -> Int { try inner.decode(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try inner.decode(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try inner.decode(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try inner.decode(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try inner.decode(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try inner.decode(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try inner.decode(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try inner.decode(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try inner.decode(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try inner.decode(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // The same JSON value: a wrapper type decoding its content keeps being checked.
        StrictDecoder.isLeaf(type) ? try inner.decode(type) : try T(from: decoder)
    }
}

private struct StrictKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let inner: KeyedDecodingContainer<Key>
    let ledger: KeyLedger
    let path: String

    var codingPath: [any CodingKey] { inner.codingPath }
    var allKeys: [Key] { inner.allKeys }

    private func note(_ key: Key) { ledger.asked(path, key.stringValue) }

    func contains(_ key: Key) -> Bool {
        note(key)
        return inner.contains(key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        note(key)
        return try inner.decodeNil(forKey: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try plain(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try plain(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try plain(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try plain(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try plain(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try plain(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try plain(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try plain(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try plain(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try plain(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try plain(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try plain(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try plain(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try plain(type, key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        note(key)
        // Missing or null: JSONDecoder's own error (keyNotFound, valueNotFound) with its path.
        let isNull = inner.contains(key) ? try inner.decodeNil(forKey: key) : true
        if StrictDecoder.isLeaf(type) || isNull {
            return try inner.decode(type, forKey: key)
        }
        return try StrictDecoder.decode(type, from: try inner.superDecoder(forKey: key), ledger: ledger)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(type, key) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try optional(type, key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        note(key)
        _ = try inner.nestedContainer(keyedBy: type, forKey: key)
        return try StrictDecoder(inner: try inner.superDecoder(forKey: key), ledger: ledger).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        note(key)
        _ = try inner.nestedUnkeyedContainer(forKey: key)
        return try StrictDecoder(inner: try inner.superDecoder(forKey: key), ledger: ledger).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ledger.asked(path, "super")
        return StrictDecoder(inner: try inner.superDecoder(), ledger: ledger)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        note(key)
        return StrictDecoder(inner: try inner.superDecoder(forKey: key), ledger: ledger)
    }

    private func plain<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        note(key)
        return try inner.decode(type, forKey: key)
    }

    /// An optional key is absent or has a value; `null` is refused like a missing required value.
    private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        note(key)
        guard inner.contains(key) else { return nil }
        if try inner.decodeNil(forKey: key) {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [key], debugDescription: "null is not a value here; leave the key out instead"))
        }
        return try decode(type, forKey: key)
    }
}

private struct StrictUnkeyedContainer: UnkeyedDecodingContainer {
    var inner: any UnkeyedDecodingContainer
    let ledger: KeyLedger

    var codingPath: [any CodingKey] { inner.codingPath }
    var count: Int? { inner.count }
    var isAtEnd: Bool { inner.isAtEnd }
    var currentIndex: Int { inner.currentIndex }

    mutating func decodeNil() throws -> Bool { try inner.decodeNil() }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try inner.decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try inner.decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try inner.decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try inner.decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try inner.decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try inner.decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try inner.decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try inner.decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try inner.decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try inner.decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try inner.decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try inner.decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try inner.decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try inner.decode(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if StrictDecoder.isLeaf(type) || isAtEnd { return try inner.decode(type) }
        return try StrictDecoder.decode(type, from: try inner.superDecoder(), ledger: ledger)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try StrictDecoder(inner: try inner.superDecoder(), ledger: ledger).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try StrictDecoder(inner: try inner.superDecoder(), ledger: ledger).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        StrictDecoder(inner: try inner.superDecoder(), ledger: ledger)
    }
}
