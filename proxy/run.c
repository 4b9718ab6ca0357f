/* proxy/run.c — `sovgw run`: configuration, policy store, worker threads
 * (one event_base each, SO_REUSEPORT listeners, shared-nothing), and the main
 * thread's signals (SIGTERM/SIGINT drain, SIGHUP reload), admin endpoint and
 * shutdown coordination (one notification pipe per worker). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/ssl.h>

#include "proxy/admin.h"
#include "proxy/declog.h"
#include "proxy/internal.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"

void px_cli_run_help(FILE *f)
{
    px_config_help(f);
}

/* ------------------------------------------------------------- workers */

void px_worker_conn_closed(struct px_worker *w)
{
    if (w->draining && w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    px_conn_accept(arg, fd, sa, salen);
}

static void relisten_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    if (w->draining)
        return;
    for (size_t i = 0; i < w->n_ls; i++)
        evconnlistener_enable(w->ls[i]);
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS): back off for a moment instead of
 * spinning on a listener that stays readable. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct px_worker *w = arg;
    int e = EVUTIL_SOCKET_ERROR();
    sgw_log(SGW_LOG_WARN, PX_MOD, "worker %d: accept failed: %s; pausing accepts for 1 s", w->id,
            evutil_socket_error_to_string(e));
    for (size_t i = 0; i < w->n_ls; i++)
        evconnlistener_disable(w->ls[i]);
    struct timeval tv = {1, 0};
    evtimer_add(w->relisten_ev, &tv);
}

static void close_listeners(struct px_worker *w)
{
    for (size_t i = 0; i < w->n_ls; i++) {
        evconnlistener_free(w->ls[i]);
        w->ls[i] = NULL;
    }
    w->n_ls = 0;
}

static void drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    sgw_log(SGW_LOG_WARN, PX_MOD, "worker %d: drain timeout, closing %d connection(s)", w->id,
            w->n_conns);
    event_base_loopbreak(w->base);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct px_worker *w = arg;
    char buf[16];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0 || w->draining)
        return;
    w->draining = 1;
    close_listeners(w);
    evtimer_del(w->relisten_ev);
    px_worker_pool_drain(w);
    px_worker_drain_conns(w);
    int ms = w->rt->cfg->drain_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(w->drain_ev, &tv);
    if (w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    struct px_worker *w = arg;
    if (px_declog_thread_begin(w->base) != 0)
        sgw_log(SGW_LOG_WARN, "declog", "worker %d writes its decision log line by line", w->id);
    event_base_dispatch(w->base);
    px_declog_thread_end();
    return NULL;
}

/* Binds one listener of w to addr. For port 0, the first worker's bound port
 * is written back into addr so every worker shares it (SO_REUSEPORT). */
static int worker_listen(struct px_worker *w, char *addr, size_t cap, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (px_config_parse_addr(addr, &ss, &len) != 0) {
        snprintf(err, errlen, "invalid listen address '%s'", addr);
        return SGW_EINVAL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        w->base, accept_cb, w,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, (int)len);
    if (!l) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        return SGW_EIO;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    w->ls[w->n_ls++] = l;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &blen) == 0) {
        char ip[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (bound.ss_family == AF_INET) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)&bound;
            inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
            port = ntohs(v4->sin_port);
            snprintf(addr, cap, "%s:%u", ip, port);
        } else if (bound.ss_family == AF_INET6) {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&bound;
            inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
            port = ntohs(v6->sin6_port);
            snprintf(addr, cap, "[%s]:%u", ip, port);
        }
    }
    return SGW_OK;
}

