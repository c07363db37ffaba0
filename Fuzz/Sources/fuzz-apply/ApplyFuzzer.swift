import CLibFuzzer
import Foundation

/// One input, checked against the apply path's promises (`ApplyHarness`). The first byte chooses how
/// the rest is sent: bit 0 as JSON rather than YAML, bit 1 as a dry run. The rest is the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return -1 }
    let body = Data(bytes: data + 1, count: size - 1)
    ApplyHarness.shared.check(body: body, json: data[0] & 1 != 0, dryRun: data[0] & 2 != 0)
    return 0
}

/// Runs libFuzzer; its flags and corpus folders are the arguments. (SwiftPM gives every executable
/// a `main`, so this one hands over to libFuzzer's driver.)
@main
enum ApplyFuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
    }
}
