import Testing

@testable import DistributedImaging

/// A node's slots between jobs: a freed slot goes to the waiting job that holds the fewest.
@Suite("Node admission")
struct NodeAdmissionTests {
    typealias Admission = AdmissionStateMachine<String>

    /// The waiter `action` resumes, if any.
    func resumed(_ action: Admission.ReleaseAction) -> String? {
        if case .resumeWaiter(let waiter) = action { return waiter }
        return nil
    }

    func enqueue(_ names: [String], job: JobID, into admission: inout Admission) {
        for name in names {
            let id = admission.makeWaiterID()
            #expect(admission.enqueue(id, job: job, continuation: name) == .wait)
        }
    }

    @Test("A freed slot goes to the waiting job holding the fewest slots; first come, first served within a job")
    func fewestSlotsFirst() {
        var admission = Admission(capacity: 2)
        let (large, small) = (JobID("large"), JobID("small"))
        #expect(admission.tryAdmit(job: large) == .admitted)
        #expect(admission.tryAdmit(job: large) == .admitted)
        #expect(admission.tryAdmit(job: small) == .full)
        self.enqueue(["L1", "L2", "L3"], job: large, into: &admission)
        self.enqueue(["S1", "S2"], job: small, into: &admission)
        #expect(admission.queued == 5)
        // large holds 2, small none: small's oldest gets the slot, although large queued first.
        #expect(self.resumed(admission.release(job: large)) == "S1")
        // large 0, small 1: large's turn.
        #expect(self.resumed(admission.release(job: large)) == "L1")
        // small 0, large 1.
        #expect(self.resumed(admission.release(job: small)) == "S2")
        // Only large waits now.
        #expect(self.resumed(admission.release(job: large)) == "L2")
        #expect(self.resumed(admission.release(job: small)) == "L3")
        #expect(admission.queued == 0)
        #expect(self.resumed(admission.release(job: large)) == nil)
        #expect(admission.active == 1)
    }

    @Test("Jobs holding as many slots take the freed ones in turn")
    func equalJobsAlternate() {
        var admission = Admission(capacity: 1)
        let (a, b) = (JobID("a"), JobID("b"))
        #expect(admission.tryAdmit(job: a) == .admitted)
        self.enqueue(["A1", "A2"], job: a, into: &admission)
        self.enqueue(["B1", "B2"], job: b, into: &admission)
        var order: [String] = []
        var holder = a
        for _ in 0..<4 {
            guard let next = self.resumed(admission.release(job: holder)) else { break }
            order.append(next)
            holder = next.hasPrefix("A") ? a : b
        }
        #expect(order == ["A1", "B1", "A2", "B2"] || order == ["B1", "A1", "B2", "A2"], "\(order)")
    }

    @Test("A cancelled waiter leaves its job's queue; a job with none left leaves the turns")
    func cancel() {
        var admission = Admission(capacity: 1)
        let (a, b) = (JobID("a"), JobID("b"))
        #expect(admission.tryAdmit(job: a) == .admitted)
        let first = admission.makeWaiterID()
        #expect(admission.enqueue(first, job: b, continuation: "B1") == .wait)
        self.enqueue(["A1"], job: a, into: &admission)
        #expect(admission.cancel(first) == "B1")
        #expect(admission.queued == 1)
        #expect(self.resumed(admission.release(job: a)) == "A1")
        // Cancelled before it queued: its enqueue is refused.
        let late = admission.makeWaiterID()
        #expect(admission.cancel(late) == nil)
        #expect(admission.enqueue(late, job: b, continuation: "B2") == .cancel)
    }
}
