public import ServiceLifecycle

extension GRPCNodeHost {
    /// The services to run in a `ServiceGroup`, with the node role `node` placed so that a
    /// graceful shutdown goes: deregister, then drain the node (new tasks are rejected as
    /// "shutting down" while the endpoint still answers, so the server places them elsewhere;
    /// tasks in flight finish), then stop the task port (its streams answer what they read),
    /// then the endpoint — which, stopping first, would cancel the calls in flight.
    public func services(around node: any Service) -> [any Service] {
        [self.endpoint] + (self.taskPort.map { [$0] } ?? []) + [node] + (self.registrar.map { [$0] } ?? [])
    }
}
