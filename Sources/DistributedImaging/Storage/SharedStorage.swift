#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The storage every role mounts: one root directory under which all job paths live.
///
/// Paths in requests and receipts are relative to the root; absolute paths inside the root are
/// accepted and made relative. Every path is resolved before use — symbolic links included, as
/// `realpath(3)` of its longest existing prefix would — and refused unless it stays under the root, so
/// neither `..` nor a symlink can reach outside. Writes are atomic: a temporary file with a unique
/// name in the destination directory, then `rename(2)`, so a reader never sees half an image.
///
/// ```swift
/// let storage = try SharedStorage(root: "/mnt/images")
/// let bytes = try storage.read("photos/a.jpg")
/// try storage.write(bytes, to: "photos-out/a.jpg")
/// ```
///
/// - Important: Resolution and use are separate system calls; a concurrent writer that swaps a
///   directory for a symlink between them can still race. Roles should not share the root with
///   untrusted writers.
public struct SharedStorage: Sendable, Hashable {
    /// The root as given.
    public let root: String
    /// The root's real path (symlinks resolved); every resolved path starts with it.
    public let resolvedRoot: String
    /// ``resolvedRoot`` split at `/`: where ``resolve(_:)`` starts a relative path.
    private let rootComponents: [Substring]
    /// The most symbolic links one resolution follows (Linux's limit).
    private static let maxSymbolicLinks = 40
    /// Reads larger than this fail with code `fileTooLarge` (default 512 MiB).
    public var maxFileBytes: Int = 512 * 1024 * 1024
    /// Whether ``write(_:to:)`` flushes each file to disk (`fsync(2)`) before renaming it into
    /// place, and its directory after, so that a crash or power loss leaves the old file or the
    /// whole new one (default `false`: the rename is atomic for readers, not across a crash).
    public var durableWrites = false
    /// Absolute real paths that ``list(_:recursive:)`` fails to open as if `opendir(3)` said
    /// EACCES: tests use it where permissions cannot make a directory unreadable (root).
    var unlistableDirectories: Set<String> = []

