//! The keys: the encryption key ring and the JWT signing secrets, read from the
//! environment or, for the embedded SQLite default only, from files under
//! `$GATEHOUSE_DATA_DIR/keys` (created on first start). Rotation: docs/deploy.md.

pub mod rotation;

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;

use crate::config::{ConfigError, DatabaseUrl};

fn bad(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// The encryption key ring as configured: `N:base64` entries separated by commas, the
/// first one encrypting new writes. A lone base64 key (no `N:`) is version 1, the form
/// every key had before the ring existed.
#[derive(Clone, PartialEq, Eq)]
pub struct RingSpec {
    pub entries: Vec<(u32, [u8; 32])>,
}

impl std::fmt::Debug for RingSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingSpec {{ versions: {:?} }}", self.entries.iter().map(|e| e.0).collect::<Vec<_>>())
    }
}

impl RingSpec {
    pub fn parse(name: &str, text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        if !text.contains(':') {
            return Ok(Self { entries: vec![(1, key32(name, text)?)] });
        }
        let mut entries: Vec<(u32, [u8; 32])> = Vec::new();
        for entry in text.split(',').map(str::trim) {
            let (version, key) = entry
                .split_once(':')
                .ok_or_else(|| bad(format!("{name}: every entry of a key ring is VERSION:BASE64")))?;
            let version: u32 = version
                .parse()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| bad(format!("{name}: key versions are whole numbers from 1")))?;
            if entries.iter().any(|(v, _)| *v == version) {
                return Err(bad(format!("{name}: key version {version} appears twice")));
            }
            entries.push((version, key32(name, key)?));
        }
        Ok(Self { entries })
    }

    /// The configuration value of this ring (what `parse` reads back).
    pub fn render(&self) -> String {
        self.entries.iter().map(|(v, k)| format!("{v}:{}", STANDARD.encode(k))).collect::<Vec<_>>().join(",")
    }

    /// The version new writes use.
    pub fn current(&self) -> u32 {
        self.entries[0].0
    }

    /// A fresh random key with the next version, appended as a read-only key (step 1 of
    /// a rotation across instances).
    pub fn with_new_key(&self) -> (u32, Self) {
        let version = self.entries.iter().map(|e| e.0).max().unwrap_or(0) + 1;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut entries = self.entries.clone();
        entries.push((version, key));
        (version, Self { entries })
    }

    /// The same keys with `version` first: it encrypts new writes (step 2).
    pub fn promote(&self, version: u32) -> Option<Self> {
        let pos = self.entries.iter().position(|e| e.0 == version)?;
        let mut entries = self.entries.clone();
        let entry = entries.remove(pos);
        entries.insert(0, entry);
        Some(Self { entries })
    }

    /// The ring without `version`; `None` if it is the current key or absent.
    pub fn without(&self, version: u32) -> Option<Self> {
        if self.current() == version || !self.entries.iter().any(|e| e.0 == version) {
            return None;
        }
        Some(Self { entries: self.entries.iter().filter(|e| e.0 != version).cloned().collect() })
    }

    pub fn cipher(&self) -> crate::crypto::FieldCipher {
        crate::crypto::FieldCipher::ring(&self.entries)
    }
}

fn key32(name: &str, b64: &str) -> Result<[u8; 32], ConfigError> {
    decode_key(name, b64, 32)?.try_into().map_err(|_| bad(format!("{name}: a key must be exactly 32 bytes (base64)")))
}

/// The JWT secret of before a rotation, accepted (never used to sign) until `until`.
#[derive(Clone)]
pub struct PreviousSecret {
    pub secret: Vec<u8>,
    pub until: DateTime<Utc>,
}

/// Where a key came from: the environment, or a file this process may rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
}

