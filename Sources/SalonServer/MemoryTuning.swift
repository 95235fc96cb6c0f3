#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator tuned for fan-out (Linux only).
///
/// Under a heavy fan-out each connection gathers tens of kilobytes of frames between two
/// flushes, and frees them once written. With glibc's defaults, blocks that large are given
/// back to the kernel as soon as they are freed (`madvise`, heap trimming, a dynamic `mmap`
/// threshold) and faulted back in on the next round: profiles of a 500-member room at a
/// million deliveries a second showed page faults and `madvise` as a large part of the server's
/// core, and the p99 delivery latency fell from about 200 ms to about 60 ms with these
/// settings. The cost: up to `trimThreshold` of freed memory may stay with the process after
/// a burst (it is reused by the next one). Idle connections hold no such buffers.
enum MemoryTuning {
    static let trimThreshold: Int32 = 128 << 20
    static let mmapThreshold: Int32 = 4 << 20

    /// Applies the settings unless the operator set glibc's own tunables.
    static func apply() {
        #if canImport(Glibc)
        guard getenv("GLIBC_TUNABLES") == nil else { return }
        // `mallopt` and its `M_TRIM_THRESHOLD` (-1) and `M_MMAP_THRESHOLD` (-3) come from
        // <malloc.h>, which the Glibc module does not import: looked up by name, called with
        // the C convention.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-1, trimThreshold)
        _ = mallopt(-3, mmapThreshold)
        #endif
    }
}
