#include "cmicrohttpd_shim.h"

#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>

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
                                    MHD_NotifyConnectionCallback notify, void *notify_cls,
                                    const char *tls_cert_pem, const char *tls_key_pem) {
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
                       | MHD_USE_ITC;
    /* The certificate and key, when given, as an option array: the rest is the same either way. */
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    if (tls_cert_pem != NULL && tls_key_pem != NULL) {
        flags |= MHD_USE_TLS;
        tls[0] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) tls_cert_pem};
        tls[1] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) tls_key_pem};
    }
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_ARRAY, tls,
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

/* A throwaway self-signed certificate for `serve --simulate` on loopback: an ECDSA P-256 key and
 * a certificate for 127.0.0.1, ::1 and localhost, valid for 30 days, both as PEM in buffers the
 * caller frees with free(). 0 on success, a GnuTLS error code otherwise. */
int convos_self_signed(char **cert_pem, size_t *cert_len, char **key_pem, size_t *key_len) {
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_out = {NULL, 0}, key_out = {NULL, 0};
    int rc;
    unsigned char serial[16];
    unsigned char v4[4] = {127, 0, 0, 1};
    unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    time_t now = time(NULL);

    if ((rc = gnutls_x509_privkey_init(&key)) < 0) goto done;
    if ((rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) goto done;
    if ((rc = gnutls_x509_crt_init(&crt)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0) goto done;
    if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0) goto done;
    serial[0] &= 0x7f;
    if ((rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_expiration_time(crt, now + 30 * 24 * 3600)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "convos-controller", 17)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND)) < 0) goto done;
    /* Its own issuer, so clients trust it as the CA of their kubeconfig. */
    if ((rc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) goto done;
    if ((rc = gnutls_x509_crt_set_key(crt, key)) < 0) goto done;
    if ((rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) goto done;
    if ((rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_out)) < 0) goto done;
    if ((rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_out)) < 0) goto done;
    *cert_pem = malloc(cert_out.size + 1);
    *key_pem = malloc(key_out.size + 1);
    if (*cert_pem == NULL || *key_pem == NULL) { free(*cert_pem); free(*key_pem); rc = GNUTLS_E_MEMORY_ERROR; goto done; }
    memcpy(*cert_pem, cert_out.data, cert_out.size); (*cert_pem)[cert_out.size] = 0; *cert_len = cert_out.size;
    memcpy(*key_pem, key_out.data, key_out.size); (*key_pem)[key_out.size] = 0; *key_len = key_out.size;
    rc = 0;
done:
    if (cert_out.data) gnutls_free(cert_out.data);
    if (key_out.data) { memset(key_out.data, 0, key_out.size); gnutls_free(key_out.data); }
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return rc;
}
