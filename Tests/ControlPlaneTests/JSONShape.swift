import Foundation

/// The JSON shape of a `Decodable` type as its own `init(from:)` asks for it: each key, whether it is
/// required (`decode`) or optional (`decodeIfPresent`), and each value's JSON type. Lets a test hold the
/// OpenAPI schemas against the types field by field, without an instance of each type.
indirect enum JSONShape: Equatable, Sendable {
    /// A string; `values` when it is an enum's raw value.
    case string(values: [String]?)
    case dateTime
    case integer
    case number
    case boolean
    case array(JSONShape)
    /// An object with known keys.
    case object([String: ShapeField])
    /// A dictionary keyed by strings.
    case map(JSONShape)

    var jsonType: String {
        switch self {
        case .string, .dateTime: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .array: "array"
        case .object, .map: "object"
        }
    }

    /// Probes `type` by decoding it from a decoder that records every question it asks.
    static func of<T: Decodable>(_ type: T.Type) throws -> JSONShape {
        try ShapeDecoder(codingPath: []).probe(type, key: nil).1
    }
}

/// One key of an object shape.
struct ShapeField: Equatable, Sendable {
    var shape: JSONShape
    var required: Bool
}

/// Strings the probe hands to validating decoders (a schedule must parse).
private let sampleStrings = ["calendar": "daily", "timeZone": "UTC", "kdf": "PBKDF2-SHA256", "window": "01:00-05:00"]

/// String-backed enums: the probe answers the first case and records them all.
protocol ProbeableEnum {
    static var probeCases: [String] { get }
    static var probeFirst: Any { get }
}
extension ProbeableEnum where Self: CaseIterable & RawRepresentable, RawValue == String {
    static var probeCases: [String] { allCases.map(\.rawValue) }
    static var probeFirst: Any { allCases.first! }
}

/// `[String: Value]`: recorded as a map of the value's shape.
private protocol ProbeableDictionary {
    static func probeValue(_ decoder: ShapeDecoder) throws -> (Any, JSONShape)
}
extension Dictionary: ProbeableDictionary where Key == String, Value: Decodable {
    fileprivate static func probeValue(_ decoder: ShapeDecoder) throws -> (Any, JSONShape) {
        let (_, shape) = try ShapeDecoder(codingPath: decoder.codingPath).probe(Value.self, key: nil)
        return ([String: Value](), .map(shape))
    }
}

/// A primitive's sample value and shape, or nil for a composite type.
private func primitive<T>(_ type: T.Type, key: String?) -> (T, JSONShape)? {
    switch type {
    case is Bool.Type: (false as! T, .boolean)
    case is String.Type: ((key.flatMap { sampleStrings[$0] } ?? "x") as! T, .string(values: nil))
    case is Double.Type: (Double(1) as! T, .number)
    case is Float.Type: (Float(1) as! T, .number)
    case is Int.Type: (Int(1) as! T, .integer)
    case is Int8.Type: (Int8(1) as! T, .integer)
    case is Int16.Type: (Int16(1) as! T, .integer)
    case is Int32.Type: (Int32(1) as! T, .integer)
    case is Int64.Type: (Int64(1) as! T, .integer)
    case is UInt.Type: (UInt(1) as! T, .integer)
    case is UInt8.Type: (UInt8(1) as! T, .integer)
    case is UInt16.Type: (UInt16(1) as! T, .integer)
    case is UInt32.Type: (UInt32(1) as! T, .integer)
    case is UInt64.Type: (UInt64(1) as! T, .integer)
    case is Date.Type: (Date() as! T, .dateTime)
    // Base64 in JSON.
    case is Data.Type: (Data() as! T, .string(values: nil))
    default: nil
    }
}

/// What one decoder was asked.
private final class Recording {
    var fields: [String: ShapeField]?
    var element: JSONShape?
    var single: JSONShape?
    var optionalKeys: Set<String> = []

    var shape: JSONShape {
        if let fields { return .object(fields) }
        if let element { return .array(element) }
        return single ?? .object([:])
    }
}

