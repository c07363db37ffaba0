import Foundation

/// New instance and agent ids: 12 lowercase letters and digits.
public enum InstanceID {
    public static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    public static func make() -> String {
        String(decoding: (0..<12).map { _ in alphabet.randomElement()! }, as: UTF8.self)
    }
}
