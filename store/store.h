/* store/store.h — the LMDB environment behind sovgw: a small generic API over
 * named databases, MVCC read snapshots and single-writer transactions.
 * store/ is the only module that includes <lmdb.h>; every LMDB code is turned
 * into an sgw_rc here and never leaks further.
 *
 * Lifetimes: an environment is opened once per process per directory and
 * shared by every thread (opening the same directory twice in one process is
 * handled here: both handles share one LMDB environment, as LMDB requires).
 * A read transaction belongs to one thread at a time; reset it between uses
 * and renew it to take a fresh snapshot (no allocation on the hot path).
 * Values returned by sto_get / cursors are borrowed from the transaction's
 * snapshot and valid only until that transaction is reset, committed or
 * aborted. */
#ifndef SGW_STORE_H
#define SGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/sgw.h"

struct sto_env;
struct sto_txn;
struct sto_cursor;

#define STO_MAX_DBS 16
#define STO_DEFAULT_MAP_SIZE (1ull << 30) /* 1 GiB, sparse */

enum sto_env_flag {
    STO_ENV_RDONLY = 1u << 0, /* no write transaction can be started */
    STO_ENV_CREATE = 1u << 1, /* create the directory (one level) and the named
                                 databases when missing; needs !RDONLY */
};

struct sto_env_opts {
    unsigned flags;                /* enum sto_env_flag */
    uint64_t map_size;             /* 0 = STO_DEFAULT_MAP_SIZE */
    unsigned max_readers;          /* 0 = 512 */
    const char *const *db_names;   /* named databases, opened at open time and
                                      addressed by their index in this array */
    size_t n_dbs;                  /* 1..STO_MAX_DBS */
};

/* Opens (or creates) the environment in dir. Returns SGW_OK; SGW_ENOTFOUND
 * when dir, its data file or a named database is missing (read-only open);
 * SGW_EPROTO when dir holds something that is not an LMDB environment;
 * SGW_EINVAL when the same directory is already open read-only in this
 * process and a writable handle is asked for; SGW_EIO otherwise. A message
 * is written to err in every failure case. */
int sto_env_open(const char *dir, const struct sto_env_opts *opts, struct sto_env **out,
                 char *err, size_t errlen);
void sto_env_free(struct sto_env *env);

/* Clears reader slots left by dead processes; n gets how many were cleared. */
int sto_env_reader_check(struct sto_env *env, int *n);

/* Read transaction on the newest committed snapshot. */
int sto_txn_begin_read(struct sto_env *env, struct sto_txn **out);
/* The single write transaction (blocks while another writer is active,
 * in this process or another). SGW_EINVAL on a read-only environment. */
int sto_txn_begin_write(struct sto_env *env, struct sto_txn **out);
/* Read transactions only: release the snapshot, keep the handle ... */
void sto_txn_reset(struct sto_txn *t);
/* ... and take the newest snapshot again. */
int sto_txn_renew(struct sto_txn *t);
/* Id of the snapshot an active read transaction holds (of the transaction
 * being written, for a write one); 0 for a reset read transaction. Two reads
 * with the same id see identical data. */
uint64_t sto_txn_id(const struct sto_txn *t);
/* Id of the newest committed snapshot, read from the meta pages without
 * taking a reader slot (cheap enough to ask per request). A reader whose
 * cached results came from this id may keep using them: nothing has been
 * committed since. 0 when unknown. */
uint64_t sto_env_last_txnid(struct sto_env *env);
/* Commits a write transaction (a read one is simply ended). Always frees t;
 * on failure nothing of the transaction is visible. SGW_ELIMIT = map full. */
int sto_txn_commit(struct sto_txn *t);
/* Discards and frees t. NULL is accepted. */
void sto_txn_abort(struct sto_txn *t);

/* Exact lookup. SGW_OK with val borrowed from the snapshot, SGW_ENOTFOUND, or
 * another negative code on error. */
int sto_get(struct sto_txn *t, unsigned db, const void *key, size_t klen, struct sgw_slice *val);

enum sto_put_flag {
    STO_PUT_APPEND = 1u << 0, /* keys arrive in sorted order (bulk load) */
};
int sto_put(struct sto_txn *t, unsigned db, const void *key, size_t klen, const void *val,
            size_t vlen, unsigned flags);
int sto_del(struct sto_txn *t, unsigned db, const void *key, size_t klen);
/* Removes every entry of a named database (the database itself stays). */
int sto_drop(struct sto_txn *t, unsigned db);

/* Range scans, in key order (memcmp, shorter first). */
int sto_cursor_open(struct sto_txn *t, unsigned db, struct sto_cursor **out);
/* Positions at the first key >= key (klen 0: the first key). */
int sto_cursor_seek(struct sto_cursor *c, const void *key, size_t klen, struct sgw_slice *k,
                    struct sgw_slice *v);
int sto_cursor_next(struct sto_cursor *c, struct sgw_slice *k, struct sgw_slice *v);
void sto_cursor_close(struct sto_cursor *c);

/* Largest key the store accepts (LMDB's compile-time limit). */
size_t sto_max_key_size(struct sto_env *env);

#endif
