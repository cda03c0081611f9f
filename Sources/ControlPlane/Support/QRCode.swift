import Foundation

/// A QR code (ISO/IEC 18004) of a short text in byte mode at error correction level M, versions
/// 1–20, drawn as SVG on the server (the two-factor set-up shows the `otpauth://` link this way).
/// Follows the standard's construction: data and padding, Reed–Solomon blocks interleaved,
/// function patterns, the zigzag placement, the mask with the lowest penalty, format and version bits.
public struct QRCode: Sendable {
    public let version: Int
    public let mask: Int
    /// `modules[y][x]`: true is dark.
    public let modules: [[Bool]]
    public var size: Int { modules.count }

    // Level M, versions 0 (unused) to 20.
    static let eccPerBlock = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26]
    static let blocks = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16]
    /// Level M's format bits (L 01, M 00, Q 11, H 10).
    static let formatLevel = 0

    /// The code of `text` (UTF-8), the smallest version that holds it; nil when it does not fit version 20.
    /// `mask` forces a mask pattern (0–7); by default the one with the lowest penalty.
    public init?(_ text: String, mask forced: Int? = nil) {
        let bytes = Array(text.utf8)
        guard let version = (1...20).first(where: { Self.dataCodewords($0) * 8 >= 4 + ($0 < 10 ? 8 : 16) + bytes.count * 8 }) else { return nil }
        self.version = version
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) { for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) } }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = Self.dataCodewords(version) * 8
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var pad = 0xEC
        while bits.count < capacity {
            append(pad, 8)
            pad ^= 0xEC ^ 0x11
        }
        var data: [UInt8] = []
        for index in stride(from: 0, to: bits.count, by: 8) {
            data.append(bits[index..<index + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) })
        }
        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        grid.drawCodewords(Self.interleaved(data, version: version))
        let chosen =
            forced
            ?? (0..<8).min { a, b in
                var first = grid
                first.apply(mask: a)
                var second = grid
                second.apply(mask: b)
                return first.penalty() < second.penalty()
            }!
        grid.apply(mask: chosen)
        self.mask = chosen
        self.modules = grid.modules
    }

    static func rawDataModules(_ version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let align = version / 7 + 2
            result -= (25 * align - 10) * align - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    static func dataCodewords(_ version: Int) -> Int { rawDataModules(version) / 8 - eccPerBlock[version] * blocks[version] }

    /// The data split into blocks, each with its Reed–Solomon codewords, interleaved.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let count = blocks[version]
        let eccLength = eccPerBlock[version]
        let raw = rawDataModules(version) / 8
        let shortBlocks = count - raw % count
        let shortLength = raw / count
        let divisor = reedSolomonDivisor(eccLength)
        var split: [[UInt8]] = []
        var offset = 0
        for index in 0..<count {
            let length = shortLength - eccLength + (index < shortBlocks ? 0 : 1)
            var block = Array(data[offset..<offset + length])
            offset += length
            let ecc = reedSolomonRemainder(block, divisor)
            if index < shortBlocks { block.append(0) }
            split.append(block + ecc)
        }
        var result: [UInt8] = []
        for position in 0..<split[0].count {
            for (index, block) in split.enumerated() where position != shortLength - eccLength || index >= shortBlocks {
                result.append(block[position])
            }
        }
        return result
    }

    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z = 0
        for i in stride(from: 7, through: 0, by: -1) {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= ((Int(y) >> i) & 1) * Int(x)
        }
        return UInt8(z & 0xFF)
    }

    static func reedSolomonDivisor(_ degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func reedSolomonRemainder(_ data: [UInt8], _ divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for i in 0..<result.count { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }

    /// The code as an SVG document (a 4-module quiet zone, one path of dark modules).
    public func svg(moduleSize: Int = 4) -> String {
        let border = 4
        let total = size + 2 * border
        var path = ""
        for (y, row) in modules.enumerated() {
            for (x, dark) in row.enumerated() where dark { path += "M\(x + border),\(y + border)h1v1h-1z" }
        }
        return
            ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \##(total) \##(total)" width="\##(total * moduleSize)" height="\##(total * moduleSize)" shape-rendering="crispEdges" role="img" aria-label="QR code"><rect width="100%" height="100%" fill="#fff"/><path d="\##(path)" fill="#000"/></svg>"##
    }

    struct Grid {
        let version: Int
        let size: Int
        var modules: [[Bool]]
        var function: [[Bool]]

        init(version: Int) {
            self.version = version
            size = version * 4 + 17
            modules = Array(repeating: Array(repeating: false, count: size), count: size)
            function = modules
        }

        mutating func set(_ x: Int, _ y: Int, _ dark: Bool) {
            modules[y][x] = dark
            function[y][x] = true
        }

        mutating func drawFunctionPatterns() {
            for i in 0..<size {
                set(6, i, i % 2 == 0)
                set(i, 6, i % 2 == 0)
            }
            for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let x = cx + dx
                        let y = cy + dy
                        guard x >= 0, x < size, y >= 0, y < size else { continue }
                        let distance = max(abs(dx), abs(dy))
                        set(x, y, distance != 2 && distance != 4)
                    }
                }
            }
            let positions = alignmentPositions()
            let last = positions.count - 1
            for i in positions.indices {
                for j in positions.indices where !((i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0)) {
                    for dy in -2...2 {
                        for dx in -2...2 { set(positions[i] + dx, positions[j] + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            drawFormat(mask: 0)
            drawVersion()
        }

        func alignmentPositions() -> [Int] {
            guard version > 1 else { return [] }
            let count = version / 7 + 2
            let step = (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
            var result: [Int] = []
            var position = size - 7
            for _ in 0..<(count - 1) {
                result.insert(position, at: 0)
                position -= step
            }
            result.insert(6, at: 0)
            return result
        }

        mutating func drawFormat(mask: Int) {
            let data = QRCode.formatLevel << 3 | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = (data << 10 | remainder) ^ 0x5412
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            for i in 0...5 { set(8, i, bit(i)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for i in 9..<15 { set(14 - i, 8, bit(i)) }
            for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
            set(8, size - 8, true)
        }

        mutating func drawVersion() {
            guard version >= 7 else { return }
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let bits = version << 12 | remainder
            for i in 0..<18 {
                let dark = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3
                let b = i / 3
                set(a, b, dark)
                set(b, a, dark)
            }
        }

        mutating func drawCodewords(_ data: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vertical : vertical
                        if !function[y][x], index < data.count * 8 {
                            modules[y][x] = (data[index >> 3] >> (7 - UInt8(index & 7))) & 1 == 1
                            index += 1
                        }
                    }
                }
                right -= 2
            }
        }

        mutating func apply(mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !function[y][x] {
                    let invert: Bool
                    switch mask {
                    case 0: invert = (x + y) % 2 == 0
                    case 1: invert = y % 2 == 0
                    case 2: invert = x % 3 == 0
                    case 3: invert = (x + y) % 3 == 0
                    case 4: invert = (x / 3 + y / 2) % 2 == 0
                    case 5: invert = x * y % 2 + x * y % 3 == 0
                    case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                    default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if invert { modules[y][x].toggle() }
                }
            }
            drawFormat(mask: mask)
        }

        /// The standard's penalty: runs of five or more, 2×2 blocks, finder-like patterns, and dark/light balance.
        func penalty() -> Int {
            var result = 0
            let lines = modules + (0..<size).map { x in (0..<size).map { modules[$0][x] } }
            let finder: [Bool] = [true, false, true, true, true, false, true]
            for line in lines {
                var run = 1
                for i in 1..<size {
                    if line[i] == line[i - 1] {
                        run += 1
                        if run == 5 { result += 3 } else if run > 5 { result += 1 }
                    } else {
                        run = 1
                    }
                }
                for i in 0...(size - 7) where Array(line[i..<i + 7]) == finder {
                    let before = i >= 4 && !line[(i - 4)..<i].contains(true)
                    let after = i + 11 <= size && !line[(i + 7)..<(i + 11)].contains(true)
                    if before || after { result += 40 }
                }
            }
            for y in 0..<(size - 1) {
                for x in 0..<(size - 1) {
                    let color = modules[y][x]
                    if color == modules[y][x + 1], color == modules[y + 1][x], color == modules[y + 1][x + 1] { result += 3 }
                }
            }
            let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
            let total = size * size
            let k = (abs(dark * 20 - total * 10) + total - 1) / total - 1
            result += max(0, k) * 10
            return result
        }
    }
}
