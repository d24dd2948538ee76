//! JSON API credentials: HS256 access tokens (JWT) and opaque refresh tokens, which are
//! stored only as an HMAC.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::AuthConfig;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The user's email.
    pub email: String,
    /// Whether the user was an admin when the token was issued (routes re-check).
    pub is_admin: bool,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// Bad signature, wrong algorithm (including `none`), malformed.
    #[error("invalid token")]
    Invalid,
}

/// Issues and checks tokens with the configured secrets.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    refresh_secret: Vec<u8>,
    /// Access token lifetime in seconds.
    pub access_ttl: i64,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

impl Tokens {
    /// Keys from the configuration.
    pub fn new(cfg: &AuthConfig) -> Self {
        let secret = cfg.jwt_secret.expose().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            refresh_secret: cfg.refresh_secret.expose().as_bytes().to_vec(),
            access_ttl: cfg.access_ttl.0 as i64,
            refresh_ttl: cfg.refresh_ttl.0 as i64,
        }
    }

    /// A signed access token for the user.
    pub fn access_token(&self, sub: Uuid, email: &str, is_admin: bool) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub,
            email: email.to_owned(),
            is_admin,
            iat: now,
            exp: now + self.access_ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail")
    }

    /// Verifies an access token: HS256 only (so `alg: none` and others are refused), with
    /// `exp` required and no leeway.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "sub", "iat"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    /// A new random refresh token (256 bits) and the HMAC to store for it.
    pub fn new_refresh(&self) -> (String, Vec<u8>) {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        let mac = self.refresh_hmac(&token);
        (token, mac)
    }

    /// The HMAC under which a refresh token is stored and looked up.
    pub fn refresh_hmac(&self, token: &str) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.refresh_secret).expect("HMAC takes any key length");
        m.update(token.as_bytes());
        m.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Seconds, Secret};

    fn tokens(ttl: u64) -> Tokens {
        Tokens::new(&AuthConfig {
            jwt_secret: Secret::new("a jwt secret that is long enough for tests"),
            refresh_secret: Secret::new("a refresh secret that is long enough too"),
            access_ttl: Seconds(ttl),
            refresh_ttl: Seconds(60),
            admin_email: None,
            admin_password: Secret::default(),
            login_max_failures: 10,
            login_window: Seconds(60),
            register_max_per_hour: 20,
        })
    }

    #[test]
    fn access_tokens_round_trip_and_refuse_tampering() {
        let t = tokens(60);
        let id = Uuid::new_v4();
        let tok = t.access_token(id, "a@example.com", true);
        let c = t.verify(&tok).unwrap();
        assert_eq!((c.sub, c.email.as_str(), c.is_admin), (id, "a@example.com", true));
        assert_eq!(c.exp - c.iat, 60);
        let mut bad = tok.clone();
        bad.pop();
        assert_eq!(t.verify(&bad), Err(TokenError::Invalid));
        assert_eq!(tokens(60).verify("not.a.jwt"), Err(TokenError::Invalid));
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let t = tokens(60);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 60;
        let body = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"{}","email":"x@example.com","is_admin":true,"iat":0,"exp":{exp}}}"#,
                Uuid::new_v4()
            )
            .as_bytes(),
        );
        assert_eq!(t.verify(&format!("{header}.{body}.")), Err(TokenError::Invalid));
    }

    #[test]
    fn refresh_tokens_are_random_and_keyed() {
        let t = tokens(60);
        let (a, mac_a) = t.new_refresh();
        let (b, _) = t.new_refresh();
        assert_ne!(a, b);
        assert_eq!(t.refresh_hmac(&a), mac_a);
        assert_ne!(tokens(60).refresh_hmac(&a), t.refresh_hmac(&b));
    }
}
