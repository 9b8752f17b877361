package import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers with errors that name the file.
package enum FileIO {
    /// Reads a whole file, refusing files larger than `maxBytes` before reading them.
    package static func readFile(atPath path: String, maxBytes: Int = .max) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.error(errno, path: path, doing: "cannot open") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.error(errno, path: path, doing: "cannot stat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DistributedImagingError(code: .invalidImage, message: "\(path): not a regular file")
        }
        let size = Int(info.st_size)
        guard size <= maxBytes else {
            throw DistributedImagingError(
                code: .fileTooLarge, message: "\(path): file of \(size) bytes exceeds the limit of \(maxBytes) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while offset < size {
                let count = read(descriptor, buffer.baseAddress.map { $0 + offset }, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Self.error(errno, path: path, doing: "cannot read")
                }
                if count == 0 { break }
                offset += count
            }
        }
        if offset < size { bytes.removeSubrange(offset...) }
        return bytes
    }

    /// Writes `bytes` to `path` (created or truncated) and flushes them to disk when `sync`.
    package static func writeFile(atPath path: String, bytes: [UInt8], exclusive: Bool = false, sync: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw Self.error(errno, path: path, doing: "cannot create") }
        defer { close(descriptor) }
        var offset = 0
        try bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Self.error(errno, path: path, doing: "cannot write")
                }
                offset += count
            }
        }
        if sync, fsync(descriptor) != 0 { throw Self.error(errno, path: path, doing: "cannot flush") }
    }

    package static func error(_ code: Int32, path: String, doing: String) -> DistributedImagingError {
        let reason = String(cString: strerror(code))
        let kind: DistributedImagingError.Code = code == ENOENT ? .notFound : .io
        return DistributedImagingError(code: kind, message: "\(path): \(doing): \(reason)")
    }
}

extension FileIO {
    /// Writes `bytes` to a uniquely named temporary file beside `path`
    /// (`.<name>.<pid>-<counter>-<random>.tmp`), then renames it over `path`. A reader sees the
    /// old file or the whole new one, never a part; on failure the temporary file is removed.
    ///
    /// The pid, a process-wide counter and a random part keep the name unique across threads,
    /// processes and nodes sharing the directory; `O_EXCL` makes a collision an error rather than
    /// a shared file. `SharedStorage` sweeps such names left by writers that died.
    ///
    /// With `durable`, the file is flushed (`fsync(2)`) before the rename and its directory after
    /// it, so that the rename survives a crash with the whole file behind it.
    package static func writeAtomically(_ bytes: [UInt8], toPath path: String, durable: Bool = false) throws {
        let directoryEnd = path.lastIndex(of: "/")
        let directory = directoryEnd.map { String(path[..<$0]) } ?? "."
        let name = directoryEnd.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory.isEmpty ? "" : directory)/.\(name).\(getpid())-\(Self.nextTemporaryID()).tmp"
        do {
            try Self.writeFile(atPath: temporary, bytes: bytes, exclusive: true, sync: durable)
            guard rename(temporary, path) == 0 else { throw Self.error(errno, path: path, doing: "cannot rename into place") }
        } catch {
            unlink(temporary)
            throw error
        }
        if durable {
            try Self.syncDirectory(directory.isEmpty ? "/" : directory)
            Self.durableWrites.add(1, ordering: .relaxed)
        }
    }

    /// Durable writes completed by this process (what tests read to see the path was taken).
    package static let durableWrites = Atomic<Int>(0)

    /// Flushes a directory's entries (a rename in it) to disk.
    package static func syncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.error(errno, path: path, doing: "cannot open directory") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Self.error(errno, path: path, doing: "cannot flush directory") }
    }

    private static let temporaryCounter = Atomic<UInt64>(0)

    private static func nextTemporaryID() -> String {
        let count = Self.temporaryCounter.add(1, ordering: .relaxed).newValue
        return "\(count)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}
