import CHostGate
public import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A limit on the image work (decode, filters, encode) that the ``ImagingNode``s of several
/// processes on one machine run at once: a counting semaphore of the machine, one per user.
///
/// Each node sizes its own thread pool to the machine's cores, so two `dip-node` processes on
/// one machine would run twice as many images as there are cores, and the largest image of a
/// job, which decides when the job ends, would share a core with the others. Through the gate,
/// the nodes of one machine run at most as many images at once between them as it has permits
/// (inputs of at least ``minimumInputBytes``); a node alone on its machine never waits for it.
///
/// It is a System V semaphore (in the caller's IPC namespace, so each container has its own)
/// created by the first node with its core count, and kept until the machine restarts or
/// `ipcrm -S KEY` removes it. Every hold is taken with `SEM_UNDO`: the kernel gives back the
/// holds of a process that exits, however it exits.
public struct MachineComputeGate: Sendable, Hashable {
    /// The smallest input file whose work waits for a permit: 64 KiB. The image of a smaller one
    /// is done in about a millisecond, less than waiting for the gate costs when every node is
    /// busy (a task of an 8 × 8 image took 20 µs longer through it).
    public static let minimumInputBytes = 64 * 1024

    /// The semaphore's id.
    let id: Int32
    /// The System V key it was opened with.
    public let key: Int32

    /// The gate of this user on this machine (key `0x4449` followed by the low 16 bits of the
    /// user id), created with `permits` (default: the cores this process may use) if it does not
    /// exist yet.
    ///
    /// - Throws: ``DistributedImagingError`` with code `unavailable` when the semaphore cannot be
    ///   opened (System V IPC not available, or a semaphore with that key that this user may not
    ///   use).
    public static func machine(permits: Int = System.coreCount) throws -> MachineComputeGate {
        try MachineComputeGate(key: Int32(bitPattern: 0x4449_0000 | (UInt32(getuid()) & 0xFFFF)), permits: permits)
    }

    /// The gate named `key`, created with `permits` if it does not exist yet.
    ///
    /// - Throws: ``DistributedImagingError`` with code `unavailable` when it cannot be opened.
    public init(key: Int32, permits: Int) throws {
        let permits = Int32(clamping: max(1, permits))
        let id = dip_host_gate_open(key, permits)
        guard id >= 0 else {
            throw DistributedImagingError(
                code: .unavailable,
                message: "cannot open the machine's compute gate (System V semaphore key 0x\(String(UInt32(bitPattern: key), radix: 16))): \(String(cString: strerror(errno)))")
        }
        self.id = id
        self.key = key
    }

    /// Runs `body` holding one permit, waiting (blocking the calling thread) while none is free.
    /// If the gate is gone (removed with `ipcrm`), `body` runs without it.
    func withPermit<Result>(_ body: () throws -> Result) rethrows -> Result {
        let held = dip_host_gate_acquire(self.id) == 0
        defer { if held { _ = dip_host_gate_release(self.id) } }
        return try body()
    }

    /// The permits free now.
    public var free: Int { Int(dip_host_gate_free(self.id)) }

    /// The threads waiting for a permit now, in every process.
    public var waiting: Int { Int(dip_host_gate_waiting(self.id)) }

    /// Removes the semaphore from the machine (tests; `ipcrm -S` does the same).
    public func remove() {
        _ = dip_host_gate_remove(self.id)
    }
}