static int worker_init(struct px_worker *w, struct px_runtime *rt, int id, char *err,
                       size_t errlen)
{
    w->rt = rt;
    w->id = id;
    w->notify_fd[0] = w->notify_fd[1] = -1;
    /* The epoll changelist merges the add and the delete of a write event
     * within one loop pass into nothing (bufferevents that libevent writes:
     * TLS, tunnels). */
    struct event_config *ecfg = event_config_new();
    if (ecfg) {
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = event_base_new_with_config(ecfg);
        event_config_free(ecfg);
    }
    if (!w->base)
        w->base = event_base_new();
    if (!w->base) {
        snprintf(err, errlen, "cannot create an event loop");
        return SGW_ERR;
    }
    if (px_txq_init(&w->txq, w->base) != 0) {
        snprintf(err, errlen, "cannot create the write queue");
        return SGW_ERR;
    }
    if (rl_reader_new(rt->eng, &w->rd) != SGW_OK) {
        snprintf(err, errlen, "cannot open a policy reader");
        return SGW_ERR;
    }
    const struct px_config *cfg = rt->cfg;
    if (cfg->dns_server[0]) {
        /* an operator-chosen nameserver (split-horizon DNS, tests): resolv.conf
           is not read at all */
        w->dns = evdns_base_new(w->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (!w->dns || evdns_base_nameserver_ip_add(w->dns, cfg->dns_server) != 0) {
            snprintf(err, errlen, "cannot use nameserver %s", cfg->dns_server);
            return SGW_ERR;
        }
    } else {
        w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    if (w->dns) {
        /* bounded lookups whatever resolv.conf says: dns-timeout-ms per query,
           two attempts, then the request fails (502) */
        char tmo[32];
        snprintf(tmo, sizeof(tmo), "%d.%03d", cfg->dns_timeout_ms / 1000, cfg->dns_timeout_ms % 1000);
        if (evdns_base_set_option(w->dns, "timeout:", tmo) != 0 ||
            evdns_base_set_option(w->dns, "attempts:", "2") != 0) {
            snprintf(err, errlen, "cannot set the DNS timeout");
            return SGW_ERR;
        }
    }
    if (!w->dns) {
        /* No usable resolv.conf: run without a resolver; names not pinned
         * with --resolve then fail with 502 instead of blocking anything. */
        w->dns = evdns_base_new(w->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (id == 0)
            sgw_log(SGW_LOG_WARN, PX_MOD, "no DNS resolver configured; only pinned or literal "
                                          "targets will work");
    }
    if (pipe2(w->notify_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return SGW_EIO;
    }
    w->notify_ev = event_new(w->base, w->notify_fd[0], EV_READ | EV_PERSIST, notify_cb, w);
    w->drain_ev = evtimer_new(w->base, drain_deadline_cb, w);
    w->relisten_ev = evtimer_new(w->base, relisten_cb, w);
    if (!w->notify_ev || !w->drain_ev || !w->relisten_ev) {
        snprintf(err, errlen, "cannot create worker events");
        return SGW_ERR;
    }
    event_add(w->notify_ev, NULL);
    for (size_t i = 0; i < rt->cfg->n_listen; i++) {
        int rc = worker_listen(w, rt->cfg->listen[i], sizeof(rt->cfg->listen[i]), err, errlen);
        if (rc != SGW_OK)
            return rc;
    }
    return SGW_OK;
}

static void worker_cleanup(struct px_worker *w)
{
    close_listeners(w);
    /* Connections first (they release their upstreams), then upstreams. */
    while (w->conns) {
        w->draining = 0; /* no loopexit from px_worker_conn_closed */
        px_conn_free(w->conns);
    }
    while (w->ups)
        px_up_free(w->ups);
    while (w->ups_busy)
        px_up_free(w->ups_busy);
    px_worker_req_cache_free(w);
    if (w->notify_ev)
        event_free(w->notify_ev);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->relisten_ev)
        event_free(w->relisten_ev);
    if (w->dns)
        evdns_base_free(w->dns, 1);
    if (w->rd)
        rl_reader_free(w->rd);
    if (w->base) {
        /* Let pending deferred frees and callbacks run out. */
        event_base_loop(w->base, EVLOOP_NONBLOCK);
        px_txq_clear(&w->txq);
        event_base_free(w->base);
    }
    if (w->notify_fd[0] >= 0)
        close(w->notify_fd[0]);
    if (w->notify_fd[1] >= 0)
        close(w->notify_fd[1]);
}

/* ------------------------------------------------------------ main side */

struct run_state {
    struct px_runtime *rt;
    struct event_base *base;
    int stop_signals;
    pid_t reload_pid;   /* running `sovgw policy compile` child, 0 when none */
    int reload_again;   /* another SIGHUP came in while it ran */
};

static void tell_workers(struct px_runtime *rt)
{
    for (int i = 0; i < rt->n_workers; i++) {
        struct px_worker *w = &rt->workers[i];
        if (w->notify_fd[1] >= 0) {
            ssize_t n = write(w->notify_fd[1], "D", 1);
            (void)n;
        }
    }
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct run_state *st = arg;
    st->stop_signals++;
    if (st->stop_signals == 1) {
        sgw_log(SGW_LOG_INFO, PX_MOD, "signal %d: draining (up to %d ms)", (int)sig,
                st->rt->cfg->drain_timeout_ms);
        atomic_store(&st->rt->stopping, 1);
        atomic_store(&st->rt->ready, 0);
        tell_workers(st->rt);
        event_base_loopexit(st->base, NULL);
    }
}

/* LMDB allows one environment per process, and the workers hold the store
 * open for reading, so the recompile runs in a child process
 * (`sovgw policy compile FILE --store DIR`); readers see the new version on
 * their next decision. The child's stdout goes to our stderr, never into a
 * decision log on stdout. */
static void start_reload(struct run_state *st)
{
    struct px_runtime *rt = st->rt;
    char *argv[] = {"sovgw", "policy", "compile", rt->cfg->policy_file, "--store",
                    (char *)rt->store_dir, NULL};
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return;
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        sgw_log(SGW_LOG_ERROR, PX_MOD, "SIGHUP: cannot start the policy compiler: %s",
                strerror(rc));
        return;
    }
    st->reload_pid = pid;
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct run_state *st = arg;
    struct px_runtime *rt = st->rt;
    if (px_declog_reopen() != 0)
        sgw_log(SGW_LOG_ERROR, PX_MOD, "SIGHUP: cannot reopen the decision log");
    if (!rt->cfg->policy_file) {
        uint64_t v = rl_engine_policy_version(rt->eng);
        px_policy_version_seen(rt, v);
        sgw_log(SGW_LOG_INFO, PX_MOD, "SIGHUP: policy version %llu", (unsigned long long)v);
        return;
    }
    if (st->reload_pid > 0) {
        st->reload_again = 1;
        return;
    }
    start_reload(st);
}

static void chld_cb(evutil_socket_t sig, short what, void *arg)
{
    struct run_state *st = arg;
    struct px_runtime *rt = st->rt;
    int status = 0;
    while (st->reload_pid > 0) {
        pid_t p = waitpid(st->reload_pid, &status, WNOHANG);
        if (p == 0)
            return;
        st->reload_pid = 0;
        if (p < 0)
            break;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            uint64_t v = rl_engine_policy_version(rt->eng);
            px_policy_version_seen(rt, v);
            sgw_log(SGW_LOG_INFO, PX_MOD, "SIGHUP: policy %s reloaded, version %llu",
                    rt->cfg->policy_file, (unsigned long long)v);
        } else {
            sgw_log(SGW_LOG_ERROR, PX_MOD, "SIGHUP: policy %s not reloaded (compiler exit %d); "
                    "old policy stays", rt->cfg->policy_file,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
    if (st->reload_again && !st->stop_signals) {
        st->reload_again = 0;
        start_reload(st);
    }
}

static int ready_cb(void *arg)
{
    struct px_runtime *rt = arg;
    return atomic_load(&rt->ready) && !atomic_load(&rt->stopping);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char saved = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = saved;
        }
    }
    return 0;
}

/* Compiles the policy the command line asks for into the store. */
static int prepare_store(const struct px_config *cfg, const char *store)
{
    if (!cfg->policy_file && cfg->store_dir)
        return SGW_OK; /* --store alone: an existing compiled store */
    if (mkdir_p(store) != 0) {
        fprintf(stderr, "sovgw run: cannot create store directory %s: %s\n", store,
                strerror(errno));
        return SGW_EIO;
    }
    int rc;
    if (cfg->policy_file)
        rc = rl_policy_compile_file(cfg->policy_file, store, stderr);
    else
        rc = rl_policy_compile_buffer("default-policy", rl_default_policy(),
                                      strlen(rl_default_policy()), store, stderr);
    if (rc != SGW_OK)
        fprintf(stderr, "sovgw run: policy %s could not be compiled into %s\n",
                cfg->policy_file ? cfg->policy_file : "(embedded default)", store);
    return rc;
}

int px_cli_run(int argc, char **argv)
{
    struct px_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    int lrc = px_config_load(argc, argv, &cfg, stderr);
    if (lrc == 1) {
        px_config_cleanup(&cfg);
        return 0;
    }
    if (lrc != 0) {
        px_config_cleanup(&cfg);
        return 2;
    }
    sgw_log_set_level((enum sgw_log_level)cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 2;
    char err[512] = "";
    struct px_runtime rt;
    memset(&rt, 0, sizeof(rt));
    rt.cfg = &cfg;
    rt.store_dir = cfg.store_dir ? cfg.store_dir : PX_DEFAULT_STORE_DIR;
    px_h1_limits_default(&rt.lim);
    rt.lim.max_request_line = cfg.max_request_line;
    rt.lim.max_head = cfg.max_head;
    rt.lim.max_headers = cfg.max_headers; /* config bounds it to PX_H1_MAX_HEADERS */
    struct run_state st = {.rt = &rt};
    struct event *sig_ev[4] = {NULL, NULL, NULL, NULL};
    struct px_admin *admin = NULL;
    sigset_t block, old;
    int declog_open = 0;

    if (prepare_store(&cfg, rt.store_dir) != SGW_OK)
        goto out;
    if (rl_engine_open(rt.store_dir, &rt.eng, err, sizeof(err)) != SGW_OK) {
        fprintf(stderr, "sovgw run: %s\n", err);
        goto out;
    }
    if (px_declog_open(cfg.log_file ? cfg.log_file : "-", err, sizeof(err)) != 0) {
        fprintf(stderr, "sovgw run: %s\n", err);
        goto out;
    }
    declog_open = 1;
    px_metrics_init();
    atomic_store(&rt.policy_version, rl_engine_policy_version(rt.eng));
    px_metrics_policy_version(atomic_load(&rt.policy_version));
    if (px_up_ssl_ctx_new(cfg.upstream_ca, &rt.up_ssl, err, sizeof(err)) != SGW_OK) {
        fprintf(stderr, "sovgw run: %s\n", err);
        goto out;
    }

    rt.n_workers = cfg.workers > 0 ? cfg.workers : 1;
    rt.workers = calloc((size_t)rt.n_workers, sizeof(*rt.workers));
    if (!rt.workers) {
        fprintf(stderr, "sovgw run: out of memory\n");
        goto out;
    }
    for (int i = 0; i < rt.n_workers; i++) {
        rt.workers[i].notify_fd[0] = rt.workers[i].notify_fd[1] = -1;
    }
    for (int i = 0; i < rt.n_workers; i++) {
        if (worker_init(&rt.workers[i], &rt, i, err, sizeof(err)) != SGW_OK) {
            fprintf(stderr, "sovgw run: %s\n", err);
            goto out;
        }
    }
    for (size_t i = 0; i < cfg.n_listen; i++)
        sgw_log(SGW_LOG_INFO, PX_MOD, "listening on %s (%d workers)", cfg.listen[i],
                rt.n_workers);

    st.base = event_base_new();
    if (!st.base) {
        fprintf(stderr, "sovgw run: cannot create the main event loop\n");
        goto out;
    }
    sig_ev[0] = evsignal_new(st.base, SIGTERM, stop_cb, &st);
    sig_ev[1] = evsignal_new(st.base, SIGINT, stop_cb, &st);
    sig_ev[2] = evsignal_new(st.base, SIGHUP, hup_cb, &st);
    sig_ev[3] = evsignal_new(st.base, SIGCHLD, chld_cb, &st);
    for (int i = 0; i < 4; i++) {
        if (!sig_ev[i] || event_add(sig_ev[i], NULL) != 0) {
            fprintf(stderr, "sovgw run: cannot install signal handlers\n");
            goto out;
        }
    }
    if (cfg.admin[0] && strcmp(cfg.admin, "off") != 0) {
        if (px_admin_start(st.base, cfg.admin, ready_cb, &rt, &admin, err, sizeof(err)) != 0) {
            fprintf(stderr, "sovgw run: %s\n", err);
            goto out;
        }
        sgw_log(SGW_LOG_INFO, PX_MOD, "admin on %s", cfg.admin);
    }

    /* Workers never take process signals: the main loop handles them. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < rt.n_workers; i++) {
        if (pthread_create(&rt.workers[i].thread, NULL, worker_main, &rt.workers[i]) != 0) {
            fprintf(stderr, "sovgw run: cannot start worker %d\n", i);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            atomic_store(&rt.stopping, 1);
            tell_workers(&rt);
            goto out;
        }
        rt.workers[i].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    atomic_store(&rt.ready, 1);

    event_base_dispatch(st.base);
    exit_code = st.stop_signals ? 0 : 2;

out:
    if (st.reload_pid > 0)
        waitpid(st.reload_pid, NULL, 0);
    if (rt.workers) {
        for (int i = 0; i < rt.n_workers; i++)
            if (rt.workers[i].started)
                pthread_join(rt.workers[i].thread, NULL);
        for (int i = 0; i < rt.n_workers; i++)
            worker_cleanup(&rt.workers[i]);
        free(rt.workers);
    }
    if (admin)
        px_admin_free(admin);
    for (int i = 0; i < 4; i++)
        if (sig_ev[i])
            event_free(sig_ev[i]);
    if (st.base)
        event_base_free(st.base);
    if (rt.up_ssl)
        SSL_CTX_free(rt.up_ssl);
    if (declog_open)
        px_declog_close();
    if (rt.eng)
        rl_engine_free(rt.eng);
    px_config_cleanup(&cfg);
    if (exit_code == 0)
        sgw_log(SGW_LOG_INFO, PX_MOD, "stopped");
    return exit_code;
}