private final class ShapeDecoder: Decoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let recorded = Recording()

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    /// Decodes `type` from a fresh decoder (primitives, dates, enums and dictionaries answered here); its value and shape.
    func probe<T: Decodable>(_ type: T.Type, key: String?) throws -> (T, JSONShape) {
        if let answer = primitive(type, key: key) { return answer }
        if let enumType = type as? any ProbeableEnum.Type { return (enumType.probeFirst as! T, .string(values: enumType.probeCases)) }
        if let dictionaryType = type as? any ProbeableDictionary.Type {
            let (value, shape) = try dictionaryType.probeValue(self)
            return (value as! T, shape)
        }
        let child = ShapeDecoder(codingPath: codingPath + (key.map { [ProbeKey($0)] } ?? []))
        let value = try T(from: child)
        return (value, child.recorded.shape)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if recorded.fields == nil { recorded.fields = [:] }
        return KeyedDecodingContainer(KeyedProbe<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { UnkeyedProbe(decoder: self) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleProbe(decoder: self) }
}

private struct ProbeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct KeyedProbe<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ShapeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }

    /// `decodeIfPresent` asks this first: the key is optional.
    func decodeNil(forKey key: Key) throws -> Bool {
        decoder.recorded.optionalKeys.insert(key.stringValue)
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (value, shape) = try decoder.probe(type, key: key.stringValue)
        decoder.recorded.fields?[key.stringValue] = ShapeField(shape: shape, required: !decoder.recorded.optionalKeys.contains(key.stringValue))
        return value
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(Probed<Bool>.self, forKey: key).value }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(Probed<String>.self, forKey: key).value }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(Probed<Double>.self, forKey: key).value }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(Probed<Float>.self, forKey: key).value }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(Probed<Int>.self, forKey: key).value }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(Probed<Int8>.self, forKey: key).value }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(Probed<Int16>.self, forKey: key).value }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(Probed<Int32>.self, forKey: key).value }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(Probed<Int64>.self, forKey: key).value }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(Probed<UInt>.self, forKey: key).value }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(Probed<UInt8>.self, forKey: key).value }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(Probed<UInt16>.self, forKey: key).value }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(Probed<UInt32>.self, forKey: key).value }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(Probed<UInt64>.self, forKey: key).value }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not probed")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not probed")
    }
    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

/// A primitive routed through the generic path, so every overload records the same way.
private struct Probed<Value: Decodable>: Decodable {
    let value: Value
    init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Value.self) }
}

/// Answers one element, so an array's element type is probed once.
private struct UnkeyedProbe: UnkeyedDecodingContainer {
    let decoder: ShapeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { 1 }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex > 0 }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        let (value, shape) = try decoder.probe(type, key: nil)
        decoder.recorded.element = shape
        return value
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try decode(Probed<Bool>.self).value }
    mutating func decode(_ type: String.Type) throws -> String { try decode(Probed<String>.self).value }
    mutating func decode(_ type: Double.Type) throws -> Double { try decode(Probed<Double>.self).value }
    mutating func decode(_ type: Float.Type) throws -> Float { try decode(Probed<Float>.self).value }
    mutating func decode(_ type: Int.Type) throws -> Int { try decode(Probed<Int>.self).value }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decode(Probed<Int8>.self).value }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decode(Probed<Int16>.self).value }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decode(Probed<Int32>.self).value }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decode(Probed<Int64>.self).value }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decode(Probed<UInt>.self).value }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decode(Probed<UInt8>.self).value }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decode(Probed<UInt16>.self).value }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decode(Probed<UInt32>.self).value }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decode(Probed<UInt64>.self).value }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(in: self, debugDescription: "nested containers are not probed")
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(in: self, debugDescription: "nested containers are not probed")
    }
    mutating func superDecoder() throws -> any Decoder { decoder }
}

private struct SingleProbe: SingleValueDecodingContainer {
    let decoder: ShapeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, shape) = try decoder.probe(type, key: codingPath.last?.stringValue)
        decoder.recorded.single = shape
        return value
    }
    func decode(_ type: Bool.Type) throws -> Bool { try decodePrimitive(type) }
    func decode(_ type: String.Type) throws -> String { try decodePrimitive(type) }
    func decode(_ type: Double.Type) throws -> Double { try decodePrimitive(type) }
    func decode(_ type: Float.Type) throws -> Float { try decodePrimitive(type) }
    func decode(_ type: Int.Type) throws -> Int { try decodePrimitive(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodePrimitive(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodePrimitive(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodePrimitive(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodePrimitive(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodePrimitive(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodePrimitive(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodePrimitive(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodePrimitive(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodePrimitive(type) }

    private func decodePrimitive<T>(_ type: T.Type) throws -> T {
        let (value, shape) = primitive(type, key: codingPath.last?.stringValue)!
        decoder.recorded.single = shape
        return value
    }
}
