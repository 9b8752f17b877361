/// A node's slots: how many accepted tasks it holds, who waits for a slot, and whether it drains.
///
/// Pure state; ``ImagingNode`` keeps it in a `Mutex` and resumes continuations outside the lock.
struct AdmissionStateMachine {
    typealias Waiter = CheckedContinuation<Void, any Error>

    private let capacity: Int
    private(set) var active = 0
    private var waiters: [(id: UInt64, continuation: Waiter)] = []
    private var waiterHead = 0
    private var cancelledBeforeWaiting: Set<UInt64> = []
    private var nextID: UInt64 = 0
    private(set) var isDraining = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    /// Accepted tasks waiting for a slot.
    var queued: Int { self.waiters.count - self.waiterHead }

    init(capacity: Int) {
        self.capacity = capacity
    }

    enum AdmitAction {
        case admitted
        case full
        case draining
    }

    /// Takes a slot if one is free.
    mutating func tryAdmit() -> AdmitAction {
        if self.isDraining { return .draining }
        guard self.active < self.capacity, self.waiterHead == self.waiters.count else {
            return .full
        }
        self.active += 1
        return .admitted
    }

    /// A ticket for ``enqueue(_:continuation:)``.
    mutating func makeWaiterID() -> UInt64 {
        self.nextID += 1
        return self.nextID
    }

    enum EnqueueAction {
        case resume
        case cancel
        case wait
    }

    /// Takes a slot now, or queues `continuation` until ``release()`` hands one over.
    mutating func enqueue(_ id: UInt64, continuation: Waiter) -> EnqueueAction {
        if self.cancelledBeforeWaiting.remove(id) != nil { return .cancel }
        if self.active < self.capacity && self.waiterHead == self.waiters.count {
            self.active += 1
            return .resume
        }
        self.waiters.append((id, continuation))
        return .wait
    }

    /// Removes a waiter whose task was cancelled; returns its continuation to resume with an error.
    mutating func cancel(_ id: UInt64) -> Waiter? {
        if let index = self.waiters[self.waiterHead...].firstIndex(where: { $0.id == id }) {
            let waiter = self.waiters.remove(at: index)
            return waiter.continuation
        }
        // Cancelled before it queued (or already resumed: then the id is never used again).
        self.cancelledBeforeWaiting.insert(id)
        return nil
    }

    enum ReleaseAction {
        case none
        case resumeWaiter(Waiter)
        case drained([CheckedContinuation<Void, Never>])
    }

    /// Frees a slot: hands it to the first waiter, or reports that draining finished.
    mutating func release() -> ReleaseAction {
        if self.waiterHead < self.waiters.count {
            let waiter = self.waiters[self.waiterHead].continuation
            self.waiterHead += 1
            if self.waiterHead > 64 && self.waiterHead * 2 > self.waiters.count {
                self.waiters.removeFirst(self.waiterHead)
                self.waiterHead = 0
            }
            return .resumeWaiter(waiter)
        }
        self.active -= 1
        if self.isDraining && self.active == 0 {
            defer { self.drainWaiters = [] }
            return .drained(self.drainWaiters)
        }
        return .none
    }

    /// Stops admitting; `true` when nothing is in flight (the caller need not wait).
    mutating func beginDraining() -> Bool {
        self.isDraining = true
        return self.active == 0 && self.waiterHead == self.waiters.count
    }

    /// Registers a continuation resumed when the last task ends; `false` if already drained.
    mutating func waitForDrain(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if self.active == 0 && self.waiterHead == self.waiters.count { return false }
        self.drainWaiters.append(continuation)
        return true
    }
}
