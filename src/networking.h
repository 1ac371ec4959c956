/* networking.h — what main.c and the replica need from networking.c. */
#ifndef RAFTKV_NETWORKING_H
#define RAFTKV_NETWORKING_H

#include <uv.h>

/* Binds server.bindaddr:server.port and accepts clients on loop. */
int listenToPort(uv_loop_t *loop);
/* Once per loop iteration: resumes unpaused clients, then writes replies. */
void handleClientsBeforeSleep(void);
/* server.hz times a second: idle timeouts. */
void clientsCron(void);

#endif
