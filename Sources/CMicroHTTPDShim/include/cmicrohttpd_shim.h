#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H
#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdarg.h>
#include <microhttpd.h>

/* Non-variadic wrappers around libmicrohttpd calls that Swift cannot make directly. */

/* Starts a daemon on an already bound and listening socket, with an internal thread pool,
   epoll, suspend/resume, a connection cap and an idle timeout; with TLS when both PEMs are given
   (libmicrohttpd's GnuTLS). NULL on failure. */
struct MHD_Daemon *convos_mhd_start(int listen_fd, unsigned int threads, unsigned int connection_limit,
                                    unsigned int idle_timeout_seconds,
                                    MHD_AccessHandlerCallback handler, void *handler_cls,
                                    MHD_RequestCompletedCallback completed, void *completed_cls,
                                    MHD_NotifyConnectionCallback notify, void *notify_cls,
                                    const char *tls_cert_pem, const char *tls_key_pem);

/* A self-signed certificate and key for loopback, as PEM (free both with free()). 0 on success. */
int convos_self_signed(char **cert_pem, size_t *cert_len, char **key_pem, size_t *key_len);

/* The socket of a connection, or -1. */
int convos_mhd_connection_fd(struct MHD_Connection *connection);

/* The socket context set by the connection-notify callback, or NULL. */
void *convos_mhd_socket_context(struct MHD_Connection *connection);

#endif
