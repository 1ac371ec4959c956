/* fsm.h — the state machine (fsm.c). fsmApply is declared in replica_io.h. */
#ifndef RAFTKV_FSM_H
#define RAFTKV_FSM_H

#include <stdint.h>
#include "server.h"

/* After storeOpen: creates the apply client and loads the apply clock. */
void fsmInit(void);
/* The index of the entry being applied (for storeClear in FLUSHALL). */
uint64_t fsmCurrentIndex(void);
/* replica.c: the client waiting for the next command of entry index, or NULL.
 * Its pending_writes is already decremented. */
client *replicaTakeWaiter(uint64_t index);

#endif
