/*
 * server_int.h — what conn.c and server.c share and nobody else may use.
 */
#ifndef WR_NET_SERVER_INT_H
#define WR_NET_SERVER_INT_H

#include "net/conn.h"
#include "net/server.h"

/* Called by conn.c once both of a connection's handles are closed; frees it. */
void wr_server_conn_freed(wr_server *srv, wr_conn *c);
/* Initialises a connection's handles on the server's loop; 0 or a libuv error. */
int wr_conn_init(wr_server *srv, wr_conn *c);
uv_loop_t *wr_server_loop(wr_server *srv);

#endif
