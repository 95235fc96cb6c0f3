import Foundation

/// The soak's samples as an SVG a person can open in a browser: delivery latency, the
/// server's memory and its open files over time, one panel each, on a shared time axis.
/// Plain SVG 1.1 with no script, so that it renders anywhere (and inside docs/).
public enum SoakChart {
    struct Series {
        var name: String
        var color: String
        var values: [Double?]
    }

    struct Panel {
        var title: String
        var unit: String
        var series: [Series]
    }

    static let width = 960.0
    static let panelHeight = 200.0
    static let left = 70.0
    static let right = 20.0
    static let top = 64.0
    static let gap = 50.0

    public static func render(_ samples: [SoakSample], title: String) -> String {
        let panels = [
            Panel(title: "Delivery latency", unit: "ms", series: [
                // An interval with no delivery (the drain's) has no latency to draw.
                Series(name: "p99", color: "#c0392b", values: samples.map { $0.deliveries > 0 ? $0.deliveryP99Ms : nil }),
                Series(name: "p50", color: "#2471a3", values: samples.map { $0.deliveries > 0 ? $0.deliveryP50Ms : nil }),
                Series(name: "server loop lag", color: "#7f8c8d", values: samples.map { $0.serverLoopLagMs }),
            ]),
            Panel(title: "Server memory (resident)", unit: "MiB", series: [
                Series(name: "RSS", color: "#1e8449", values: samples.map { $0.serverRSSKiB.map { Double($0) / 1024 } }),
            ]),
            Panel(title: "Server open files", unit: "", series: [
                Series(name: "open files", color: "#884ea0", values: samples.map { $0.serverOpenFiles.map(Double.init) }),
                Series(name: "connections", color: "#d68910", values: samples.map { $0.serverConnections.map(Double.init) }),
            ]),
        ]
        let times = samples.map(\.seconds)
        let span = max(times.last ?? 1, 1)
        let minutes = span >= 300
        let height = top + Double(panels.count) * (panelHeight + gap)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(title))</text>

            """
        for (p, panel) in panels.enumerated() {
            let y0 = top + Double(p) * (panelHeight + gap)
            let plotWidth = width - left - right
            let all = panel.series.flatMap { $0.values.compactMap { $0 } }
            let top = niceCeiling(max(all.max() ?? 1, 1e-9))
            svg += "<text x=\"\(left)\" y=\"\(f(y0 - 8))\" font-weight=\"bold\">\(escape(panel.title))\(panel.unit.isEmpty ? "" : " (\(panel.unit))")</text>\n"
            // Grid and the value axis.
            for i in 0...4 {
                let value = top * Double(i) / 4
                let y = y0 + panelHeight - panelHeight * Double(i) / 4
                svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
                svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label(value))</text>\n"
            }
            // The time axis.
            for i in 0...6 {
                let t = span * Double(i) / 6
                let x = left + plotWidth * Double(i) / 6
                svg += "<line x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(y0 + panelHeight))\" stroke=\"#eee\"/>\n"
                // Ticks fall on a sixth of a run that ends a few milliseconds late: round them to
                // what was meant, and keep the last label inside the picture.
                let tick = minutes ? t / 60 : t
                let shown = tick >= 10 ? tick.rounded() : (tick * 10).rounded() / 10
                let anchor = i == 0 ? "start" : i == 6 ? "end" : "middle"
                svg += "<text x=\"\(f(x))\" y=\"\(f(y0 + panelHeight + 15))\" text-anchor=\"\(anchor)\">\(label(shown))\(minutes ? " min" : " s")</text>\n"
            }
            svg += "<rect x=\"\(f(left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(panelHeight))\" fill=\"none\" stroke=\"#999\"/>\n"
            for (s, series) in panel.series.enumerated() {
                let points = zip(times, series.values).compactMap { t, v in
                    v.map { "\(f(left + plotWidth * t / span)),\(f(y0 + panelHeight - panelHeight * min($0, top) / top))" }
                }
                if !points.isEmpty {
                    svg += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
                }
                let lx = width - right - 150.0 * Double(panel.series.count - s)
                svg += "<line x1=\"\(f(lx))\" y1=\"\(f(y0 - 12))\" x2=\"\(f(lx + 18))\" y2=\"\(f(y0 - 12))\" stroke=\"\(series.color)\" stroke-width=\"3\"/>\n"
                svg += "<text x=\"\(f(lx + 24))\" y=\"\(f(y0 - 8))\">\(escape(series.name))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// 1, 2 or 5 times a power of ten, at least `value`: a round top for an axis.
    static func niceCeiling(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 5.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e7 { return String(Int(value)) }
        return String(format: abs(value) < 1 ? "%.2f" : "%.1f", value)
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
