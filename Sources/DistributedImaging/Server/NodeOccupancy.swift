import Synchronization

/// How many tasks each node holds, for all of a server's jobs, bounded per node by the
/// server's ``NodeRoom``: by default at most `2 × slots` tasks on a node (the node's slots plus a
/// queue as long), so a node that stops answering cannot swallow the whole dispatch window while
/// healthy nodes idle.
///
/// Tasks that find every node full wait in ``waitForRoom()`` until a task ends on some node.
final class NodeOccupancy: Sendable {
    private struct State {
        var held: [NodeID: Int] = [:]
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Bumped on every release, so a waiter that registers after a release does not sleep.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The bound per node.
    let room: NodeRoom

    init(room: NodeRoom = .default) {
        self.room = room
    }

    /// The most tasks a node with `slots` slots may hold.
    func limit(slots: Int?) -> Int {
        self.room.limit(slots: slots)
    }

    /// Whether `node` has room for one more task.
    func hasRoom(_ node: NodeID, slots: Int?) -> Bool {
        !self.withRoom([(node, slots)]).isEmpty
    }

    /// Of `nodes` (each with its slots), the indices of those with room for one more task and
    /// the tasks each holds now, read under one lock.
    func withRoom(_ nodes: [(node: NodeID, slots: Int?)]) -> [(index: Int, held: Int)] {
        self.state.withLock { state in
            nodes.indices.compactMap { index in
                let held = state.held[nodes[index].node] ?? 0
                return held < self.limit(slots: nodes[index].slots) ? (index, held) : nil
            }
        }
    }

    /// Takes room for one task on `node`; `false` when the node is full.
    func take(_ node: NodeID, slots: Int?) -> Bool {
        let limit = self.limit(slots: slots)
        return self.state.withLock { state in
            let held = state.held[node] ?? 0
            guard held < limit else { return false }
            state.held[node] = held + 1
            return true
        }
    }

    /// Gives back the room one task held on `node` and wakes the tasks waiting for room.
    func release(_ node: NodeID) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let held = (state.held[node] ?? 1) - 1
            state.held[node] = held > 0 ? held : nil
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The generation to pass to ``waitForRoom(after:)``.
    var generation: UInt64 { self.state.withLock { $0.generation } }

    /// Returns once some task released its room after `generation` was read, or when the calling
    /// task is cancelled.
    func waitForRoom(after generation: UInt64) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

}
