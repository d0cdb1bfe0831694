/* SPDX-License-Identifier: BSD-3-Clause */
/* Between the registry's dispatch (store.c) and its SQL backend. */
#ifndef TPA_STORE_INT_H
#define TPA_STORE_INT_H

/* Whether where is a PostgreSQL URI (postgresql:// or postgres://). */
int store_sql__is_pg_url(const char *where);
/* Whether path is a private file holding a PostgreSQL URI: 1 and
 * *conninfo (to be freed, cleansed), 0 if it is not one, or an error. */
int store_sql__connfile(char **conninfo, const char *path);

/* A backend's failure for a transaction the database aborted whole (on
 * PostgreSQL: SQLSTATE 40001 serialization failure, 40P01 deadlock): the
 * operation may be run again as it was. Never seen beyond store.c, which
 * runs it again (STORE_RETRIES times) and then answers UNAVAILABLE. */
#define STORE_ERR_RETRY (-100)
#define STORE_RETRIES 4

#endif
