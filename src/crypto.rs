//! Field encryption (AES-256-GCM), opaque token generation and hashing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Encrypts sensitive fields (TIN, bank account, document numbers, dates of birth) and
/// files at rest. Ciphertext layout: `v1:` + base64(nonce ‖ ciphertext+tag).
#[derive(Clone)]
pub struct FieldCipher {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("decryption failed: wrong key or corrupted data")]
pub struct DecryptError;

impl FieldCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(key.into()) }
    }

    pub fn encrypt_bytes(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| DecryptError)
    }

    pub fn encrypt_str(&self, plain: &str) -> String {
        format!("v1:{}", STANDARD.encode(self.encrypt_bytes(plain.as_bytes())))
    }

    pub fn decrypt_str(&self, stored: &str) -> Result<String, DecryptError> {
        let b64 = stored.strip_prefix("v1:").ok_or(DecryptError)?;
        let sealed = STANDARD.decode(b64).map_err(|_| DecryptError)?;
        String::from_utf8(self.decrypt_bytes(&sealed)?).map_err(|_| DecryptError)
    }
}

/// A random URL-safe token with 256 bits of entropy (email links, refresh tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as their SHA-256, so a database leak yields no usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let c = FieldCipher::new(&[7u8; 32]);
        let sealed = c.encrypt_str("123-45-6789");
        assert!(!sealed.contains("6789"));
        assert_eq!(c.decrypt_str(&sealed).unwrap(), "123-45-6789");
        // Same plaintext encrypts differently each time (random nonce).
        assert_ne!(sealed, c.encrypt_str("123-45-6789"));
        let mut raw = c.encrypt_bytes(b"abc");
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(c.decrypt_bytes(&raw).is_err());
        let other = FieldCipher::new(&[8u8; 32]);
        assert!(other.decrypt_str(&sealed).is_err());
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
    }
}
