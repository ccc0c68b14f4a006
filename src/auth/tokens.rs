//! Short-lived JWT access tokens (HS256). Expiry is checked against the service clock.
//!
//! After a rotation of the signing secret the previous one still verifies (never signs)
//! until the end of its grace period, so the tokens it signed stay valid until they
//! expire instead of signing everyone out at once.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::roles::Role;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The session (`auth_sessions.id`) the token belongs to: every request checks it is
    /// still open. Tokens without one are refused.
    pub sid: i64,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The secret of before the last rotation and the Unix time its grace ends.
    previous: Option<(DecodingKey, i64)>,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), previous: None }
    }

    /// Also accepts tokens signed with `previous` while the clock is before `until`
    /// (Unix seconds).
    pub fn with_previous(mut self, previous: &[u8], until: i64) -> Self {
        self.previous = Some((DecodingKey::from_secret(previous), until));
        self
    }

    pub fn issue(
        &self,
        user_id: i64,
        session_id: i64,
        roles: &[Role],
        now: i64,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        let claims =
            Claims { sub: user_id.to_string(), sid: session_id, roles: roles.to_vec(), iat: now, exp: now + ttl_secs };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The claims of a well-signed, unexpired token; `None` otherwise.
    pub fn verify(&self, token: &str, now: i64) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is compared with the service clock below, not the system clock, so
        // that tests can move time.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_string(), "sub".to_string()].into();
        let claims = match decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => data.claims,
            Err(_) => match &self.previous {
                Some((previous, until)) if now < *until => decode::<Claims>(token, previous, &validation).ok()?.claims,
                _ => return None,
            },
        };
        (claims.exp > now).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_expire_and_reject_foreign_keys() {
        let keys = JwtKeys::new(&[3u8; 64]);
        let t = keys.issue(7, 3, &[Role::Finance], 1000, 900).unwrap();
        let c = keys.verify(&t, 1500).unwrap();
        assert_eq!(c.sub, "7");
        assert_eq!(c.sid, 3);
        assert_eq!(c.roles, vec![Role::Finance]);
        assert!(keys.verify(&t, 1900).is_none());
        assert!(JwtKeys::new(&[4u8; 64]).verify(&t, 1500).is_none());
        assert!(keys.verify("not.a.token", 1500).is_none());
    }

    #[test]
    fn previous_secret_verifies_until_its_grace_ends_and_never_signs() {
        let old = JwtKeys::new(&[3u8; 64]);
        let before = old.issue(7, 1, &[Role::Admin], 1000, 900).unwrap();
        let rotated = JwtKeys::new(&[4u8; 64]).with_previous(&[3u8; 64], 1600);
        assert_eq!(rotated.verify(&before, 1500).unwrap().sub, "7");
        // Past the grace, or past the token's own expiry, it is refused.
        assert!(rotated.verify(&before, 1600).is_none());
        assert!(JwtKeys::new(&[4u8; 64]).with_previous(&[3u8; 64], 5000).verify(&before, 1900).is_none());
        // New tokens are signed with the new secret only.
        let after = rotated.issue(8, 2, &[], 1500, 900).unwrap();
        assert!(old.verify(&after, 1501).is_none());
        assert_eq!(JwtKeys::new(&[4u8; 64]).verify(&after, 1501).unwrap().sub, "8");
        // Without the previous secret, old tokens are refused at once.
        assert!(JwtKeys::new(&[4u8; 64]).verify(&before, 1500).is_none());
    }
}
