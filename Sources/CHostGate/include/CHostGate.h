#ifndef CHOSTGATE_H
#define CHOSTGATE_H

/// A counting semaphore shared by the processes of one machine (System V IPC, in the caller's
/// IPC namespace): every hold is taken with SEM_UNDO, so the kernel gives it back when a process
/// exits, however it exits.

/// Opens the gate named `key`, creating it with `permits` when it does not exist yet (then
/// `permits` is ignored). Returns its id, or -1 with errno set.
int dip_host_gate_open(int key, int permits);

/// Takes one permit, waiting while none is free. Returns 0, or -1 with errno set.
int dip_host_gate_acquire(int gate);

/// Gives one permit back. Returns 0, or -1 with errno set.
int dip_host_gate_release(int gate);

/// The permits free now, or -1 with errno set.
int dip_host_gate_free(int gate);

/// The processes and threads waiting for a permit now, or -1 with errno set.
int dip_host_gate_waiting(int gate);

/// Removes the gate (its waiters fail with EIDRM). Returns 0, or -1 with errno set.
int dip_host_gate_remove(int gate);

#endif
