/// A node's slots: how many accepted tasks it holds, who waits for a slot, and whether it drains.
///
/// Waiting tasks are queued per job, and a freed slot goes to the waiting job that holds the
/// fewest slots (among equals, to the jobs in turn), first come first served within a job: a
/// small job's tasks do not wait behind a large job's whole queue on the node, just as the
/// server's turns go to the job that holds the fewest.
///
/// Pure state, generic over what a waiting task leaves behind (for ``ImagingNode``, the
/// continuation to resume): the node keeps it in a `Mutex` and resumes continuations outside the
/// lock.
struct AdmissionStateMachine<Waiter> {

    /// One job's waiting tasks, oldest first (from `head` on).
    private struct Queue {
        var waiters: [(id: UInt64, continuation: Waiter)] = []
        var head = 0
        var isEmpty: Bool { self.head == self.waiters.count }

        mutating func popFirst() -> Waiter? {
            guard !self.isEmpty else { return nil }
            let waiter = self.waiters[self.head].continuation
            self.head += 1
            if self.head > 64 && self.head * 2 > self.waiters.count {
                self.waiters.removeFirst(self.head)
                self.head = 0
            }
            return waiter
        }
    }

    private let capacity: Int
    private(set) var active = 0
    /// Slots held by job.
    private var activeByJob: [JobID: Int] = [:]
    /// Waiting tasks by job, and the jobs with waiting tasks in the order they get slots.
    private var queues: [JobID: Queue] = [:]
    private var rotation: [JobID] = []
    private var nextInRotation = 0
    /// The job of every waiting task, for ``cancel(_:)``.
    private var jobOfWaiter: [UInt64: JobID] = [:]
    private(set) var queued = 0
    private var cancelledBeforeWaiting: Set<UInt64> = []
    private var nextID: UInt64 = 0
    private(set) var isDraining = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    enum AdmitAction {
        case admitted
        case full
        case draining
    }

    /// Takes a slot for a task of `job` if one is free (and no task waits for one).
    mutating func tryAdmit(job: JobID) -> AdmitAction {
        if self.isDraining { return .draining }
        guard self.active < self.capacity, self.queued == 0 else {
            return .full
        }
        self.take(for: job)
        return .admitted
    }

    private mutating func take(for job: JobID) {
        self.active += 1
        self.activeByJob[job, default: 0] += 1
    }

    /// A ticket for ``enqueue(_:job:continuation:)``.
    mutating func makeWaiterID() -> UInt64 {
        self.nextID += 1
        return self.nextID
    }

    enum EnqueueAction {
        case resume
        case cancel
        case wait
    }

    /// Takes a slot now, or queues `continuation`, a task of `job`, until ``release()`` hands
    /// one over.
    mutating func enqueue(_ id: UInt64, job: JobID, continuation: Waiter) -> EnqueueAction {
        if self.cancelledBeforeWaiting.remove(id) != nil { return .cancel }
        if self.active < self.capacity && self.queued == 0 {
            self.take(for: job)
            return .resume
        }
        if self.queues[job] == nil {
            // A job that starts waiting takes its turn after the jobs already waiting.
            self.rotation.insert(job, at: self.nextInRotation)
            self.nextInRotation += 1
        }
        self.queues[job, default: Queue()].waiters.append((id, continuation))
        self.jobOfWaiter[id] = job
        self.queued += 1
        return .wait
    }

    /// Removes a waiter whose task was cancelled; returns its continuation to resume with an error.
    mutating func cancel(_ id: UInt64) -> Waiter? {
        guard let job = self.jobOfWaiter.removeValue(forKey: id), var queue = self.queues[job],
            let index = queue.waiters[queue.head...].firstIndex(where: { $0.id == id })
        else {
            // Cancelled before it queued (or already resumed: then the id is never used again).
            self.cancelledBeforeWaiting.insert(id)
            return nil
        }
        let waiter = queue.waiters.remove(at: index)
        self.queued -= 1
        self.store(queue, for: job)
        return waiter.continuation
    }

    /// Puts `queue` back, or drops `job` from the rotation when it has no waiter left.
    private mutating func store(_ queue: Queue, for job: JobID) {
        guard queue.isEmpty else {
            self.queues[job] = queue
            return
        }
        self.queues[job] = nil
        if let position = self.rotation.firstIndex(of: job) {
            self.rotation.remove(at: position)
            if position < self.nextInRotation { self.nextInRotation -= 1 }
        }
    }

    enum ReleaseAction {
        case none
        case resumeWaiter(Waiter)
        case drained([CheckedContinuation<Void, Never>])
    }

    /// Frees the slot a task of `job` held: hands it to the oldest waiter of the waiting job
    /// that holds the fewest slots (the next in turn among equals), or reports that draining
    /// finished.
    mutating func release(job: JobID) -> ReleaseAction {
        let left = (self.activeByJob[job] ?? 1) - 1
        self.activeByJob[job] = left > 0 ? left : nil
        if self.queued > 0, !self.rotation.isEmpty {
            if self.nextInRotation >= self.rotation.count { self.nextInRotation = 0 }
            var chosen = self.nextInRotation
            for step in 1..<self.rotation.count {
                let position = (self.nextInRotation + step) % self.rotation.count
                if self.activeByJob[self.rotation[position], default: 0] < self.activeByJob[self.rotation[chosen], default: 0] {
                    chosen = position
                }
            }
            let next = self.rotation[chosen]
            var queue = self.queues[next] ?? Queue()
            let waiter = queue.popFirst()
            self.nextInRotation = chosen + 1
            self.store(queue, for: next)
            if let waiter {
                self.queued -= 1
                self.activeByJob[next, default: 0] += 1
                return .resumeWaiter(waiter)
            }
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
        return self.active == 0 && self.queued == 0
    }

    /// Registers a continuation resumed when the last task ends; `false` if already drained.
    mutating func waitForDrain(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if self.active == 0 && self.queued == 0 { return false }
        self.drainWaiters.append(continuation)
        return true
    }
}
