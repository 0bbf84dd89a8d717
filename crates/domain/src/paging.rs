//! Opaque, signed `next_token`s. A token carries the position to resume after and an
//! HMAC over it and over what it is bound to (the caller and the filters of the query
//! that issued it), so it is useless for another caller or other filters and cannot be
//! forged to point anywhere else. The reviews tool and the vendor API share this signer;
//! each names its own `purpose`, so a token of one is refused by the other.

use crate::error::PortError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct CursorSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner { .. }")
    }
}

impl CursorSigner {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        CursorSigner {
            secret: secret.into(),
        }
    }

    fn mac(&self, purpose: &str, binding: &str, payload_b64: &str) -> Result<HmacSha256, PortError> {
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .map_err(|e| PortError::rejected("next_token signer", e))?;
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(binding.as_bytes());
        mac.update(b"\n");
        mac.update(payload_b64.as_bytes());
        Ok(mac)
    }

    /// `{base64url(json(position))}.{base64url(hmac)}`.
    pub fn seal<T: Serialize>(
        &self,
        purpose: &str,
        binding: &str,
        position: &T,
    ) -> Result<String, PortError> {
        let payload =
            serde_json::to_vec(position).map_err(|e| PortError::rejected("next_token signer", e))?;
        let payload_b64 = URL_SAFE_NO_PAD.encode(payload);
        let tag = self.mac(purpose, binding, &payload_b64)?.finalize().into_bytes();
        Ok(format!("{payload_b64}.{}", URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The position of a token sealed for exactly this purpose and binding; `None` for
    /// anything else (another caller, other filters, a forged or mangled token).
    pub fn open<T: DeserializeOwned>(
        &self,
        purpose: &str,
        binding: &str,
        token: &str,
    ) -> Result<Option<T>, PortError> {
        let Some((payload_b64, tag_b64)) = token.trim().split_once('.') else {
            return Ok(None);
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag_b64) else {
            return Ok(None);
        };
        if self
            .mac(purpose, binding, payload_b64)?
            .verify_slice(&tag)
            .is_err()
        {
            return Ok(None);
        }
        Ok(URL_SAFE_NO_PAD
            .decode(payload_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", CursorSigner::new("s3cr3t-key"));
        assert_eq!(shown, "CursorSigner { .. }");
    }

    #[test]
    fn a_token_opens_only_for_its_purpose_binding_and_key() {
        let s = CursorSigner::new("k");
        let t = s.seal("p", "vendor=A", &(7_i64, "x")).unwrap_or_default();
        let open =
            |s: &CursorSigner, p: &str, b: &str, t: &str| s.open::<(i64, String)>(p, b, t).ok().flatten();
        assert_eq!(open(&s, "p", "vendor=A", &t), Some((7, "x".to_string())));
        assert_eq!(open(&s, "p", "vendor=B", &t), None);
        assert_eq!(open(&s, "q", "vendor=A", &t), None);
        assert_eq!(open(&CursorSigner::new("other"), "p", "vendor=A", &t), None);
        assert_eq!(open(&s, "p", "vendor=A", "garbage"), None);
        assert_eq!(open(&s, "p", "vendor=A", &t.replace('.', ".x")), None);
        // A payload swapped under a valid tag does not verify.
        let (_, tag) = t.split_once('.').unwrap_or_default();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(br#"[8,"x"]"#));
        assert_eq!(open(&s, "p", "vendor=A", &forged), None);
    }
}
