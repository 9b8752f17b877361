/// The seed's analytic model of a job: `M` tasks on nodes with loads pᵢ, delay `T`, unbounded
/// slots (every task runs at once), processing `c`.
///
/// A placement that draws each attempt independently sends it to node i with probability wᵢ
/// (uniform for ``RandomPlacement``). Under Mandatory the first attempt is accepted and delayed
/// with probability q = Σ wᵢ pᵢ. Under Optional the accepting node is i with probability
/// πᵢ ∝ wᵢ (1 − pᵢ), attempts are geometric with mean 1 / Σ wᵢ (1 − pᵢ), and q = Σ πᵢ pᵢ — with
/// uniform wᵢ, q = mean(pᵢ(1 − pᵢ)) / (1 − mean(pᵢ)). A job waits `T` iff one of its tasks is
/// delayed: mean job time T · (1 − (1 − q)^M) + c.
package enum SchedulingModel {
    /// Mean job seconds for per-task delay probability `q`.
    package static func jobSeconds(delayProbability q: Double, images: Int, delay: Double, processing: Double) -> Double {
        delay * (1 - Self.power(1 - q, images)) + processing
    }

    /// The probability a task is delayed, or `nil` where there is no closed form here.
    ///
    /// Load-aware placements are modelled with unbounded slots, where a node's
    /// ``NodeState/pressure`` is its load.
    package static func delayProbability(policy: SchedulingPolicy, loads: [Double], placement: PlacementStrategy) -> Double? {
        guard let accepting = Self.acceptingNode(policy: policy, loads: loads, placement: placement) else { return nil }
        return zip(accepting, loads).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Mean attempts per task, or `nil` where there is no closed form here (or none is finite).
    package static func meanAttempts(policy: SchedulingPolicy, loads: [Double], placement: PlacementStrategy) -> Double? {
        if policy == .mandatory { return 1 }
        if placement == .untriedFirst { return nil }
        guard let weights = Self.attemptWeights(loads: loads, placement: placement) else { return nil }
        let success = zip(weights, loads).reduce(0) { $0 + $1.0 * (1 - $1.1) }
        return success > 0 ? 1 / success : nil
    }

    /// Where one attempt goes: wᵢ for the placements that draw each attempt afresh.
    package static func attemptWeights(loads: [Double], placement: PlacementStrategy) -> [Double]? {
        let n = loads.count
        guard n > 0 else { return nil }
        switch placement {
        case .random:
            return Array(repeating: 1 / Double(n), count: n)
        case .p2c:
            guard n > 1 else { return [1] }
            // Two different nodes, ordered; the lower load wins, a tie is a coin toss.
            let pair = 1 / Double(n * (n - 1))
            return loads.indices.map { i in
                loads.indices.reduce(0) { sum, j in
                    guard j != i else { return sum }
                    let wins = loads[i] < loads[j] ? 1.0 : (loads[i] == loads[j] ? 0.5 : 0)
                    return sum + 2 * pair * wins
                }
            }
        case .leastLoaded:
            let lowest = loads.min() ?? 0
            let ties = Double(loads.filter { $0 == lowest }.count)
            return loads.map { $0 == lowest ? 1 / ties : 0 }
        case .untriedFirst:
            return nil
        }
    }

    /// πᵢ: the probability node i accepts the task, or `nil` without a closed form.
    package static func acceptingNode(policy: SchedulingPolicy, loads: [Double], placement: PlacementStrategy) -> [Double]? {
        let n = loads.count
        guard n > 0 else { return nil }
        if placement == .untriedFirst {
            // The first attempt is uniform, so Mandatory is random placement.
            if policy == .mandatory { return Self.attemptWeights(loads: loads, placement: .random) }
            return Self.untriedFirstAccepting(loads: loads)
        }
        guard let weights = Self.attemptWeights(loads: loads, placement: placement) else { return nil }
        if policy == .mandatory { return weights }
        let accepted = zip(weights, loads).map { $0 * (1 - $1) }
        let total = accepted.reduce(0, +)
        guard total > 0 else { return nil }
        return accepted.map { $0 / total }
    }

    /// Optional with ``UntriedFirstPlacement``: each round is a uniformly random order of the
    /// nodes, tried until one accepts; a round where all reject starts another, identical in law.
    /// Enumerates the orders (up to 8 nodes).
    static func untriedFirstAccepting(loads: [Double]) -> [Double]? {
        let n = loads.count
        guard n <= 8 else { return nil }
        var accepting = Array(repeating: 0.0, count: n)
        var order = Array(0..<n)
        var orders = 0
        func visit(_ k: Int) {
            if k == n {
                orders += 1
                var allRejected = 1.0
                for node in order {
                    accepting[node] += allRejected * (1 - loads[node])
                    allRejected *= loads[node]
                }
                return
            }
            for i in k..<n {
                order.swapAt(k, i)
                visit(k + 1)
                order.swapAt(k, i)
            }
        }
        visit(0)
        let total = accepting.reduce(0, +)
        guard total > 0 else { return nil }
        return accepting.map { $0 / total }
    }

    private static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<max(0, exponent) { result *= base }
        return result
    }
}
