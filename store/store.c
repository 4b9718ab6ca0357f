/* store/store.c — LMDB wrapper: environments shared per process and directory,
 * named databases by index, reusable read transactions, one writer. */
#include "store/store.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* One LMDB environment per directory per process: LMDB forbids opening the
 * same environment twice in a process (closing the second file descriptor
 * would drop the first one's POSIX locks). Handles share it by refcount. */
struct shared_env {
    MDB_env *env;
    dev_t dev;
    ino_t ino;
    int rdonly;
    pid_t pid; /* a child after fork() must not reuse its parent's env */
    unsigned refs;
    struct shared_env *next;
};

struct sto_env {
    struct shared_env *sh; /* owned reference */
    int rdonly;
    size_t n_dbs;
    MDB_dbi dbi[STO_MAX_DBS];
};

struct sto_txn {
    struct sto_env *env; /* borrowed */
    MDB_txn *txn;
    int write;
    int active; /* read txn: holds a snapshot (not reset) */
};

struct sto_cursor {
    MDB_cursor *cur;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_env *g_envs;

static int map_rc(int mrc)
{
    switch (mrc) {
    case MDB_SUCCESS: return SGW_OK;
    case MDB_NOTFOUND: return SGW_ENOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case MDB_BAD_VALSIZE: return SGW_ELIMIT;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE: return SGW_EPROTO;
    case ENOMEM: return SGW_ENOMEM;
    case ENOENT: return SGW_ENOTFOUND;
    case EINVAL: return SGW_EINVAL;
    default: return SGW_EIO;
    }
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void shared_release_locked(struct shared_env *sh)
{
    if (--sh->refs)
        return;
    for (struct shared_env **pp = &g_envs; *pp; pp = &(*pp)->next) {
        if (*pp == sh) {
            *pp = sh->next;
            break;
        }
    }
    mdb_env_close(sh->env);
    free(sh);
}

/* Finds or opens the process-wide environment for dir. Called locked. */
static int shared_get_locked(const char *dir, const struct sto_env_opts *o, struct shared_env **out,
                             char *err, size_t errlen)
{
    int rdonly = (o->flags & STO_ENV_RDONLY) != 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && !rdonly && (o->flags & STO_ENV_CREATE)) {
            if (mkdir(dir, 0750) != 0 || stat(dir, &st) != 0) {
                seterr(err, errlen, "store %s: cannot create directory: %s", dir, strerror(errno));
                return SGW_EIO;
            }
        } else {
            int e = errno;
            seterr(err, errlen, "store %s: %s", dir, strerror(e));
            return e == ENOENT ? SGW_ENOTFOUND : SGW_EIO;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "store %s: %s", dir, "not a directory");
        return SGW_EPROTO;
    }
    for (struct shared_env *sh = g_envs; sh; sh = sh->next) {
        if (sh->dev == st.st_dev && sh->ino == st.st_ino && sh->pid == getpid()) {
            if (sh->rdonly && !rdonly) {
                seterr(err, errlen,
                       "store %s: %s", dir,
                       "already open read-only in this process (write it from another process)");
                return SGW_EINVAL;
            }
            sh->refs++;
            *out = sh;
            return SGW_OK;
        }
    }
    if (rdonly) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/data.mdb", dir);
        if (n < 0 || (size_t)n >= sizeof path) {
            seterr(err, errlen, "store %s: %s", dir, "path too long");
            return SGW_EINVAL;
        }
        if (access(path, R_OK) != 0) {
            int e = errno;
            seterr(err, errlen, "store %s: no readable data.mdb (%s)", dir, strerror(e));
            return e == ENOENT ? SGW_ENOTFOUND : SGW_EIO;
        }
    }
    struct shared_env *sh = calloc(1, sizeof *sh);
    if (!sh) {
        seterr(err, errlen, "store %s: %s", dir, "out of memory");
        return SGW_ENOMEM;
    }
    int mrc = mdb_env_create(&sh->env);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_maxdbs(sh->env, STO_MAX_DBS);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_maxreaders(sh->env, o->max_readers ? o->max_readers : 512);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_mapsize(sh->env, (size_t)(o->map_size ? o->map_size : STO_DEFAULT_MAP_SIZE));
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_open(sh->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0u), 0640);
    if (mrc != MDB_SUCCESS) {
        seterr(err, errlen, "store %s: cannot open LMDB environment: %s", dir, mdb_strerror(mrc));
        if (sh->env)
            mdb_env_close(sh->env);
        free(sh);
        return map_rc(mrc);
    }
    sh->dev = st.st_dev;
    sh->ino = st.st_ino;
    sh->rdonly = rdonly;
    sh->pid = getpid();
    sh->refs = 1;
    sh->next = g_envs;
    g_envs = sh;
    *out = sh;
    return SGW_OK;
}

