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

    /// Writes `bytes` to a new file `path`, failing if it exists (`O_EXCL`).
    /// - Returns: `false` if the file already existed.
    static func writeNewFile(_ path: String, bytes: [UInt8]) throws -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            if errno == EEXIST { return false }
            throw DistributedImagingError.io("cannot create '\(path)': \(self.errorMessage)")
        }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DistributedImagingError.io("cannot write '\(path)': \(self.errorMessage)")
                }
                offset += written
            }
        }
        return true
    }

    /// Reads a whole file.
    static func readFile(_ path: String, maxBytes: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code: DistributedImagingError.Code = errno == ENOENT ? .notFound : .io
            throw DistributedImagingError(code: code, message: "cannot read '\(path)': \(self.errorMessage)")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw DistributedImagingError.io("cannot read '\(path)': \(self.errorMessage)")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxBytes {
                throw DistributedImagingError(code: .fileTooLarge, message: "'\(path)' is larger than \(maxBytes) bytes")
            }
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        #if canImport(Glibc)
        let result = Glibc.rename(from, to)
        #elseif canImport(Musl)
        let result = Musl.rename(from, to)
        #else
        let result = Darwin.rename(from, to)
        #endif
        if result != 0 {
            throw DistributedImagingError.io("cannot rename '\(from)' to '\(to)': \(self.errorMessage)")
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

    static var processID: Int32 { getpid() }
}
