//! Runtime business settings (SPEC §12 `GET`/`PUT /admin/settings`), documented per
//! setting in docs/settings.md.

pub mod registry;
pub mod routes;
pub mod service;

pub use registry::{SettingDef, Settings};
pub use service::current;