int sto_env_open(const char *dir, const struct sto_env_opts *opts, struct sto_env **out,
                 char *err, size_t errlen)
{
    int rc = SGW_EINVAL;
    *out = NULL;
    if (!dir || !opts || opts->n_dbs == 0 || opts->n_dbs > STO_MAX_DBS ||
        ((opts->flags & STO_ENV_RDONLY) && (opts->flags & STO_ENV_CREATE))) {
        seterr(err, errlen, "store %s: %s", dir ? dir : "(null)", "invalid open options");
        return SGW_EINVAL;
    }
    struct sto_env *e = calloc(1, sizeof *e);
    if (!e) {
        seterr(err, errlen, "store %s: %s", dir, "out of memory");
        return SGW_ENOMEM;
    }
    e->rdonly = (opts->flags & STO_ENV_RDONLY) != 0;
    e->n_dbs = opts->n_dbs;
    pthread_mutex_lock(&g_lock);
    rc = shared_get_locked(dir, opts, &e->sh, err, errlen);
    if (rc != SGW_OK)
        goto fail_unlock;
    /* Named database handles: opened in a transaction that must commit for the
       handles to live on in the environment (dbi opens are serialised by g_lock). */
    MDB_txn *txn = NULL;
    unsigned create = (!e->rdonly && (opts->flags & STO_ENV_CREATE)) ? MDB_CREATE : 0u;
    int mrc = mdb_txn_begin(e->sh->env, NULL, create ? 0u : MDB_RDONLY, &txn);
    for (size_t i = 0; mrc == MDB_SUCCESS && i < opts->n_dbs; i++) {
        if (!opts->db_names[i] || !opts->db_names[i][0]) {
            mrc = EINVAL;
            break;
        }
        mrc = mdb_dbi_open(txn, opts->db_names[i], create, &e->dbi[i]);
        if (mrc != MDB_SUCCESS) {
            seterr(err, errlen, "store %s: database '%s' missing or unreadable", dir,
                   opts->db_names[i]);
            mdb_txn_abort(txn);
            txn = NULL;
            rc = mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE ? SGW_ENOTFOUND : map_rc(mrc);
            goto fail_release;
        }
    }
    if (mrc == MDB_SUCCESS)
        mrc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (mrc != MDB_SUCCESS) {
        seterr(err, errlen, "store %s: cannot open databases: %s", dir, mdb_strerror(mrc));
        rc = map_rc(mrc);
        goto fail_release;
    }
    pthread_mutex_unlock(&g_lock);
    *out = e;
    return SGW_OK;

fail_release:
    shared_release_locked(e->sh);
fail_unlock:
    pthread_mutex_unlock(&g_lock);
    free(e);
    return rc;
}

void sto_env_free(struct sto_env *env)
{
    if (!env)
        return;
    pthread_mutex_lock(&g_lock);
    shared_release_locked(env->sh);
    pthread_mutex_unlock(&g_lock);
    free(env);
}

int sto_env_reader_check(struct sto_env *env, int *n)
{
    int dead = 0;
    int mrc = mdb_reader_check(env->sh->env, &dead);
    if (n)
        *n = dead;
    return map_rc(mrc);
}

static int txn_begin(struct sto_env *env, int write, struct sto_txn **out)
{
    *out = NULL;
    if (write && env->rdonly)
        return SGW_EINVAL;
    struct sto_txn *t = calloc(1, sizeof *t);
    if (!t)
        return SGW_ENOMEM;
    int mrc = mdb_txn_begin(env->sh->env, NULL, write ? 0u : MDB_RDONLY, &t->txn);
    if (mrc != MDB_SUCCESS) {
        sgw_log(SGW_LOG_WARN, "store", "cannot begin %s transaction: %s", write ? "write" : "read",
                mdb_strerror(mrc));
        free(t);
        return map_rc(mrc);
    }
    t->env = env;
    t->write = write;
    t->active = 1;
    *out = t;
    return SGW_OK;
}

int sto_txn_begin_read(struct sto_env *env, struct sto_txn **out)
{
    return txn_begin(env, 0, out);
}

int sto_txn_begin_write(struct sto_env *env, struct sto_txn **out)
{
    return txn_begin(env, 1, out);
}

void sto_txn_reset(struct sto_txn *t)
{
    if (t && !t->write && t->active) {
        mdb_txn_reset(t->txn);
        t->active = 0;
    }
}

int sto_txn_renew(struct sto_txn *t)
{
    if (!t || t->write)
        return SGW_EINVAL;
    if (t->active) {
        mdb_txn_reset(t->txn);
        t->active = 0;
    }
    int mrc = mdb_txn_renew(t->txn);
    if (mrc != MDB_SUCCESS) {
        sgw_log(SGW_LOG_WARN, "store", "cannot renew read transaction: %s", mdb_strerror(mrc));
        return map_rc(mrc);
    }
    t->active = 1;
    return SGW_OK;
}

uint64_t sto_txn_id(const struct sto_txn *t)
{
    if (!t || (!t->write && !t->active))
        return 0;
    return (uint64_t)mdb_txn_id(t->txn);
}

