/* membership.h — RAFT.NODE (membership changes, membership.c) and the
 * RAFT.MEMBERS peer command a joining node asks (transport.c). */
#ifndef RAFTKV_MEMBERSHIP_H
#define RAFTKV_MEMBERSHIP_H

#include "server.h"

/* RAFT.NODE ADD <id> <host>:<port> / RAFT.NODE REMOVE <id> / RAFT.NODE HELP */
void raftNodeAddCommand(client *c);
void raftNodeRemoveCommand(client *c);
void raftNodeHelpCommand(client *c);
/* RAFT.MEMBERS (authenticated peers only) */
void raftMembersCommand(client *c);

#endif
