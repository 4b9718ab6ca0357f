/* Unit tests for store/store.c: open/create, put/get, cursor scans, read
 * transaction isolation (reset/renew), read-only handles, missing stores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

#include "../check.h"

static const char *const k_dbs[] = {"meta", "items"};

static void rm_store(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int open_env(const char *dir, unsigned flags, struct sto_env **env, char *err, size_t n)
{
    struct sto_env_opts o = {.flags = flags, .map_size = 16u << 20, .db_names = k_dbs, .n_dbs = 2};
    return sto_env_open(dir, &o, env, err, n);
}

static int put_str(struct sto_env *env, unsigned db, const char *k, const char *v)
{
    struct sto_txn *t = NULL;
    int rc = sto_txn_begin_write(env, &t);
    if (rc != SGW_OK)
        return rc;
    rc = sto_put(t, db, k, strlen(k), v, strlen(v), 0);
    if (rc != SGW_OK) {
        sto_txn_abort(t);
        return rc;
    }
    return sto_txn_commit(t);
}

static int get_is(struct sto_txn *t, unsigned db, const char *k, const char *want)
{
    struct sgw_slice v;
    int rc = sto_get(t, db, k, strlen(k), &v);
    if (!want)
        return rc == SGW_ENOTFOUND;
    return rc == SGW_OK && v.len == strlen(want) && memcmp(v.ptr, want, v.len) == 0;
}

static void test_missing(const char *base)
{
    char dir[512], err[256] = "";
    struct sto_env *env = (struct sto_env *)1;
    snprintf(dir, sizeof dir, "%s/absent", base);
    CHECK(open_env(dir, STO_ENV_RDONLY, &env, err, sizeof err) == SGW_ENOTFOUND);
    CHECK(env == NULL);
    CHECK(strstr(err, "absent") != NULL);
    /* writable without CREATE does not create the directory either */
    CHECK(open_env(dir, 0, &env, err, sizeof err) == SGW_ENOTFOUND);
    /* an empty directory is not a store */
    CHECK(mkdir(dir, 0700) == 0);
    err[0] = 0;
    CHECK(open_env(dir, STO_ENV_RDONLY, &env, err, sizeof err) == SGW_ENOTFOUND);
    CHECK(strstr(err, "data.mdb") != NULL);
    /* a file where the directory should be */
    char f[600];
    snprintf(f, sizeof f, "%s/file", dir);
    FILE *fp = fopen(f, "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);
    CHECK(open_env(f, STO_ENV_RDONLY, &env, err, sizeof err) == SGW_EPROTO);
    /* invalid options */
    CHECK(open_env(dir, STO_ENV_RDONLY | STO_ENV_CREATE, &env, err, sizeof err) == SGW_EINVAL);
    unlink(f);
    rmdir(dir);
}

