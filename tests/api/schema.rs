//! The two migration folders stay in step, and both backends produce the schema that
//! `src/db/schema.rs` declares.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use gatehouse::db::DbConn;

use crate::both_backends;
use crate::support::{Backend, TestApp};

both_backends!(migrated_database_matches_schema_rs);

#[test]
fn migration_folders_list_the_same_versions() {
    let list = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .inspect(|e| {
                for f in ["up.sql", "down.sql"] {
                    assert!(e.path().join(f).is_file(), "{} lacks {f}", e.path().display());
                }
            })
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    };
    let sqlite = list("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, list("postgresql"));
}

/// (column type, nullable) per column, per table.
type Shape = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// Reads `table!` blocks of schema.rs: table names, column names, types, nullability.
fn declared() -> Shape {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs")).unwrap();
    let mut shape = Shape::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.ends_with('{') && line.contains('(') && !line.starts_with("diesel::") {
            current = Some(line.split('(').next().unwrap().trim().to_string());
            shape.insert(current.clone().unwrap(), BTreeMap::new());
        } else if let (Some(table), Some((col, ty))) = (&current, line.split_once("->")) {
            let ty = ty.trim().trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            shape.get_mut(table).unwrap().insert(col.trim().to_string(), (ty.to_string(), nullable));
        } else if line == "}" {
            current = None;
        }
    }
    shape
}

fn type_family(db_type: &str) -> String {
    match db_type.to_ascii_lowercase().as_str() {
        "bigint" | "int8" => "BigInt",
        "integer" | "int4" => "Integer",
        "text" => "Text",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        "boolean" => "Bool",
        "date" => "Date",
        "bytea" | "blob" => "Binary",
        other => return format!("unknown({other})"),
    }
    .to_string()
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    type_: String,
    #[diesel(sql_type = BigInt)]
    notnull: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

fn actual(conn: &mut DbConn) -> Shape {
    let mut shape = Shape::new();
    match conn {
        DbConn::Postgresql(pg) => {
            let cols: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 data_type::text AS data_type, is_nullable::text AS is_nullable \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND table_name <> '__diesel_schema_migrations'",
            )
            .load(pg)
            .unwrap();
            for c in cols {
                shape
                    .entry(c.table_name)
                    .or_default()
                    .insert(c.column_name, (type_family(&c.data_type), c.is_nullable == "YES"));
            }
        }
        DbConn::Sqlite(lite) => {
            let cols: Vec<SqliteColumn> = diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS name, p.type AS type_, p.\"notnull\" AS \"notnull\", p.pk AS pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
            )
            .load(lite)
            .unwrap();
            for c in cols {
                // SQLite's INTEGER PRIMARY KEY is the 64-bit rowid.
                let family =
                    if c.pk == 1 && c.type_ == "INTEGER" { "BigInt".to_string() } else { type_family(&c.type_) };
                shape.entry(c.table_name).or_default().insert(c.name, (family, c.notnull == 0 && c.pk == 0));
            }
        }
    }
    shape
}

async fn migrated_database_matches_schema_rs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let state = app.state.clone();
    let found = actix_web::web::block(move || {
        let mut conn = state.db.get().unwrap();
        actual(&mut conn)
    })
    .await
    .unwrap();
    let declared = declared();
    assert!(declared.len() >= 6, "schema.rs parsed: {declared:?}");
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "tables differ between {backend:?} and schema.rs"
    );
    for (table, columns) in &declared {
        assert_eq!(&found[table], columns, "table {table} differs between {backend:?} and schema.rs");
    }
}
