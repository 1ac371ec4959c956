/* commands.h — the handlers and prepare hooks the command table names.
 * Each lives in the file of its concern: t_string.c, db.c, expire.c,
 * server.c, config.c, networking.c. */
#ifndef RAFTKV_COMMANDS_H
#define RAFTKV_COMMANDS_H

#include "server.h"

/* commands.c */
void initCommandTable(void);
/* After each apply round: wakes the clients a CMD_BARRIER made wait. */
void commandsAfterApply(void);
/* A client is being freed: drop it from the waiting lists. */
void commandsForgetClient(client *c);
/* "get", or "client|list" for a subcommand; "NULL" for none. */
void commandFullName(const struct redisCommand *cmd, char *buf, size_t len);

/* t_string.c */
void getCommand(client *c);
void setCommand(client *c);
void setnxCommand(client *c);
void setexCommand(client *c);
void psetexCommand(client *c);
void mgetCommand(client *c);
void msetCommand(client *c);
void msetnxCommand(client *c);
void getsetCommand(client *c);
void getdelCommand(client *c);
void getexCommand(client *c);
void appendCommand(client *c);
void strlenCommand(client *c);
void incrCommand(client *c);
void decrCommand(client *c);
void incrbyCommand(client *c);
void decrbyCommand(client *c);
void incrbyfloatCommand(client *c);
void getrangeCommand(client *c);
void setrangeCommand(client *c);
int setPrepare(client *c);
int setexPrepare(client *c);
int psetexPrepare(client *c);
int msetPrepare(client *c);
int getexPrepare(client *c);
int incrbyPrepare(client *c);
int incrbyfloatPrepare(client *c);
int setrangePrepare(client *c);

/* db.c */
void delCommand(client *c);
void unlinkCommand(client *c);
void existsCommand(client *c);
void typeCommand(client *c);
void touchCommand(client *c);
void keysCommand(client *c);
void scanCommand(client *c);
void renameCommand(client *c);
void renamenxCommand(client *c);
void copyCommand(client *c);
void randomkeyCommand(client *c);
void dbsizeCommand(client *c);
void flushdbCommand(client *c);
void flushallCommand(client *c);
void selectCommand(client *c);
int copyPrepare(client *c);
int flushPrepare(client *c);

/* expire.c */
void expireCommand(client *c);
void pexpireCommand(client *c);
void expireatCommand(client *c);
void pexpireatCommand(client *c);
void ttlCommand(client *c);
void pttlCommand(client *c);
void expiretimeCommand(client *c);
void pexpiretimeCommand(client *c);
void persistCommand(client *c);
void expiredelCommand(client *c);     /* internal: deletes a key only if expired at the entry's time */
int expirePrepare(client *c);          /* EXPIRE/PEXPIRE/EXPIREAT: rewritten to PEXPIREAT */

/* server.c */
void pingCommand(client *c);
void echoCommand(client *c);
void helloCommand(client *c);
void authCommand(client *c);
void timeCommand(client *c);
void commandCommand(client *c);
void commandCountCommand(client *c);
void commandInfoCommand(client *c);
void commandDocsCommand(client *c);
void commandListCommand(client *c);
void commandHelpCommand(client *c);
void raftInfoCommand(client *c);

/* replica.c */
void raftTransferLeaderCommand(client *c);

/* config.c */
void configGetCommand(client *c);
void configSetCommand(client *c);
void configResetStatCommand(client *c);
void configHelpCommand(client *c);

/* cluster.c */
void clusterSlotsCommand(client *c);
void clusterShardsCommand(client *c);
void clusterNodesCommand(client *c);
void clusterInfoCommand(client *c);
void clusterMyidCommand(client *c);
void clusterKeyslotCommand(client *c);
void clusterHelpCommand(client *c);
void clusterFailoverCommand(client *c);
void raftFailoverCommand(client *c);    /* node-to-node (CMD_PEER) */
void readonlyCommand(client *c);
void readwriteCommand(client *c);

/* transport.c: node-to-node (CMD_PEER) */
void raftHelloCommand(client *c);
void raftAuthCommand(client *c);
void raftMsgCommand(client *c);
void raftSnapshotCommand(client *c);

/* functions.c */
void functionFlushCommand(client *c);
void functionListCommand(client *c);
void functionDeleteCommand(client *c);
void functionLoadCommand(client *c);
void functionHelpCommand(client *c);

/* networking.c */
void quitCommand(client *c);
void clientIdCommand(client *c);
void clientSetnameCommand(client *c);
void clientGetnameCommand(client *c);
void clientListCommand(client *c);
void clientInfoCommand(client *c);
void clientKillCommand(client *c);
void clientHelpCommand(client *c);

#endif