static void test_basic_and_isolation(const char *base)
{
    char dir[512], err[256] = "";
    snprintf(dir, sizeof dir, "%s/s1", base);
    struct sto_env *w = NULL;
    CHECK(open_env(dir, STO_ENV_CREATE, &w, err, sizeof err) == SGW_OK);
    if (!w) {
        fprintf(stderr, "open: %s\n", err);
        failures++;
        return;
    }
    CHECK(put_str(w, 0, "version", "1") == SGW_OK);
    CHECK(put_str(w, 1, "b", "beta") == SGW_OK);
    CHECK(put_str(w, 1, "a", "alpha") == SGW_OK);

    /* a second, read-only handle on the same directory shares the environment */
    struct sto_env *r = NULL;
    CHECK(open_env(dir, STO_ENV_RDONLY, &r, err, sizeof err) == SGW_OK);
    if (!r) {
        sto_env_free(w);
        return;
    }
    struct sto_txn *t = NULL;
    CHECK(sto_txn_begin_write(r, &t) == SGW_EINVAL); /* read-only handle */
    CHECK(t == NULL);

    struct sto_txn *old = NULL, *fresh = NULL;
    CHECK(sto_txn_begin_read(r, &old) == SGW_OK);
    CHECK(get_is(old, 0, "version", "1"));
    /* snapshot ids: a reader holds the newest committed one */
    uint64_t id1 = sto_txn_id(old);
    CHECK(id1 != 0 && id1 == sto_env_last_txnid(r) && id1 == sto_env_last_txnid(w));
    CHECK(get_is(old, 1, "a", "alpha"));
    CHECK(get_is(old, 1, "zz", NULL));
    CHECK(get_is(old, 0, "a", NULL)); /* databases are separate */

    /* a commit after the reader started: the reader keeps its snapshot */
    CHECK(put_str(w, 0, "version", "2") == SGW_OK);
    CHECK(get_is(old, 0, "version", "1"));
    CHECK(sto_txn_id(old) == id1 && sto_env_last_txnid(r) == id1 + 1);
    CHECK(sto_txn_begin_read(r, &fresh) == SGW_OK);
    CHECK(get_is(fresh, 0, "version", "2"));
    CHECK(sto_txn_id(fresh) == id1 + 1);
    /* reset + renew moves the old reader to the newest snapshot */
    sto_txn_reset(old);
    CHECK(sto_txn_id(old) == 0); /* no snapshot while reset */
    struct sgw_slice v;
    CHECK(sto_get(old, 0, "version", 7, &v) == SGW_EINVAL); /* no snapshot while reset */
    CHECK(sto_txn_renew(old) == SGW_OK);
    CHECK(get_is(old, 0, "version", "2"));
    /* renew on an active txn also takes the newest snapshot */
    CHECK(put_str(w, 0, "version", "3") == SGW_OK);
    CHECK(sto_txn_renew(old) == SGW_OK);
    CHECK(get_is(old, 0, "version", "3"));
    CHECK(get_is(fresh, 0, "version", "2"));
    sto_txn_abort(fresh);

    /* cursor range scan in key order */
    struct sto_cursor *c = NULL;
    struct sgw_slice k;
    CHECK(sto_cursor_open(old, 1, &c) == SGW_OK);
    if (c) {
        CHECK(sto_cursor_seek(c, NULL, 0, &k, &v) == SGW_OK && k.len == 1 && k.ptr[0] == 'a');
        CHECK(sto_cursor_next(c, &k, &v) == SGW_OK && k.len == 1 && k.ptr[0] == 'b' &&
              v.len == 4 && memcmp(v.ptr, "beta", 4) == 0);
        CHECK(sto_cursor_next(c, &k, &v) == SGW_ENOTFOUND);
        CHECK(sto_cursor_seek(c, "aa", 2, &k, &v) == SGW_OK && k.ptr[0] == 'b');
        CHECK(sto_cursor_seek(c, "c", 1, &k, &v) == SGW_ENOTFOUND);
        sto_cursor_close(c);
    }
    sto_txn_abort(old);

    /* drop empties a database in one write transaction; abort leaves it whole */
    CHECK(sto_txn_begin_write(w, &t) == SGW_OK);
    if (t) {
        CHECK(sto_drop(t, 1) == SGW_OK);
        CHECK(get_is(t, 1, "a", NULL));
        sto_txn_abort(t);
    }
    CHECK(sto_txn_begin_read(w, &t) == SGW_OK);
    if (t) {
        CHECK(get_is(t, 1, "a", "alpha"));
        sto_txn_abort(t);
    }
    CHECK(sto_txn_begin_write(w, &t) == SGW_OK);
    if (t) {
        CHECK(sto_drop(t, 1) == SGW_OK);
        CHECK(sto_del(t, 0, "version", 7) == SGW_OK);
        CHECK(sto_del(t, 0, "version", 7) == SGW_ENOTFOUND);
        /* APPEND insists on sorted keys */
        CHECK(sto_put(t, 1, "m", 1, "1", 1, STO_PUT_APPEND) == SGW_OK);
        CHECK(sto_put(t, 1, "n", 1, "2", 1, STO_PUT_APPEND) == SGW_OK);
        CHECK(sto_put(t, 1, "b", 1, "3", 1, STO_PUT_APPEND) == SGW_EINVAL);
        CHECK(sto_put(t, 5, "b", 1, "3", 1, 0) == SGW_EINVAL); /* no such db */
        CHECK(sto_put(t, 1, "", 0, "3", 1, 0) == SGW_EINVAL);  /* empty key */
        CHECK(sto_txn_commit(t) == SGW_OK);
    }
    CHECK(sto_txn_begin_read(r, &t) == SGW_OK);
    if (t) {
        CHECK(get_is(t, 1, "a", NULL));
        CHECK(get_is(t, 1, "m", "1"));
        CHECK(get_is(t, 0, "version", NULL));
        sto_txn_abort(t);
    }
    int dead = -1;
    CHECK(sto_env_reader_check(r, &dead) == SGW_OK && dead == 0);
    /* keys up to the limit are accepted, one more byte is not */
    size_t mk = sto_max_key_size(w);
    CHECK(mk >= 255 && mk < 4096);
    char *big = calloc(1, mk + 1);
    if (big) {
        memset(big, 'k', mk + 1);
        CHECK(sto_txn_begin_write(w, &t) == SGW_OK);
        CHECK(sto_put(t, 1, big, mk, "v", 1, 0) == SGW_OK);
        CHECK(sto_put(t, 1, big, mk + 1, "v", 1, 0) == SGW_ELIMIT);
        sto_txn_abort(t);
        free(big);
    }
    sto_env_free(r);
    sto_env_free(w);

    /* reopen read-only after everything closed: data persisted */
    CHECK(open_env(dir, STO_ENV_RDONLY, &r, err, sizeof err) == SGW_OK);
    if (r) {
        CHECK(sto_txn_begin_read(r, &t) == SGW_OK);
        CHECK(get_is(t, 1, "n", "2"));
        sto_txn_abort(t);
        /* a writable handle while a read-only one is open in this process is refused */
        struct sto_env *w2 = NULL;
        CHECK(open_env(dir, 0, &w2, err, sizeof err) == SGW_EINVAL);
        CHECK(strstr(err, "read-only") != NULL);
        sto_env_free(r);
    }
    /* a store without the named databases asked for */
    static const char *const other[] = {"nothere"};
    struct sto_env_opts o = {.flags = STO_ENV_RDONLY, .db_names = other, .n_dbs = 1};
    CHECK(sto_env_open(dir, &o, &r, err, sizeof err) == SGW_ENOTFOUND);
    CHECK(strstr(err, "nothere") != NULL);
    rm_store(dir);
}

static void test_map_full(const char *base)
{
    char dir[512], err[256];
    snprintf(dir, sizeof dir, "%s/small", base);
    struct sto_env_opts o = {.flags = STO_ENV_CREATE, .map_size = 1u << 20, .db_names = k_dbs,
                             .n_dbs = 2};
    struct sto_env *w = NULL;
    CHECK(sto_env_open(dir, &o, &w, err, sizeof err) == SGW_OK);
    if (!w)
        return;
    struct sto_txn *t = NULL;
    CHECK(sto_txn_begin_write(w, &t) == SGW_OK);
    int rc = SGW_OK;
    char key[16], val[256];
    memset(val, 'x', sizeof val);
    for (unsigned i = 0; i < 100000 && rc == SGW_OK; i++) {
        snprintf(key, sizeof key, "%08u", i);
        rc = sto_put(t, 1, key, 8, val, sizeof val, 0);
    }
    CHECK(rc == SGW_ELIMIT);
    sto_txn_abort(t);
    sto_env_free(w);
    rm_store(dir);
}

int main(void)
{
    char base[] = "/tmp/sgw-test-store-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 2;
    }
    test_missing(base);
    test_basic_and_isolation(base);
    test_map_full(base);
    rmdir(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_store: ok");
    return 0;
}
