import Foundation
import Logging
import SalonProtocol
@testable import SalonServer
import Testing

/// `--log-format json`: every entry one line that parses, whatever the logged text holds.
@Suite struct JSONLogHandlerTests {
    @Test func anEntryIsOneLineOfJSONWhateverItHolds() throws {
        let hostile = "a \"quoted\" \\ name\nwith a newline\u{1b}[2J and é"
        let metadata: Logger.Metadata = [
            "remote": "127.0.0.1", "reason": .string(hostile), "message": "forged",
            "count": .stringConvertible(42), "list": [.string("x"), .dictionary(["k": "v"])],
        ]
        let line = JSONLogHandler.line(timestamp: Timestamp(milliseconds: 0), level: .warning, label: "salon", message: hostile,
                                       source: "SalonServer", metadata: metadata)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["message"] as? String == hostile)
        #expect(object["reason"] as? String == hostile)
        #expect(object["meta_message"] as? String == "forged")  // a reserved key is not overwritten
        #expect(object["level"] as? String == "warning" && object["label"] as? String == "salon")
        #expect(object["timestamp"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(object["count"] as? String == "42")
        let list = try #require(object["list"] as? [Any])
        #expect(list.first as? String == "x" && (list.last as? [String: String]) == ["k": "v"])
    }
}
