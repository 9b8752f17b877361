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

    /// `readlink(2)`: the target of the symbolic link `path`; `nil` with `errno` set when it fails.
    static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

    /// `stat(2)` of `path`, following symlinks; `nil` with `errno` set when it fails.
    static func status(of path: String) -> stat? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info
    }

    /// The modification time in `info`, in nanoseconds since 1970 (saturating).
    static func modifiedNanoseconds(_ info: stat) -> Int64 {
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        let (scaled, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return time.tv_sec < 0 ? .min : .max }
        return scaled.addingReportingOverflow(Int64(time.tv_nsec)).partialValue
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

    /// One name a directory holds, as its raw bytes.
    struct DirectoryEntry: Sendable, Hashable {
        /// The name's bytes (`d_name`).
        var bytes: [UInt8]
        /// The name, when its bytes are valid UTF-8; `nil` otherwise (no path can name it).
        var name: String? { String(validating: self.bytes, as: UTF8.self) }
        /// The name with every byte that is not part of valid UTF-8 written `\xNN`: for reports.
        var escapedName: String { POSIX.escaped(self.bytes) }
    }

    /// The entries of a directory, `.` and `..` excluded, unsorted, with their raw names.
    ///
    /// - Throws: code `notFound` (ENOENT) or `io`, naming the path and the system's reason.
    static func directoryEntries(_ path: String) throws -> [DirectoryEntry] {
        guard let directory = opendir(path) else {
            let code: DistributedImagingError.Code = errno == ENOENT ? .notFound : .io
            throw DistributedImagingError(code: code, message: "cannot list '\(path)': \(self.errorMessage)")
        }
        defer { closedir(directory) }
        var entries: [DirectoryEntry] = []
        while let entry = readdir(directory) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if bytes != [0x2E] && bytes != [0x2E, 0x2E] { entries.append(DirectoryEntry(bytes: bytes)) }
        }
        return entries
    }

    /// `bytes` as text: valid UTF-8 sequences as they are, every other byte as `\xNN`.
    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
            if length > 0, index + length <= bytes.count,
                let sequence = String(validating: bytes[index..<(index + length)], as: UTF8.self)
            {
                text += sequence
                index += length
            } else {
                text += "\\x" + (lead < 16 ? "0" : "") + String(lead, radix: 16)
                index += 1
            }
        }
        return text
    }

    /// The longest path the system resolves, in bytes, terminating zero included.
    static let pathMax = Int(PATH_MAX)

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
