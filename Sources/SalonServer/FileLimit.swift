#if canImport(Glibc)
import Glibc
#endif

/// Raises the process's open-file limit to its hard limit at start: the usual soft limit of
/// 1,024 would lock every new client out after about a thousand connections, while the hard
/// limit is typically far higher. Returns the limit now in force (nil where unknown). `salon bench`
/// raises its own the same way (its thousands of client connections).
public enum FileLimit {
    @discardableResult
    public static func raiseToHardLimit() -> UInt64? {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
        #else
        return nil
        #endif
    }
}
