/* Fuzz target: arbitrary bytes as a `sovgw run --config FILE` through
 * px_config_load (written to a memfd so no disk I/O), then px_config_cleanup.
 * On success, pins found in the result are exercised with px_config_pin_find
 * and every listen/admin address must parse again. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/sgw.h"
#include "proxy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (devnull == NULL)
        devnull = fopen("/dev/null", "w");
    int fd = memfd_create("sovgw-config", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char *argv[] = {"run", "--config", path, NULL};
    struct px_config cfg;
    int rc = px_config_load(3, argv, &cfg, devnull);
    if (rc == 0) {
        SGW_INVARIANT(cfg.n_listen >= 1 && cfg.n_listen <= PX_MAX_LISTEN);
        struct sockaddr_storage ss;
        socklen_t len;
        for (size_t i = 0; i < cfg.n_listen; i++)
            SGW_INVARIANT(px_config_parse_addr(cfg.listen[i], &ss, &len) == 0);
        SGW_INVARIANT(cfg.admin[0] == '\0' || px_config_parse_addr(cfg.admin, &ss, &len) == 0);
        SGW_INVARIANT(cfg.max_head >= cfg.max_request_line);
        SGW_INVARIANT(!(cfg.policy_file && cfg.store_dir));
        for (size_t i = 0; i < cfg.n_pins; i++) {
            const struct px_pin *p = &cfg.pins[i];
            const char *h = p->host[0] == '*' ? p->host + 2 : p->host;
            char probe[300];
            /* a wildcard pin matches one more label, an exact pin itself */
            int n = snprintf(probe, sizeof probe, "%s%s", p->host[0] == '*' ? "x." : "", h);
            const struct px_pin *f =
                px_config_pin_find(&cfg, probe, (size_t)n, p->port ? p->port : 1);
            SGW_INVARIANT(f != NULL && f <= p);
        }
    } else {
        SGW_INVARIANT(rc == 2);
    }
    px_config_cleanup(&cfg);
    close(fd);
    return 0;
}
