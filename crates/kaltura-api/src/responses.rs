//! The objects the actions return. Each carries its Kaltura `objectType`;
//! null fields are omitted on the wire, and unknown fields from a real
//! Kaltura server are ignored.

use serde::{Deserialize, Serialize};

fn authentication() -> String {
    "KalturaAuthentication".into()
}
fn admin_user() -> String {
    "KalturaAdminUser".into()
}
fn session_response() -> String {
    "KalturaSessionResponse".into()
}
fn partner() -> String {
    "KalturaPartner".into()
}
fn partner_list() -> String {
    "KalturaPartnerListResponse".into()
}
fn user() -> String {
    "KalturaUser".into()
}

/// `user.validateHashKey` and `user.setInitialPassword`. `qr_code` is set
/// when a password reset re-issued the login's TOTP secret: an `otpauth://`
/// URI from this project's server, base64 PNG bytes from Kaltura's.
///
/// `email` is this project's addition: the login the link belongs to, so the
/// set-password page can check "not your email" as the user types and fill
/// the email in on the sign-in card afterwards. Only the holder of the link
/// learns it, and it is the address the link was mailed to. Kaltura's server
/// leaves it out, and the app then does without.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaAuthentication {
    #[serde(default = "authentication")]
    pub object_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl KalturaAuthentication {
    pub fn new(qr_code: Option<String>) -> Self {
        Self {
            object_type: authentication(),
            qr_code,
            email: None,
        }
    }

    /// The same, naming the login's email.
    pub fn for_login(email: String, qr_code: Option<String>) -> Self {
        Self {
            email: Some(email),
            ..Self::new(qr_code)
        }
    }
}

/// `adminUser.updatePassword`. Kaltura echoes the new password here; this
/// project never does, and the app never reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaAdminUser {
    #[serde(default = "admin_user")]
    pub object_type: String,
    pub email: String,
}

impl KalturaAdminUser {
    pub fn new(email: String) -> Self {
        Self {
            object_type: admin_user(),
            email,
        }
    }
}

/// `user.loginByKs`: a session in another account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaSessionResponse {
    #[serde(default = "session_response")]
    pub object_type: String,
    pub ks: String,
    pub user_id: String,
    pub partner_id: i64,
}

impl KalturaSessionResponse {
    pub fn new(ks: String, user_id: String, partner_id: i64) -> Self {
        Self {
            object_type: session_response(),
            ks,
            user_id,
            partner_id,
        }
    }
}

/// An account (partner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaPartner {
    #[serde(default = "partner")]
    pub object_type: String,
    pub id: i64,
    #[serde(default)]
    pub name: String,
}

impl KalturaPartner {
    pub fn new(id: i64, name: String) -> Self {
        Self {
            object_type: partner(),
            id,
            name,
        }
    }
}

/// `partner.listPartnersForUser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaPartnerListResponse {
    #[serde(default = "partner_list")]
    pub object_type: String,
    #[serde(default)]
    pub objects: Vec<KalturaPartner>,
    #[serde(default)]
    pub total_count: i64,
}

impl KalturaPartnerListResponse {
    pub fn new(objects: Vec<KalturaPartner>) -> Self {
        let total_count = objects.len() as i64;
        Self {
            object_type: partner_list(),
            objects,
            total_count,
        }
    }
}

/// `user.get`: the session's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaUser {
    #[serde(default = "user")]
    pub object_type: String,
    pub id: String,
    pub partner_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
}

impl KalturaUser {
    /// The name to greet the user with: the full name, else first and last,
    /// else the id.
    pub fn display_name(&self) -> String {
        if let Some(full) = self
            .full_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return full.to_owned();
        }
        let joined = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if joined.is_empty() {
            self.id.clone()
        } else {
            joined
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_kaltura_partner_with_extra_fields_decodes() {
        let p: KalturaPartner = serde_json::from_str(
            r#"{"id":123,"name":"Acme","website":"x","status":1,"objectType":"KalturaPartner"}"#,
        )
        .unwrap();
        assert_eq!(p, KalturaPartner::new(123, "Acme".into()));
    }

    #[test]
    fn authentication_without_qr_code_omits_the_field() {
        let json = serde_json::to_string(&KalturaAuthentication::new(None)).unwrap();
        assert_eq!(json, r#"{"objectType":"KalturaAuthentication"}"#);
    }

    #[test]
    fn display_name_prefers_full_name_then_first_and_last_then_id() {
        let mut u: KalturaUser = serde_json::from_str(
            r#"{"id":"a@b.c","partnerId":1,"firstName":"Ada","lastName":"L"}"#,
        )
        .unwrap();
        assert_eq!(u.display_name(), "Ada L");
        u.full_name = Some("Ada Lovelace".into());
        assert_eq!(u.display_name(), "Ada Lovelace");
        u.full_name = None;
        u.first_name = None;
        u.last_name = None;
        assert_eq!(u.display_name(), "a@b.c");
    }
}
