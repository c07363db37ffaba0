#include "cmicrohttpd_shim.h"

#include <string.h>

/* libmicrohttpd's own unescaping, except that "%00" becomes U+FFFD (three bytes for three, so it
 * stays in place) rather than a NUL. The path and query values reach the handler as C strings, so a
 * decoded NUL ended them early: `DELETE /v1/agents/a%00b` acted on agent `a`. With U+FFFD the
 * name is one no resource has, and the request is a 404 or 400 about what was sent. */
static size_t convos_unescape(void *cls, struct MHD_Connection *connection, char *value) {
    (void) cls;
    (void) connection;
    for (char *p = strstr(value, "%00"); p != NULL; p = strstr(p + 3, "%00")) {
        p[0] = (char) 0xEF;
        p[1] = (char) 0xBF;
        p[2] = (char) 0xBD;
    }
    return MHD_http_unescape(value);
}

struct MHD_Daemon *convos_mhd_start(int listen_fd, unsigned int threads, unsigned int connection_limit,
                                    unsigned int idle_timeout_seconds,
                                    MHD_AccessHandlerCallback handler, void *handler_cls,
                                    MHD_RequestCompletedCallback completed, void *completed_cls,
                                    MHD_NotifyConnectionCallback notify, void *notify_cls) {
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
                       | MHD_USE_ITC;
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket) listen_fd,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_seconds,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_NOTIFY_CONNECTION, notify, notify_cls,
                            MHD_OPTION_UNESCAPE_CALLBACK, convos_unescape, NULL,
                            MHD_OPTION_END);
}

int convos_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : (int) info->connect_fd;
}

void *convos_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}