uint64_t sto_env_last_txnid(struct sto_env *env)
{
    MDB_envinfo info;
    if (!env || mdb_env_info(env->sh->env, &info) != MDB_SUCCESS)
        return 0;
    return (uint64_t)info.me_last_txnid;
}

int sto_txn_commit(struct sto_txn *t)
{
    if (!t)
        return SGW_EINVAL;
    int mrc = MDB_SUCCESS;
    if (t->write) {
        mrc = mdb_txn_commit(t->txn);
        if (mrc != MDB_SUCCESS)
            sgw_log(SGW_LOG_WARN, "store", "commit failed: %s", mdb_strerror(mrc));
    } else {
        mdb_txn_abort(t->txn);
    }
    free(t);
    return map_rc(mrc);
}

void sto_txn_abort(struct sto_txn *t)
{
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

static int dbi_of(struct sto_txn *t, unsigned db, MDB_dbi *out)
{
    if (!t || db >= t->env->n_dbs || (!t->write && !t->active))
        return SGW_EINVAL;
    *out = t->env->dbi[db];
    return SGW_OK;
}

int sto_get(struct sto_txn *t, unsigned db, const void *key, size_t klen, struct sgw_slice *val)
{
    MDB_dbi dbi;
    if (dbi_of(t, db, &dbi) != SGW_OK || klen == 0)
        return SGW_EINVAL;
    MDB_val k = {klen, (void *)(uintptr_t)key}, v;
    int mrc = mdb_get(t->txn, dbi, &k, &v);
    if (mrc != MDB_SUCCESS)
        return map_rc(mrc);
    val->ptr = v.mv_data;
    val->len = v.mv_size;
    return SGW_OK;
}

int sto_put(struct sto_txn *t, unsigned db, const void *key, size_t klen, const void *val,
            size_t vlen, unsigned flags)
{
    MDB_dbi dbi;
    if (dbi_of(t, db, &dbi) != SGW_OK || !t->write || klen == 0)
        return SGW_EINVAL;
    MDB_val k = {klen, (void *)(uintptr_t)key};
    MDB_val v = {vlen, (void *)(uintptr_t)val};
    int mrc = mdb_put(t->txn, dbi, &k, &v, (flags & STO_PUT_APPEND) ? MDB_APPEND : 0u);
    if (mrc == MDB_KEYEXIST)
        return SGW_EINVAL; /* out-of-order key under APPEND */
    return map_rc(mrc);
}

int sto_del(struct sto_txn *t, unsigned db, const void *key, size_t klen)
{
    MDB_dbi dbi;
    if (dbi_of(t, db, &dbi) != SGW_OK || !t->write || klen == 0)
        return SGW_EINVAL;
    MDB_val k = {klen, (void *)(uintptr_t)key};
    return map_rc(mdb_del(t->txn, dbi, &k, NULL));
}

int sto_drop(struct sto_txn *t, unsigned db)
{
    MDB_dbi dbi;
    if (dbi_of(t, db, &dbi) != SGW_OK || !t->write)
        return SGW_EINVAL;
    return map_rc(mdb_drop(t->txn, dbi, 0));
}

int sto_cursor_open(struct sto_txn *t, unsigned db, struct sto_cursor **out)
{
    MDB_dbi dbi;
    *out = NULL;
    if (dbi_of(t, db, &dbi) != SGW_OK)
        return SGW_EINVAL;
    struct sto_cursor *c = calloc(1, sizeof *c);
    if (!c)
        return SGW_ENOMEM;
    int mrc = mdb_cursor_open(t->txn, dbi, &c->cur);
    if (mrc != MDB_SUCCESS) {
        free(c);
        return map_rc(mrc);
    }
    *out = c;
    return SGW_OK;
}

static int cursor_get(struct sto_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op,
                      struct sgw_slice *ko, struct sgw_slice *vo)
{
    int mrc = mdb_cursor_get(c->cur, k, v, op);
    if (mrc != MDB_SUCCESS)
        return map_rc(mrc);
    if (ko) {
        ko->ptr = k->mv_data;
        ko->len = k->mv_size;
    }
    if (vo) {
        vo->ptr = v->mv_data;
        vo->len = v->mv_size;
    }
    return SGW_OK;
}

int sto_cursor_seek(struct sto_cursor *c, const void *key, size_t klen, struct sgw_slice *k,
                    struct sgw_slice *v)
{
    MDB_val mk = {klen, (void *)(uintptr_t)key}, mv = {0, NULL};
    return cursor_get(c, &mk, &mv, klen ? MDB_SET_RANGE : MDB_FIRST, k, v);
}

int sto_cursor_next(struct sto_cursor *c, struct sgw_slice *k, struct sgw_slice *v)
{
    MDB_val mk = {0, NULL}, mv = {0, NULL};
    return cursor_get(c, &mk, &mv, MDB_NEXT, k, v);
}

void sto_cursor_close(struct sto_cursor *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}

size_t sto_max_key_size(struct sto_env *env)
{
    int n = mdb_env_get_maxkeysize(env->sh->env);
    return n > 0 ? (size_t)n : 0;
}
