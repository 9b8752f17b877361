
/// The storage every role mounts: one root directory under which all job paths live.
///
/// Paths in requests and receipts are relative to the root; absolute paths inside the root are
/// accepted and made relative. Every path is resolved before use — symbolic links included, via
/// `realpath(3)` of its longest existing prefix — and refused unless it stays under the root, so
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
    /// Reads larger than this fail with code `fileTooLarge` (default 512 MiB).
    public var maxFileBytes: Int = 512 * 1024 * 1024

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
        let joined = path.hasPrefix("/") ? path : self.resolvedRoot + "/" + path
        // Strip components from the end until the rest exists; resolve that with realpath(3).
        var existing = joined
        var missing: [Substring] = []
        var resolvedPrefix = POSIX.realPath(existing)
        while resolvedPrefix == nil {
            let parent = POSIX.parent(of: existing)
            guard parent != existing, let slash = existing.lastIndex(of: "/") else { break }
            missing.append(existing[existing.index(after: slash)...])
            existing = parent
            resolvedPrefix = POSIX.realPath(existing)
        }
        guard let prefix = resolvedPrefix else {
            throw DistributedImagingError.io("cannot resolve '\(path)': \(POSIX.errorMessage)")
        }
        // The missing components do not exist, so they hold no links: apply them lexically.
        var components = prefix.split(separator: "/", omittingEmptySubsequences: true)
        for component in missing.reversed() {
            switch component {
            case "", ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
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
        try FileIO.writeAtomically(bytes, toPath: resolved)
    }

    /// Whether `path` names an existing directory (following symlinks inside the root).
    public func isDirectory(_ path: String) throws -> Bool {
        POSIX.kind(of: try self.resolve(path), followingSymlinks: true) == .directory
    }

    /// Whether `path` exists.
    public func exists(_ path: String) throws -> Bool {
        POSIX.kind(of: try self.resolve(path)) != nil
    }

    /// The entries of a directory, relative to it and sorted; with `recursive`, sub-directories
    /// are descended (symbolic links to directories are not, to avoid cycles).
    ///
    /// - Returns: The files (regular files and symlinks to them) and, when not recursive, the
    ///   sub-directories, each relative to `directory`.
    /// - Throws: code `notFound` when the directory does not exist.
    public func list(_ directory: String, recursive: Bool) throws -> Listing {
        let resolved = try self.resolve(directory)
        guard POSIX.kind(of: resolved, followingSymlinks: true) == .directory else {
            if POSIX.kind(of: resolved) == nil {
                throw DistributedImagingError.notFound("directory '\(directory)' does not exist")
            }
            throw DistributedImagingError.invalidArgument("'\(directory)' is not a directory")
        }
        var listing = Listing()
        try self.collect(resolved, prefix: "", recursive: recursive, into: &listing)
        listing.files.sort()
        listing.directories.sort()
        return listing
    }

    private func collect(_ absolute: String, prefix: String, recursive: Bool, into listing: inout Listing) throws {
        for name in try POSIX.directoryEntries(absolute) {
            let path = absolute + "/" + name
            let relative = prefix + name
            switch POSIX.kind(of: path) {
            case .directory:
                if recursive {
                    try self.collect(path, prefix: relative + "/", recursive: true, into: &listing)
                } else {
                    listing.directories.append(relative)
                }
            case .symbolicLink:
                if POSIX.kind(of: path, followingSymlinks: true) == .directory {
                    listing.directories.append(relative)
                } else {
                    listing.files.append(relative)
                }
            case .regular, .other:
                listing.files.append(relative)
            case nil:
                continue
            }
        }
    }

    /// What ``list(_:recursive:)`` found.
    public struct Listing: Sendable, Hashable {
        /// Files, relative to the listed directory.
        public var files: [String] = []
        /// Directories not descended into, relative to the listed directory.
        public var directories: [String] = []
    }
}
