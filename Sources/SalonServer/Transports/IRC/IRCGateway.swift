import Foundation
import NIOCore
import SalonIRC

/// What every IRC connection of a server shares: its name, the renderer, its start.
struct IRCGateway: Sendable {
    let serverName: String
    let renderer: IRCRenderer
    let created: Date
    let pingInterval: TimeAmount

    init(serverName: String, pingInterval: TimeAmount = .seconds(120)) {
        self.serverName = serverName
        self.renderer = IRCRenderer(serverName: serverName)
        self.created = Date()
        self.pingInterval = pingInterval
    }
}
