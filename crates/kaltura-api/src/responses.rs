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
///
/// Only `ks` is required: Kaltura drops null fields from its replies, and the
/// app needs nothing but the new session, so a reply without `userId` or
/// `partnerId` still switches accounts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KalturaSessionResponse {
    #[serde(default = "session_response")]
    pub object_type: String,
    pub ks: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<i64>,
}

impl KalturaSessionResponse {
    /// A full reply, as kmc-server writes it.
    pub fn new(ks: String, user_id: String, partner_id: i64) -> Self {
        Self {
            object_type: session_response(),
            ks,
            user_id: Some(user_id),
            partner_id: Some(partner_id),
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

    /// Reads `text` as `T`, as the app and the server both read it.
    fn read<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
        serde_json::from_str(text).ok()
    }

    /// What the server writes, the app reads back unchanged.
    fn round_trips<T: Serialize + serde::de::DeserializeOwned + PartialEq>(value: T) {
        let text = serde_json::to_string(&value).unwrap();
        let read = read::<T>(&text);
        assert!(read.as_ref() == Some(&value), "{text}");
    }

    #[test]
    fn every_reply_the_server_writes_reads_back_unchanged() {
        round_trips(KalturaAuthentication::new(None));
        round_trips(KalturaAuthentication::for_login(
            "a@b.c".into(),
            Some("otpauth://totp/x".into()),
        ));
        round_trips(KalturaAdminUser::new("a@b.c".into()));
        round_trips(KalturaSessionResponse::new(
            "djJ8".into(),
            "a@b.c".into(),
            101,
        ));
        round_trips(KalturaPartner::new(-1, "Acme \"Ltd\" é".into()));
        round_trips(KalturaPartnerListResponse::new(vec![
            KalturaPartner::new(101, "A".into()),
            KalturaPartner::new(102, String::new()),
        ]));
        round_trips(KalturaUser {
            object_type: user(),
            id: "a@b.c".into(),
            partner_id: 101,
            email: Some("a@b.c".into()),
            first_name: Some("Ada".into()),
            last_name: None,
            full_name: Some("Ada L".into()),
            is_admin: true,
        });
    }

    #[test]
    fn real_kaltura_replies_with_extra_fields_read_with_their_defaults() {
        let u = read::<KalturaUser>(
            r#"{"id":"ada","partnerId":101,"screenName":"x","createdAt":1700000000,"status":1,"isAdmin":false,"roleIds":"1","objectType":"KalturaUser"}"#,
        )
        .unwrap();
        assert_eq!((u.id.as_str(), u.partner_id, u.email), ("ada", 101, None));
        let list = read::<KalturaPartnerListResponse>(
            r#"{"objects":[{"id":1,"name":"A","website":"w","status":1.5}],"totalCount":1,"objectType":"KalturaPartnerListResponse"}"#,
        )
        .unwrap();
        assert_eq!(list.objects, vec![KalturaPartner::new(1, "A".into())]);
        let p = read::<KalturaPartner>(r#"{"id":7}"#).unwrap();
        assert_eq!(p.object_type, "KalturaPartner");
        assert_eq!(p.name, "");
    }

    #[test]
    fn wrong_types_and_missing_required_fields_are_refused() {
        for text in [
            r#"{"id":"7","name":"A"}"#,
            r#"{"name":"A"}"#,
            r#"{"id":7.5}"#,
            r#"{"id":7,"name":5}"#,
            r#"[{"id":7}]"#,
            r#""a string""#,
        ] {
            assert_eq!(read::<KalturaPartner>(text), None, "{text}");
        }
        assert!(read::<KalturaSessionResponse>(r#"{"userId":"u","partnerId":1}"#).is_none());
        assert!(read::<KalturaSessionResponse>(r#"{"ks":"k","partnerId":"1"}"#).is_none());
        assert_eq!(
            read::<KalturaUser>(r#"{"id":"u","partnerId":1,"isAdmin":"yes"}"#),
            None
        );
        assert!(read::<KalturaAuthentication>(r#"{"qrCode":5}"#).is_none());
    }

    #[test]
    fn a_session_response_needs_only_the_ks_as_kaltura_drops_null_fields() {
        let read = read::<KalturaSessionResponse>(
            r#"{"ks":"djJ8MTAyfH","objectType":"KalturaSessionResponse"}"#,
        )
        .unwrap();
        assert_eq!(read.ks, "djJ8MTAyfH");
        assert_eq!((read.user_id, read.partner_id), (None, None));
    }

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