#[derive(Clone)]
pub struct Keys {
    pub jwt_secret: Vec<u8>,
    pub jwt_previous: Option<PreviousSecret>,
    pub jwt_source: KeySource,
    pub encryption: RingSpec,
    pub encryption_source: KeySource,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

const JWT_FILE: &str = "jwt.key";
const JWT_PREVIOUS_FILE: &str = "jwt.previous.key";
const ENCRYPTION_FILE: &str = "encryption.key";

impl Keys {
    /// `GATEHOUSE_JWT_SECRET`, `GATEHOUSE_JWT_PREVIOUS_SECRET` (+ `_UNTIL`) and
    /// `GATEHOUSE_ENCRYPTION_KEY`. On PostgreSQL both keys must be set explicitly: every
    /// instance must share them, and a key generated by one instance would silently
    /// split the fleet (tokens refused, fields unreadable). On SQLite (one instance)
    /// missing keys are generated once into `keys_dir`.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        keys_dir: &Path,
        database: &DatabaseUrl,
    ) -> Result<Self, ConfigError> {
        let postgres = matches!(database, DatabaseUrl::Postgres(_));
        let required = |name: &str| {
            bad(format!(
                "{name}: required with PostgreSQL (every instance must share it; generated keys are only for the \
                 embedded SQLite default)"
            ))
        };
        let (jwt_secret, jwt_source) = match get("GATEHOUSE_JWT_SECRET") {
            Some(v) => (decode_key("GATEHOUSE_JWT_SECRET", &v, 32)?, KeySource::Environment),
            None if postgres => return Err(required("GATEHOUSE_JWT_SECRET")),
            None => {
                let path = keys_dir.join(JWT_FILE);
                (load_or_create_key(&path, 64)?, KeySource::File(path))
            }
        };
        let jwt_previous = match (get("GATEHOUSE_JWT_PREVIOUS_SECRET"), get("GATEHOUSE_JWT_PREVIOUS_UNTIL")) {
            (Some(secret), Some(until)) => Some(PreviousSecret {
                secret: decode_key("GATEHOUSE_JWT_PREVIOUS_SECRET", &secret, 32)?,
                until: DateTime::parse_from_rfc3339(until.trim())
                    .map_err(|_| bad("GATEHOUSE_JWT_PREVIOUS_UNTIL: an RFC 3339 time like 2026-12-01T12:00:00Z"))?
                    .with_timezone(&Utc),
            }),
            (Some(_), None) => {
                return Err(bad("GATEHOUSE_JWT_PREVIOUS_UNTIL: required with GATEHOUSE_JWT_PREVIOUS_SECRET"))
            }
            (None, Some(_)) => {
                return Err(bad("GATEHOUSE_JWT_PREVIOUS_SECRET: required with GATEHOUSE_JWT_PREVIOUS_UNTIL"))
            }
            (None, None) if jwt_source != KeySource::Environment => {
                read_previous_file(&keys_dir.join(JWT_PREVIOUS_FILE))?
            }
            (None, None) => None,
        };
        let (encryption, encryption_source) = match get("GATEHOUSE_ENCRYPTION_KEY") {
            Some(v) => (RingSpec::parse("GATEHOUSE_ENCRYPTION_KEY", &v)?, KeySource::Environment),
            None if postgres => return Err(required("GATEHOUSE_ENCRYPTION_KEY")),
            None => {
                let path = keys_dir.join(ENCRYPTION_FILE);
                let name = path.display().to_string();
                if !path.exists() {
                    load_or_create_key(&path, 32)?;
                }
                let text = fs::read_to_string(&path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
                (RingSpec::parse(&name, &text)?, KeySource::File(path))
            }
        };
        Ok(Self { jwt_secret, jwt_previous, jwt_source, encryption, encryption_source })
    }
}

/// `jwt.previous.key`: `<RFC 3339 until> <base64 secret>`, written by `keys rotate-jwt`.
fn read_previous_file(path: &Path) -> Result<Option<PreviousSecret>, ConfigError> {
    let Ok(text) = fs::read_to_string(path) else { return Ok(None) };
    let name = path.display().to_string();
    let (until, secret) =
        text.trim().split_once(' ').ok_or_else(|| bad(format!("{name}: expected '<RFC 3339 time> <base64>'")))?;
    let until = DateTime::parse_from_rfc3339(until)
        .map_err(|_| bad(format!("{name}: the first word is not an RFC 3339 time")))?
        .with_timezone(&Utc);
    Ok(Some(PreviousSecret { secret: decode_key(&name, secret, 32)?, until }))
}

pub fn decode_key(name: &str, value: &str, min_len: usize) -> Result<Vec<u8>, ConfigError> {
    let bytes = STANDARD.decode(value.trim()).map_err(|_| bad(format!("{name}: not valid base64")))?;
    if bytes.len() < min_len {
        return Err(bad(format!("{name}: needs at least {min_len} bytes")));
    }
    Ok(bytes)
}

/// Reads a key file, or creates it with fresh random bytes and mode 0600 so the key
/// survives restarts (tokens stay valid, encrypted fields stay readable).
pub fn load_or_create_key(path: &Path, len: usize) -> Result<Vec<u8>, ConfigError> {
    let name = path.display().to_string();
    if path.exists() {
        let text = fs::read_to_string(path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
        return decode_key(&name, &text, len);
    }
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    write_key_file(path, &STANDARD.encode(&bytes), true).map_err(|e| bad(format!("{name}: cannot create: {e}")))?;
    Ok(bytes)
}

/// Writes a key file with mode 0600: a new one (`create_new`) or a replacement, written
/// beside and renamed so a crash never leaves a half-written key.
pub fn write_key_file(path: &Path, text: &str, create_new: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let target = if create_new { path.to_path_buf() } else { path.with_extension("new") };
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let mut file = options.open(&target)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if !create_new {
        fs::rename(&target, path)?;
    }
    Ok(())
}

/// A new random JWT secret, base64.
pub fn new_jwt_secret() -> String {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// Rotates a file-kept JWT secret: the current one becomes `jwt.previous.key`, accepted
/// until `until`, and a new one signs from the next start on.
pub fn rotate_jwt_files(keys_dir: &Path, current: &[u8], until: DateTime<Utc>) -> std::io::Result<()> {
    let previous = format!("{} {}", until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), STANDARD.encode(current));
    write_key_file(&keys_dir.join(JWT_PREVIOUS_FILE), &previous, false)?;
    write_key_file(&keys_dir.join(JWT_FILE), &new_jwt_secret(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn keys_are_created_once_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/k.key");
        let first = load_or_create_key(&path, 32).unwrap();
        let second = load_or_create_key(&path, 32).unwrap();
        assert_eq!(first, second);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn ring_specs_parse_render_rotate_and_retire() {
        let plain = STANDARD.encode([5u8; 32]);
        let one = RingSpec::parse("K", &plain).unwrap();
        assert_eq!(one.entries, vec![(1, [5u8; 32])]);
        let (v, two) = one.with_new_key();
        assert_eq!(v, 2);
        assert_eq!(two.current(), 1, "a new key is read-only until promoted");
        let promoted = two.promote(2).unwrap();
        assert_eq!(promoted.current(), 2);
        assert_eq!(RingSpec::parse("K", &promoted.render()).unwrap(), promoted);
        assert!(promoted.without(2).is_none(), "the current key is never retired");
        let retired = promoted.without(1).unwrap();
        assert_eq!(retired.entries.len(), 1);
        assert_eq!(retired.current(), 2);
        for bad in [
            "".to_string(),
            "0:".to_string() + &plain,
            format!("1:{plain},1:{plain}"),
            format!("x:{plain}"),
            format!("1:{}", STANDARD.encode([1u8; 16])),
            "not base64!".to_string(),
        ] {
            assert!(RingSpec::parse("K", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_refuses_to_run_on_generated_keys() {
        let dir = tempfile::tempdir().unwrap();
        let pg = DatabaseUrl::Postgres("postgres://u@h/db".into());
        let jwt = ("GATEHOUSE_JWT_SECRET", STANDARD.encode([1u8; 32]));
        let enc = ("GATEHOUSE_ENCRYPTION_KEY", STANDARD.encode([2u8; 32]));
        let err = Keys::from_lookup(&lookup(std::slice::from_ref(&enc)), dir.path(), &pg).unwrap_err();
        assert!(err.0.starts_with("GATEHOUSE_JWT_SECRET: required with PostgreSQL"), "{}", err.0);
        let err = Keys::from_lookup(&lookup(std::slice::from_ref(&jwt)), dir.path(), &pg).unwrap_err();
        assert!(err.0.starts_with("GATEHOUSE_ENCRYPTION_KEY: required with PostgreSQL"), "{}", err.0);
        assert!(!dir.path().join(JWT_FILE).exists() && !dir.path().join(ENCRYPTION_FILE).exists());
        Keys::from_lookup(&lookup(&[jwt, enc]), dir.path(), &pg).unwrap();
        // SQLite generates them once and reads them back.
        let lite = DatabaseUrl::Sqlite(dir.path().join("db"));
        let a = Keys::from_lookup(&lookup(&[]), dir.path(), &lite).unwrap();
        let b = Keys::from_lookup(&lookup(&[]), dir.path(), &lite).unwrap();
        assert_eq!(a.jwt_secret, b.jwt_secret);
        assert_eq!(a.encryption, b.encryption);
        assert_eq!(a.encryption_source, KeySource::File(dir.path().join(ENCRYPTION_FILE)));
    }

    #[test]
    fn previous_jwt_secret_needs_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let lite = DatabaseUrl::Sqlite(dir.path().join("db"));
        let prev = ("GATEHOUSE_JWT_PREVIOUS_SECRET", STANDARD.encode([3u8; 32]));
        let err = Keys::from_lookup(&lookup(std::slice::from_ref(&prev)), dir.path(), &lite).unwrap_err();
        assert!(err.0.starts_with("GATEHOUSE_JWT_PREVIOUS_UNTIL"), "{}", err.0);
        let until = ("GATEHOUSE_JWT_PREVIOUS_UNTIL", "2026-12-01T00:00:00Z".to_string());
        let keys = Keys::from_lookup(&lookup(&[prev, until]), dir.path(), &lite).unwrap();
        assert_eq!(keys.jwt_previous.unwrap().until.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        // File-kept secrets rotate into jwt.previous.key.
        let keys = Keys::from_lookup(&lookup(&[]), dir.path(), &lite).unwrap();
        let until = "2026-12-02T00:00:00Z".parse().unwrap();
        rotate_jwt_files(dir.path(), &keys.jwt_secret, until).unwrap();
        let after = Keys::from_lookup(&lookup(&[]), dir.path(), &lite).unwrap();
        assert_ne!(after.jwt_secret, keys.jwt_secret);
        let previous = after.jwt_previous.unwrap();
        assert_eq!(previous.secret, keys.jwt_secret);
        assert_eq!(previous.until, until);
    }
}
