//! Uploaded files: content sniffing, hashing, encrypted storage, authorized download.

pub mod backup;
pub mod model;
pub mod multipart;
pub mod routes;
pub mod service;
