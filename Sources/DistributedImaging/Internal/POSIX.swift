#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the few POSIX calls ``SharedStorage`` needs.
enum POSIX {
    enum FileKind: Sendable, Hashable {
        case regular
        case directory
        case symbolicLink
        case other
    }

    static var errorMessage: String { String(cString: strerror(errno)) }

    /// `realpath(3)`; `nil` with `errno` set when it fails.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The kind of `path` without following a final symlink; `nil` if it does not exist.
    static func kind(of path: String, followingSymlinks: Bool = false) -> FileKind? {
        var info = stat()
        let result = followingSymlinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// Creates `path` and its missing parents (mode 0755).
    static func makeDirectories(_ path: String) throws {
        if self.kind(of: path, followingSymlinks: true) == .directory { return }
        let parent = self.parent(of: path)
        if parent != path { try self.makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw DistributedImagingError.io("cannot create directory '\(path)': \(self.errorMessage)")
        }
    }

    static func remove(_ path: String) {
        _ = unlink(path)
    }

    /// The entries of a directory, `.` and `..` excluded, unsorted.
    static func directoryEntries(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            let code: DistributedImagingError.Code = errno == ENOENT ? .notFound : .io
            throw DistributedImagingError(code: code, message: "cannot list '\(path)': \(self.errorMessage)")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
