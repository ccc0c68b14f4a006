//! Persistence: one connection type over SQLite and PostgreSQL, a pool, migrations.

pub mod schema;
mod text_enum;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;
use crate::error::{AppError, AppResult};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// Key of the PostgreSQL advisory lock held while migrations run, so several instances
/// starting at once migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x6761_7465_686f_7573; // "gatehous"

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgresql(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Connects to exactly the backend the URL names (never guessing from the string, as
/// `MultiConnection::establish` would) and sets SQLite's pragmas on every connection.
#[derive(Clone, Debug)]
pub struct Manager {
    url: DatabaseUrl,
    sqlite_busy_timeout_ms: u32,
}

/// What `/metrics` reports of the pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle_connections: u32,
    pub waiting: i64,
}

/// A pooled connection and whether it failed in a way that means it is gone (the
/// server closed it): such a connection is dropped when it returns to the pool instead
/// of failing every later request that draws it (there is no ping on checkout).
pub struct Pooled {
    conn: DbConn,
    lost: bool,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        self.establish().map(|conn| Pooled { conn, lost: false })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.lost || conn.conn.is_broken()
    }
}

impl Manager {
    fn establish(&self) -> Result<DbConn, diesel::r2d2::Error> {
        use diesel::r2d2::Error;
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                PgConnection::establish(url).map(DbConn::Postgresql).map_err(Error::ConnectionError)
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy()).map_err(Error::ConnectionError)?;
                // WAL lets readers work beside the writer; busy_timeout waits instead of
                // failing when another connection holds the write lock.
                conn.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    self.sqlite_busy_timeout_ms
                ))
                .map_err(Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// Marks the connection lost when `result` says the database went away, so the pool
/// replaces it.
fn note_loss<T>(conn: &mut PooledConn, result: AppResult<T>) -> AppResult<T> {
    if matches!(result, Err(AppError::Unavailable(_))) {
        conn.0.lost = true;
    }
    result
}

/// Runs `f` on `conn` outside a transaction, marking the connection lost when the
/// database went away.
fn read_on<T>(mut conn: PooledConn, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
    let result = f(&mut conn);
    note_loss(&mut conn, result)
}

/// A connection checked out of the pool; derefs to [`DbConn`].
pub struct PooledConn(PooledConnection<Manager>);

impl std::ops::Deref for PooledConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.0.conn
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0.conn
    }
}

/// The database handle shared by handlers, jobs and the CLI.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite allows one writer; serialising our write transactions in-process avoids
    /// SQLITE_BUSY on lock upgrades. PostgreSQL needs no such lock.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// One permit per pooled connection: [`Db::run`] (and so [`Db::read`], [`Db::tx`]
    /// and, on an HTTP worker, [`crate::blocking`]) waits for a permit, first come first
    /// served, before taking a thread from the blocking pool, so under load reads and
    /// writes queue in order without parking a thread each in the pool's checkout.
    admission: Arc<tokio::sync::Semaphore>,
    /// Requests waiting for an admission permit now (the `/metrics` pool gauge).
    waiting: Arc<std::sync::atomic::AtomicI64>,
}

thread_local! {
    /// See [`Db::admit_on_this_thread`].
    static THREAD_DB: RefCell<Option<Db>> = const { RefCell::new(None) };
}

impl Db {
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> anyhow::Result<Self> {
        Self::connect_with(url, pool_size, 10_000)
    }

