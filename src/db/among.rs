//! Whose rows a bulk read selects: a handful of ids bound as parameters, or a whole
//! population held in a temporary table and joined by every query (one pass over it
//! instead of one query per [`super::LOOKUP_CHUNK`] ids and per table).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::DbConn;
use crate::error::{AppError, AppResult};

diesel::table! {
    /// The population of a [`with_population`] pass (a temporary table).
    population_ids (id) {
        id -> BigInt,
    }
}

// The tables whose rows a population pass selects (one pair each: the schema's tables
// already appear together).
use super::schema::{
    contributor_profiles, credentials, domain_standings, payout_methods, payout_releases, work_authorizations,
};
diesel::allow_tables_to_appear_in_same_query!(population_ids, contributor_profiles);
diesel::allow_tables_to_appear_in_same_query!(population_ids, credentials);
diesel::allow_tables_to_appear_in_same_query!(population_ids, domain_standings);
diesel::allow_tables_to_appear_in_same_query!(population_ids, payout_methods);
diesel::allow_tables_to_appear_in_same_query!(population_ids, payout_releases);
diesel::allow_tables_to_appear_in_same_query!(population_ids, work_authorizations);

/// The people a bulk read is about; [`among!`](crate::among) filters a query by them.
#[derive(Clone, Copy, Debug)]
pub enum Among<'a> {
    /// These ids, bound as parameters (at most [`super::LOOKUP_CHUNK`]).
    Ids(&'a [i64]),
    /// These ids, held in `population_ids` for the duration of a [`with_population`].
    Population(&'a [i64]),
}

impl<'a> Among<'a> {
    pub fn ids(self) -> &'a [i64] {
        match self {
            Self::Ids(ids) | Self::Population(ids) => ids,
        }
    }

    /// The parts to read one query each: the population at once, bound ids by `chunk`.
    pub fn parts(self, chunk: usize) -> Vec<Among<'a>> {
        match self {
            Self::Population(_) => vec![self],
            Self::Ids(ids) => ids.chunks(chunk).map(Self::Ids).collect(),
        }
    }
}

/// `$query` (boxed) filtered to the rows whose `$column` is one of the people in `$among`.
#[macro_export]
macro_rules! among {
    ($query:expr, $column:expr, $among:expr) => {{
        let query = $query.into_boxed();
        match $among {
            $crate::db::among::Among::Ids(ids) => query.filter($column.eq_any(ids)),
            $crate::db::among::Among::Population(_) => query.filter(
                $column.eq_any($crate::db::among::population_ids::table.select($crate::db::among::population_ids::id)),
            ),
        }
    }};
}

/// Runs `f` over `ids` as one population ([`Among::Population`]): the ids go into a
/// temporary table in one statement, each bulk read joins it once. In a transaction (a
/// savepoint inside the caller's): the table is dropped after `f`, and rolled back with
/// it when `f` fails, so a pooled connection never keeps it.
pub fn with_population<T>(
    conn: &mut DbConn,
    ids: &[i64],
    f: impl FnOnce(&mut DbConn, Among<'_>) -> AppResult<T>,
) -> AppResult<T> {
    conn.transaction(|conn| {
        // One statement per backend: an array parameter (PostgreSQL), a JSON one (SQLite).
        match conn {
            DbConn::Postgresql(pg) => {
                diesel::sql_query("CREATE TEMPORARY TABLE population_ids (id BIGINT PRIMARY KEY)").execute(pg)?;
                diesel::sql_query("INSERT INTO population_ids SELECT unnest($1)")
                    .bind::<Array<BigInt>, _>(ids)
                    .execute(pg)?;
                // A temporary table has no statistics until analyzed: the joins need them.
                diesel::sql_query("ANALYZE population_ids").execute(pg)?;
            }
            DbConn::Sqlite(lite) => {
                diesel::sql_query("CREATE TEMPORARY TABLE population_ids (id INTEGER PRIMARY KEY)").execute(lite)?;
                let json = serde_json::to_string(ids).map_err(|e| AppError::Internal(e.into()))?;
                diesel::sql_query("INSERT INTO population_ids SELECT value FROM json_each(?)")
                    .bind::<Text, _>(json)
                    .execute(lite)?;
            }
        }
        let out = f(conn, Among::Population(ids))?;
        diesel::sql_query("DROP TABLE population_ids").execute(conn)?;
        Ok(out)
    })
}
