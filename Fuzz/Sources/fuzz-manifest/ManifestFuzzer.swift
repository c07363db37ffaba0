import CLibFuzzer
import Foundation

/// One input, checked against the decoder's promises (`ManifestProperties`). A broken promise traps,
/// and libFuzzer saves the input that broke it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // The API refuses a body that is not UTF-8 before decoding; such inputs are not worth keeping.
    guard let data, let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else {
        return -1
    }
    ManifestProperties.check(text)
    return 0
}

/// Runs libFuzzer; its flags and corpus folders are the arguments. (SwiftPM gives every executable
/// a `main`, so this one hands over to libFuzzer's driver.)
@main
enum ManifestFuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
    }
}