    /// [`Db::connect`] with SQLite's busy timeout (how long a write waits for another
    /// process's lock).
    pub fn connect_with(url: &DatabaseUrl, pool_size: u32, sqlite_busy_timeout_ms: u32) -> anyhow::Result<Self> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
        }
        let backend = match url {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            // No ping before every checkout (r2d2's default): it doubled the round trips
            // of a one-query request. A connection that failed is dropped on return
            // instead (`has_broken`), and the next checkout gets a fresh one.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { url: url.clone(), sqlite_busy_timeout_ms })?;
        Ok(Self {
            pool,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            admission: Arc::new(tokio::sync::Semaphore::new(pool_size as usize)),
            waiting: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self) -> AppResult<PooledConn> {
        Ok(PooledConn(self.pool.get()?))
    }

    /// Runs `f` on a connection, outside a transaction (reads).
    pub fn read_sync<T>(&self, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
        read_on(self.get()?, f)
    }

    /// Runs `f` in one database transaction: every state change is all or nothing.
    pub fn tx_sync<T>(&self, f: impl FnOnce(&mut DbConn) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self.get()?;
        let _guard = self.sqlite_writer.as_ref().map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let result = (*conn).transaction(f);
        note_loss(&mut conn, result)
    }

    /// [`Db::read_sync`] on the blocking thread pool, admitted by [`Db::run`].
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let db = self.clone();
        self.run(move || db.read_sync(f)).await
    }

    /// [`Db::read`] for a short point read (one indexed lookup, such as the session-checked
    /// account of `GET /me`). On SQLite it runs on the calling thread when a permit and an
    /// idle connection are at hand at once, which saves the two thread hops to the
    /// blocking pool and back; otherwise (the pool busy) it is admitted and run like any
    /// read. SQLite's read is a call into the process on a file in the page cache; a
    /// PostgreSQL read is a network round trip with no client-side bound (a database that
    /// stops answering would hold the HTTP worker, and every request on it, `/healthz`
    /// included), so on PostgreSQL it is always [`Db::read`]. For lookups only, never for
    /// lists or reports.
    pub async fn read_now<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        if self.backend != Backend::Sqlite {
            return self.read(f).await;
        }
        if let Ok(_permit) = self.admission.try_acquire() {
            if let Some(conn) = self.pool.try_get() {
                return read_on(PooledConn(conn), f);
            }
        }
        self.read(f).await
    }

    /// Runs `f` (blocking work that uses this database: reads, transactions, and the
    /// password hashing around them) on the blocking thread pool once admitted: one
    /// permit per pooled connection, granted in arrival order.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
        let _permit = self.admit().await?;
        actix_web::web::block(f).await?
    }

    /// Makes [`crate::blocking`] on this thread admit through this database's permits:
    /// the app factory calls it on each HTTP worker thread, so every handler's database
    /// work (about 140 `blocking` calls, mostly writes) queues in the same FIFO as
    /// [`Db::read`] without each call naming the pool.
    pub fn admit_on_this_thread(&self) {
        THREAD_DB.with(|db| *db.borrow_mut() = Some(self.clone()));
    }

    /// The database [`Db::admit_on_this_thread`] installed here, if any (background job
    /// threads have none).
    pub fn of_this_thread() -> Option<Db> {
        THREAD_DB.with(|db| db.borrow().clone())
    }

    async fn admit(&self) -> AppResult<tokio::sync::SemaphorePermit<'_>> {
        self.waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let permit = self.admission.acquire().await;
        self.waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        permit.map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// The pool's connections (total and idle) and the requests waiting for a permit.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle_connections: state.idle_connections,
            waiting: self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// [`Db::tx_sync`] on the blocking thread pool, admitted by [`Db::run`].
    pub async fn tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let db = self.clone();
        self.run(move || db.tx_sync(f)).await
    }

    /// Applies pending migrations; on PostgreSQL under an advisory lock.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.get()?;
        let applied = match &mut *conn {
            DbConn::Postgresql(pg) => {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(pg)?;
                let result = pg.run_pending_migrations(POSTGRES_MIGRATIONS).map(names);
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(pg)?;
                result
            }
            DbConn::Sqlite(lite) => lite.run_pending_migrations(SQLITE_MIGRATIONS).map(names),
        };
        applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
    }

    /// True when the database is reachable and every embedded migration is applied.
    pub fn is_ready(&self) -> AppResult<bool> {
        let mut conn = self.get()?;
        let pending = match &mut *conn {
            DbConn::Postgresql(pg) => pg.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConn::Sqlite(lite) => lite.has_pending_migration(SQLITE_MIGRATIONS),
        };
        pending.map(|p| !p).map_err(|e| AppError::Unavailable(e.to_string()))
    }
}

fn names(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    versions.into_iter().map(|v| v.to_string()).collect()
}

pub mod among;
pub mod like;
pub mod page;

/// Ids per bulk lookup: few round trips, well under both backends' bind-parameter limits.
pub const LOOKUP_CHUNK: usize = 5_000;

/// `LIMIT` for list endpoints: a default and a hard maximum ([`page::MAX_LIMIT`]; a
/// request asking for more is refused by [`page::limit`] before it gets here).
pub fn page_limit(requested: Option<i64>) -> i64 {
    requested.unwrap_or(page::DEFAULT_LIMIT).clamp(1, page::MAX_LIMIT)
}

/// The keyset cursor of the next page: the last item's id when the page is full.
pub fn next_cursor<T>(items: &[T], limit: Option<i64>, id: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() as i64 == page_limit(limit)).then(|| items.last().map(id)).flatten()
}
