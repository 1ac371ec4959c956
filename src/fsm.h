/* fsm.h — the state machine (fsm.c). fsmApply is declared in replica_io.h. */
#ifndef RAFTKV_FSM_H
#define RAFTKV_FSM_H

#include <stdint.h>
#include "raft/raft.h"
#include "server.h"

/* After storeOpen: creates the apply client and loads the apply clock. */
void fsmInit(void);
/* After the store was swapped for a snapshot: reloads the apply clock. */
void fsmReload(void);
/* The index of the entry being applied (for storeClear in FLUSHALL). */
uint64_t fsmCurrentIndex(void);
/* The configuration as of the applied index, as recorded by the last CONF
 * entry applied: returns 1 and fills cs, or 0 when none was ever applied.
 * A corrupted record is fail-stop. */
int fsmLoadAppliedConf(raftConfState *cs);
/* replica.c: the client waiting for the next command of entry index, or NULL.
 * Its pending_writes is already decremented. */
client *replicaTakeWaiter(uint64_t index);

#endif
