#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX calls a server's state directory needs: a private directory and an exclusive lock.
extension POSIX {
    /// Creates `path` and its missing parents with `mode` (0700 by default: the directory holds a
    /// server's private state). Directories that exist are left as they are.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        if self.kind(of: path, followingSymlinks: true) == .directory { return }
        let parent = self.parent(of: path)
        if parent != path { try self.makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw DistributedImagingError.io("cannot create directory '\(path)': \(self.errorMessage)")
        }
    }

    /// Whether the calling process may access `path` as `mode` says (`R_OK`, `W_OK`, `X_OK`).
    static func isAccessible(_ path: String, _ mode: Int32) -> Bool {
        access(path, mode) == 0
    }

    /// The outcome of ``lockExclusively(_:)``.
    enum LockResult: Sendable, Hashable {
        /// The lock is held through this open file descriptor; close it to release the lock.
        case locked(Int32)
        /// Another open file description holds the lock (this process or another).
        case held
    }

    /// Opens (creating it, mode 0600) the file at `path` and takes an exclusive, non-blocking
    /// `flock(2)` on it. The lock belongs to the open file description: a second open of the same
    /// file, even in this process, does not get it; it is released when the descriptor is closed
    /// or the process dies.
    ///
    /// - Throws: code `io` when the file cannot be opened or locked for another reason.
    static func lockExclusively(_ path: String) throws -> LockResult {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DistributedImagingError.io("cannot open the lock file '\(path)': \(self.errorMessage)")
        }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            if error == EINTR { continue }
            let message = self.errorMessage
            _ = close(descriptor)
            if error == EWOULDBLOCK { return .held }
            throw DistributedImagingError.io("cannot lock '\(path)': \(message)")
        }
        return .locked(descriptor)
    }

    /// Closes a descriptor from ``lockExclusively(_:)``, releasing its lock.
    static func unlock(_ descriptor: Int32) {
        _ = close(descriptor)
    }
}
