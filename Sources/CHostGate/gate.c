#include "CHostGate.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/types.h>
#include <time.h>

union dip_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

int dip_host_gate_open(int key, int permits) {
    if (permits < 1) {
        errno = EINVAL;
        return -1;
    }
    int gate = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    if (gate >= 0) {
        union dip_semun arg = {.val = permits};
        if (semctl(gate, 0, SETVAL, arg) < 0) return -1;
        // A semop sets sem_otime, which tells the processes that open it later that it is ready.
        struct sembuf take = {.sem_num = 0, .sem_op = -1, .sem_flg = 0};
        struct sembuf give = {.sem_num = 0, .sem_op = 1, .sem_flg = 0};
        if (semop(gate, &take, 1) < 0 || semop(gate, &give, 1) < 0) return -1;
        return gate;
    }
    if (errno != EEXIST) return -1;
    gate = semget(key, 1, 0600);
    if (gate < 0) return -1;
    // Wait (at most about a second) for its creator to set it up.
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct semid_ds info;
        union dip_semun arg = {.buf = &info};
        if (semctl(gate, 0, IPC_STAT, arg) < 0) return -1;
        if (info.sem_otime != 0) return gate;
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&pause, NULL);
    }
    errno = ETIMEDOUT;
    return -1;
}

int dip_host_gate_acquire(int gate) {
    struct sembuf take = {.sem_num = 0, .sem_op = -1, .sem_flg = SEM_UNDO};
    while (semop(gate, &take, 1) < 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

int dip_host_gate_release(int gate) {
    struct sembuf give = {.sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO};
    while (semop(gate, &give, 1) < 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

int dip_host_gate_free(int gate) {
    return semctl(gate, 0, GETVAL);
}

int dip_host_gate_waiting(int gate) {
    return semctl(gate, 0, GETNCNT);
}

int dip_host_gate_remove(int gate) {
    return semctl(gate, 0, IPC_RMID);
}