    /// Opens the storage rooted at `root`.
    ///
    /// - Throws: ``DistributedImagingError`` with code `notFound` when `root` is not an existing
    ///   directory.
    public init(root: String) throws {
        guard let resolved = POSIX.realPath(root), POSIX.kind(of: resolved) == .directory else {
            throw DistributedImagingError.notFound("storage root '\(root)' is not an existing directory")
        }
        self.root = root
        self.resolvedRoot = resolved
        self.rootComponents = resolved.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// Resolves `path` to an absolute real path under the root.
    ///
    /// - Parameter path: Relative to the root, or absolute (and then inside the root).
    /// - Throws: ``DistributedImagingError`` with code `pathOutsideStorageRoot` when the path leaves
    ///   the root by `..`, by being absolute elsewhere, or through a symbolic link.
    public func resolve(_ path: String) throws -> String {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw DistributedImagingError.invalidArgument("empty or invalid path '\(path)'")
        }
        // Walk the path from the root's real path (or from `/` for an absolute path), one
        // component at a time, as realpath(3) does: an existing component is checked with
        // lstat(2), and a symbolic link is replaced by its target. A component that does not
        // exist (or cannot be examined) is kept as written, and so is what follows it, until a
        // `..` climbs back out of it: from there the walk checks components again, so
        // `missing/../link` still follows `link`. Unlike realpath(3) on the whole path, the
        // root's own components are not walked again for every path.
        var components: [Substring] = path.hasPrefix("/") ? [] : self.rootComponents
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).reversed())
        var links = 0
        var missing = 0  // trailing components of `components` that do not exist
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if !components.isEmpty { components.removeLast() }
                missing = max(missing - 1, 0)
                continue
            }
            if missing > 0 {
                components.append(component)
                missing += 1
                continue
            }
            let candidate = "/" + (components + [component]).joined(separator: "/")
            switch POSIX.kind(of: candidate) {
            case .symbolicLink:
                links += 1
                guard links <= Self.maxSymbolicLinks, let target = POSIX.linkTarget(candidate) else {
                    let reason = links > Self.maxSymbolicLinks ? "too many levels of symbolic links" : POSIX.errorMessage
                    throw DistributedImagingError.io("cannot resolve '\(path)': \(reason)")
                }
                if target.hasPrefix("/") { components.removeAll() }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed())
            case nil:
                components.append(component)
                missing = 1
            default:
                components.append(component)
            }
        }
        let resolved = "/" + components.joined(separator: "/")
        guard self.contains(resolved) else {
            throw DistributedImagingError.outsideStorageRoot(
                "path '\(path)' resolves to '\(resolved)', outside the storage root '\(self.resolvedRoot)'")
        }
        return resolved
    }

    /// The path relative to the root; `.` for the root itself.
    ///
    /// - Throws: as ``resolve(_:)``.
    public func relativePath(_ path: String) throws -> String {
        let resolved = try self.resolve(path)
        if resolved == self.resolvedRoot { return "." }
        let start = self.resolvedRoot == "/" ? resolved.index(after: resolved.startIndex)
            : resolved.index(resolved.startIndex, offsetBy: self.resolvedRoot.count + 1)
        return String(resolved[start...])
    }

    /// Whether `path` (resolved) is the root or under it.
    private func contains(_ resolved: String) -> Bool {
        if resolved == self.resolvedRoot || self.resolvedRoot == "/" { return true }
        return resolved.hasPrefix(self.resolvedRoot + "/")
    }

    /// Reads a whole file.
    ///
    /// - Throws: code `pathOutsideStorageRoot`, `notFound`, `fileTooLarge` or `io`, naming the path.
    public func read(_ path: String) throws -> [UInt8] {
        let resolved = try self.resolve(path)
        return try FileIO.readFile(atPath: resolved, maxBytes: self.maxFileBytes)
    }

    /// Writes `bytes` to `path` atomically, creating missing parent directories.
    ///
    /// The bytes go to a uniquely named temporary file in the destination directory, which is
    /// then renamed over `path`: readers see the old file or the whole new one, never a part.
    ///
    /// - Throws: code `pathOutsideStorageRoot` or `io`, naming the path.
    public func write(_ bytes: [UInt8], to path: String) throws {
        let resolved = try self.resolve(path)
        guard resolved != self.resolvedRoot else {
            throw DistributedImagingError.invalidArgument("cannot write over the storage root")
        }
        let directory = POSIX.parent(of: resolved)
        try POSIX.makeDirectories(directory)
        // Creating the directories cannot move them outside, but re-check in case of a race.
        _ = try self.resolve(directory)
        try FileIO.writeAtomically(bytes, toPath: resolved, durable: self.durableWrites)
    }

    /// What ``status(_:)`` reports of a file.
    public struct FileStatus: Sendable, Hashable {
        /// Size in bytes.
        public var size: Int64
        /// Modification time, in nanoseconds since 1970.
        public var modifiedNanoseconds: Int64
    }

    /// The size and modification time of `path` (following symbolic links); `nil` when it does
    /// not exist or cannot be examined.
    ///
    /// - Throws: as ``resolve(_:)``.
    public func status(_ path: String) throws -> FileStatus? {
        guard let info = POSIX.status(of: try self.resolve(path)) else { return nil }
        return FileStatus(size: Int64(info.st_size), modifiedNanoseconds: POSIX.modifiedNanoseconds(info))
    }

    /// Whether `a` and `b` are one file: the same real path, or (both existing) the same device
    /// and inode — a bind mount or a hard link.
    ///
    /// - Throws: as ``resolve(_:)``.
    public func isSameFile(_ a: String, _ b: String) throws -> Bool {
        let first = try self.resolve(a)
        let second = try self.resolve(b)
        if first == second { return true }
        guard let one = POSIX.status(of: first), let other = POSIX.status(of: second) else { return false }
        return one.st_dev == other.st_dev && one.st_ino == other.st_ino
    }

    /// Whether `path` exists.
    public func exists(_ path: String) throws -> Bool {
        POSIX.kind(of: try self.resolve(path)) != nil
    }

    /// The entries of a directory, relative to it and sorted; with `recursive`, sub-directories
    /// are descended (symbolic links to directories are not, to avoid cycles).
    ///
    /// Every entry seen lands in exactly one of ``Listing/files``, ``Listing/directories`` and
    /// ``Listing/unusable``: a name that is not UTF-8, a path longer than `PATH_MAX`, a symbolic
    /// link to a directory, or a sub-directory that cannot be listed is reported there with why.
    ///
    /// - Returns: The files (regular files and symlinks to them) and, when not recursive, the
    ///   sub-directories, each relative to `directory`; and the entries that cannot be used.
    /// - Throws: code `notFound` when the directory does not exist, `io` when it cannot be listed.
    public func list(_ directory: String, recursive: Bool) throws -> Listing {
        let unlistable = self.unlistableDirectories
        let entries: (String) throws -> [POSIX.DirectoryEntry] = { path in
            if unlistable.contains(path) {
                throw DistributedImagingError.io("cannot list '\(path)': Permission denied (injected)")
            }
            return try POSIX.directoryEntries(path)
        }
        let resolved = try self.resolve(directory)
        guard POSIX.kind(of: resolved, followingSymlinks: true) == .directory else {
            if POSIX.kind(of: resolved) == nil {
                throw DistributedImagingError.notFound("directory '\(directory)' does not exist")
            }
            throw DistributedImagingError.invalidArgument("'\(directory)' is not a directory")
        }
        var listing = Listing()
        try self.collect(resolved, prefix: "", recursive: recursive, entries: entries, into: &listing)
        listing.files.sort()
        listing.directories.sort()
        listing.unusable.sort { $0.path < $1.path }
        return listing
    }

    private func collect(
        _ absolute: String, prefix: String, recursive: Bool, entries: (String) throws -> [POSIX.DirectoryEntry],
        into listing: inout Listing
    ) throws {
        for entry in try entries(absolute) {
            guard let name = entry.name else {
                listing.unusable.append(
                    .init(path: prefix + entry.escapedName, reason: "name is not valid UTF-8 (shown escaped): not processed"))
                continue
            }
            let path = absolute + "/" + name
            let relative = prefix + name
            guard path.utf8.count < POSIX.pathMax else {
                listing.unusable.append(
                    .init(
                        path: relative,
                        reason: "path is \(path.utf8.count) bytes, longer than PATH_MAX (\(POSIX.pathMax - 1)): not processed"))
                continue
            }
            switch POSIX.kind(of: path) {
            case .directory:
                guard recursive else {
                    listing.directories.append(relative)
                    continue
                }
                do {
                    try self.collect(path, prefix: relative + "/", recursive: true, entries: entries, into: &listing)
                } catch let error as DistributedImagingError {
                    listing.unusable.append(
                        .init(path: relative, reason: "cannot list this directory: \(Self.reason(error.message))", failed: true))
                }
            case .symbolicLink:
                if POSIX.kind(of: path, followingSymlinks: true) == .directory {
                    listing.unusable.append(.init(path: relative, reason: "symbolic link to a directory: not followed"))
                } else {
                    listing.files.append(relative)
                }
            case .regular, .other:
                listing.files.append(relative)
            case nil:
                if errno == ENOENT { continue }  // removed since it was listed
                listing.unusable.append(.init(path: relative, reason: "cannot examine: \(POSIX.errorMessage)", failed: true))
            }
        }
    }

    /// The system's reason at the end of a `cannot list '<path>': <reason>` message.
    private static func reason(_ message: String) -> String {
        guard let range = message.range(of: "': ", options: .backwards) else { return message }
        return String(message[range.upperBound...])
    }

    /// What ``list(_:recursive:)`` found.
    public struct Listing: Sendable, Hashable {
        /// Files, relative to the listed directory.
        public var files: [String] = []
        /// Directories not descended into, relative to the listed directory.
        public var directories: [String] = []
        /// Entries that cannot be processed, with why.
        public var unusable: [Unusable] = []
    }

    /// An entry ``list(_:recursive:)`` saw but cannot hand on as a file or a directory.
    public struct Unusable: Sendable, Hashable {
        /// Relative to the listed directory; bytes that are not UTF-8 written `\xNN`.
        public var path: String
        /// Why it is not processed.
        public var reason: String
        /// Whether it is an error (a directory that cannot be listed may hold images) rather
        /// than an entry to skip.
        public var failed: Bool

        public init(path: String, reason: String, failed: Bool = false) {
            self.path = path
            self.reason = reason
            self.failed = failed
        }
    }
}
