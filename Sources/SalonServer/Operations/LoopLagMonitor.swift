import CoreMetrics
import NIOCore
import ServiceLifecycle

/// Measures how late each event loop runs a task that was due: the time a connection that
/// became readable, or a delivery handed to a lane, waits for its loop. Every loop of `group`
/// runs a tick every 100 ms; `salon_event_loop_lag_seconds{loop}` is the worst lateness of the
/// last 10 s (so a scrape every 10 s or more sees every stall). A loop busy for a second shows
/// as a second of lag; an idle or lightly loaded one stays under a millisecond.
struct LoopLagMonitor: Service {
    let loops: [(loop: any EventLoop, meter: Meter)]
    let interval: TimeAmount
    /// Ticks per published figure: 10 s at the default interval.
    let window: Int

    /// The gauges exist (at 0) from here, before the server listens.
    init(group: any EventLoopGroup, interval: TimeAmount = .milliseconds(100), window: Int = 100) {
        loops = group.makeIterator().enumerated().map { index, loop in
            let meter = Meter(label: "salon_event_loop_lag_seconds", dimensions: [("loop", "\(index)")])
            meter.set(0)
            return (loop, meter)
        }
        self.interval = interval
        self.window = window
    }

    func run() async throws {
        var tasks: [RepeatedTask] = []
        for (loop, meter) in loops {
            let (interval, window) = (interval, window)
            // Made on its loop: the window is confined to it.
            guard let task = try? await loop.submit({
                let state = NIOLoopBound(LagWindow(due: .now() + interval), eventLoop: loop)
                return loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                    let now = NIODeadline.now()
                    let worst = state.value.record(lateness: now - state.value.due, every: window)
                    // The next tick is scheduled `interval` after this one returns.
                    state.value.due = now + interval
                    if let worst { meter.set(Double(worst.nanoseconds) / 1e9) }
                }
            }).get() else { continue }
            tasks.append(task)
        }
        try? await gracefulShutdown()
        for task in tasks { task.cancel() }
    }
}

/// One loop's ticks since the figure was last published. Confined to its loop.
final class LagWindow {
    var due: NIODeadline
    private var worst = TimeAmount.zero
    private var ticks = 0

    init(due: NIODeadline) {
        self.due = due
    }

    /// Records one tick's lateness; every `every` ticks, returns the window's worst and starts
    /// a new window.
    func record(lateness: TimeAmount, every: Int) -> TimeAmount? {
        worst = max(worst, lateness)
        ticks += 1
        guard ticks >= every else { return nil }
        defer {
            worst = .zero
            ticks = 0
        }
        return worst
    }
}
